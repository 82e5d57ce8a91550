"""Summaries, Markdown, HTML and diffs rendered from a report.json fixture (no TensorFlow)."""

from __future__ import annotations

import copy
import json
import re
from html import escape
from pathlib import Path
from typing import Any

import pytest

from tests.support import MINIMAL_SPEC, write_spec
from tflmake.emit.report_html import render_page
from tflmake.emit.report_md import render_model, render_project
from tflmake.report.diff import diff_reports
from tflmake.report.gates import check_gates
from tflmake.report.summary import operator_list, summarise

REPORT = json.loads((Path(__file__).parents[2] / "data" / "report_toy.json").read_text())


def test_plain_language_line_compares_with_the_float_model() -> None:
    """The int8 line gives size ratio, accuracy change in points and agreement."""
    summary = summarise(REPORT)
    assert summary.sentences[1] == ("int8: 3.52× smaller, −0.30 pt accuracy, 99.40 % agreement, "
                                    "TFLite Micro matches LiteRT on 100.00 %")
    assert summary.sentences[0].startswith("float32: the float reference")


def test_markdown_table_marks_best_values_in_bold() -> None:
    """Smallest size and best accuracy are bold; every row has as many cells as the header."""
    text = render_model(summarise(REPORT))
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 3
    assert {row.count("|") for row in rows} == {rows[0].count("|")}
    float_row, int8_row = rows[1], rows[2]
    assert "**95.00 %**" in float_row and "**11.1 KiB**" in int8_row
    assert "**39.1 KiB**" not in float_row


def test_markdown_says_when_there_is_no_previous_report() -> None:
    assert "No previous report to compare with." in render_model(summarise(REPORT))


def test_diff_lists_moved_numbers_with_delta() -> None:
    """A size change and an accuracy change are listed (accuracy in percentage points); unchanged
    metrics are not."""
    current = copy.deepcopy(REPORT)
    current["variants"]["int8"]["size_bytes"] = 12000
    current["variants"]["int8"]["accuracy"] = 0.95
    lines = [c.describe() for c in diff_reports(REPORT, current)]
    assert lines == ["int8: size_bytes 11364 -> 12000 (+636, +5.6%)",
                     "int8: accuracy 94.70 % -> 95.00 % (+0.30 pt)"]


def test_diff_ignores_latency_noise_but_reports_large_moves() -> None:
    current = copy.deepcopy(REPORT)
    current["variants"]["float32"]["latency_ms_median"] = 0.26  # +4 %: noise
    current["variants"]["int8"]["latency_ms_median"] = 0.25  # 2x: news
    changed = [(c.variant, c.metric) for c in diff_reports(REPORT, current)]
    assert changed == [("int8", "latency_ms_median")]


def test_diff_reports_added_and_removed_variants() -> None:
    current = copy.deepcopy(REPORT)
    current["variants"]["f16"] = current["variants"].pop("int8")
    lines = [c.describe() for c in diff_reports(REPORT, current)]
    assert lines == ["f16: added", "int8: removed"]


def test_gate_failures_show_in_markdown_and_project_verdict() -> None:
    summary = summarise(REPORT, check_gates(REPORT, {"int8": {"min_agreement": 0.999}}))
    assert "- ✗ toy.int8: agreement 99.40 % vs min_agreement = 99.90 %" in render_model(summary)
    assert "[toy](#toy): 2 variants, **gates FAILED**" in render_project([summary])


def test_html_page_is_self_contained() -> None:
    """The plot is inlined as a data: URI; nothing is fetched from elsewhere."""
    page = render_page([summarise(REPORT)], {"toy": b"\x89PNG fake"})
    assert 'src="data:image/png;base64,iVBORyBmYWtl"' in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)
    assert '<section id="toy">' in page


def test_html_escapes_text_from_the_model() -> None:
    """Custom op names come from the .tflite file and may hold anything."""
    report = copy.deepcopy(REPORT)
    report["variants"]["int8"]["ops"] = ["<script>alert(1)</script>"]
    assert "<script>" not in render_page([summarise(report)], {})


def test_operator_list_counts_repeats_in_first_use_order() -> None:
    assert operator_list(["RESHAPE", "FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX"]) == \
        "RESHAPE, FULLY_CONNECTED ×2, SOFTMAX"


def test_report_names_how_a_model_file_was_loaded() -> None:
    """A loaded model's route (e.g. an upgraded Keras 2 config) is shown above its operators."""
    report = {**copy.deepcopy(REPORT), "loaded_by": "keras3_upgraded_config"}
    assert summarise(report).operators[0] == "Model file loaded by: keras3_upgraded_config"
    assert "- Model file loaded by: keras3_upgraded_config" in render_model(summarise(report))
    assert not any("loaded by" in line for line in summarise(REPORT).operators)


def chance_level_report() -> dict[str, Any]:
    """REPORT with int8 guessing between two classes: 50.8 %."""
    report = copy.deepcopy(REPORT)
    report["variants"]["int8"] |= {"accuracy": 0.508, "per_class_accuracy": [0.6, 0.416]}
    report["variants"]["float32"] |= {"per_class_accuracy": [0.95, 0.95]}
    return report


def test_a_variant_near_chance_is_warned_about_in_report_md_and_html() -> None:
    """50.8 % on 2 classes is within CHANCE_MARGIN of 50 %: both pages say so; 95 % is not warned about."""
    summary = summarise(chance_level_report())
    warning = ("int8: 50.80 % accuracy is within 5 points of chance (50.00 %, 2 classes): the model has "
               "learned next to nothing; check the labels, the data and [train]")
    assert summary.warnings == (warning,)
    assert f"**Warning:** {warning}" in render_model(summary).splitlines()
    assert escape(warning) in render_page([summary], {})


def test_no_chance_warning_for_good_classifiers_or_other_tasks() -> None:
    """A regression report never gets one, whatever its numbers."""
    assert summarise(REPORT).warnings == ()
    regression = chance_level_report() | {"task": "regression"}
    for entry in regression["variants"].values():
        entry |= {"mse": 0.1}
    assert summarise(regression).warnings == ()


def test_the_report_task_prints_the_chance_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The build output carries the warning too, not only report.md."""
    from tflmake.builders.report import build
    from tflmake.paths import Layout
    from tflmake.spec.load import load_spec

    spec = load_spec(write_spec(tmp_path, MINIMAL_SPEC, "toy"))
    layout = Layout((tmp_path / "build").as_posix())
    Path(layout.report_json("toy")).parent.mkdir(parents=True)
    Path(layout.report_json("toy")).write_text(json.dumps(chance_level_report() | {"model": "toy"}))
    build(spec, layout)
    assert "    warning: toy.int8: 50.80 % accuracy is within 5 points of chance" in capsys.readouterr().err


ETHOS_U = {"accelerator": "ethos-u55-128", "system_config": "Ethos_U55_High_End_Embedded",
           "memory_mode": "Shared_Sram", "npu": "Ethos-U55", "macs_per_cycle": 128, "core_clock_hz": 500_000_000,
           "npu_cycles": 2803, "total_cycles": 7041, "inference_ms": 0.014082, "sram_bytes": 1152,
           "dram_bytes": 0, "on_chip_flash_bytes": 0, "off_chip_flash_bytes": 6368, "ops": 7, "npu_ops": 6,
           "cpu_ops": ["TANH"], "ethos_u_operators": 1}


def test_vela_s_estimates_have_their_own_section_saying_what_the_host_measured() -> None:
    """An accelerator variant's line names the NPU, the CPU fallbacks, cycles, time and memory."""
    report = copy.deepcopy(REPORT)
    report["variants"]["int8"]["ethos_u"] = ETHOS_U
    summary = summarise(report)
    assert summary.npu == ("int8 on Ethos-U55 (ethos-u55-128; Ethos_U55_High_End_Embedded, Shared_Sram): "
                           "6 of 7 ops on the NPU, TANH on the CPU; 2803 NPU cycles, 7041 in total: "
                           "14.1 µs per inference at 500 MHz; SRAM 1.1 KiB, off-chip flash 6.2 KiB",)
    markdown = render_model(summary)
    assert "## Ethos-U NPU (Vela estimates)" in markdown and "before Vela" in markdown
    assert "Ethos-U NPU (Vela estimates)" in render_page([summary], {})


def test_no_npu_section_without_an_accelerator() -> None:
    summary = summarise(REPORT)
    assert summary.npu == () and "Ethos-U" not in render_model(summary)


def float_search_trace(met: bool = True) -> dict[str, Any]:
    """A keep_float_search trace as builders/float_search writes it: plain int8 broke, one op in float."""
    plain = {"keep_float": [], "size_bytes": 13144, "accuracy": 0.1, "accuracy_drop": 0.85, "mean_abs_diff": 0.2,
             "meets": False}
    one = {"keep_float": ["m/outlier/MatMul"], "size_bytes": 24872, "accuracy": 0.945 if met else 0.9,
           "accuracy_drop": 0.005 if met else 0.05, "mean_abs_diff": 0.01, "meets": met}
    return {"max_accuracy_drop": 0.01, "split": "test", "samples": 359,
            "float": {"accuracy": 0.95, "size_bytes": 37244},
            "ops": [{"op": "FULLY_CONNECTED", "name": "m/outlier/MatMul"}, {"op": "SOFTMAX", "name": "out"}],
            "ranking": [{"op": "FULLY_CONNECTED", "name": "m/outlier/MatMul", "accuracy": one["accuracy"],
                         "mean_abs_diff": 0.01, "size_bytes": 24872},
                        {"op": "SOFTMAX", "name": "out", "accuracy": 0.1, "mean_abs_diff": 0.2, "size_bytes": 13000}],
            "candidates": [plain, one] if met else [plain, one, {**one, "keep_float": ["m/outlier/MatMul", "out"],
                                                                 "accuracy": 0.89, "accuracy_drop": 0.06}],
            "chosen": one, "met": met}


def test_float_search_has_its_own_section_with_outcome_ranking_candidates_and_the_split() -> None:
    report = copy.deepcopy(REPORT)
    report["variants"]["int8"]["float_search"] = float_search_trace()
    summary = summarise(report)
    assert summary.float_search == (
        "int8: accuracy drop at most 1.00 pt against float32 (95.00 %) on the test split (359 samples): met with "
        "1 of 2 ops in float; plain int8 drops 85.00 pt; kept in float: m/outlier/MatMul",
        "int8 sensitivity (accuracy with only that op in float): 1. FULLY_CONNECTED m/outlier/MatMul 94.50 %, "
        "2. SOFTMAX out 10.00 %",
        "int8 candidates: 0 in float: 12.8 KiB, 10.00 % (−85.00 pt); 1 in float: 24.3 KiB, 94.50 % (−0.50 pt) "
        "(chosen)")
    assert summary.warnings == ()
    markdown = render_model(summary)
    assert "## Float layer search (keep_float_search)" in markdown and "not an unbiased estimate" in markdown
    assert "kept float by keep_float_search: m/outlier/MatMul" in markdown
    assert "Float layer search" in render_page([summary], {})


def test_a_missed_float_search_target_is_a_warning() -> None:
    report = copy.deepcopy(REPORT)
    report["variants"]["int8"]["float_search"] = float_search_trace(met=False)
    summary = summarise(report)
    assert "missed: even the most accurate candidate (1 of 2 ops in float) drops 5.00 pt" in summary.float_search[0]
    assert summary.warnings == ("int8: no keep_float_search candidate meets max_accuracy_drop 1.00 pt; the most "
                                "accurate one is built (drop 5.00 pt)",)


def test_no_float_search_section_without_a_search() -> None:
    summary = summarise(REPORT)
    assert summary.float_search == () and "Float layer search" not in render_model(summary)


def test_signed_encrypted_bundle_gets_a_line_with_key_ids_and_decrypted_ram() -> None:
    """report.md states whose key signed the bundle and the RAM the decrypted model needs."""
    from tflmake.report.summary import firmware_crypto_line

    line = firmware_crypto_line("int8", {"signed_by": "ab" * 32, "encryption_key": "cd" * 32,
                                         "decrypted_ram_bytes": 10240})
    assert line == ("int8: signed (ECDSA P-256, public key id abababababababab); AES-GCM encrypted (key id "
                    "cdcdcdcdcdcdcdcd); the decrypted model needs 10,240 bytes of RAM besides the tensor arena")
    assert firmware_crypto_line("f", {"signed_by": "ef" * 32, "encryption_key": None,
                                      "decrypted_ram_bytes": None}) == \
        "f: signed (ECDSA P-256, public key id efefefefefefefef)"
    report = copy.deepcopy(REPORT)
    report["variants"]["int8"]["firmware_crypto"] = {"signed_by": "ab" * 32, "encryption_key": "cd" * 32,
                                                     "decrypted_ram_bytes": 10240}
    assert f"- {line}" in render_model(summarise(report))
    assert "signature and encryption" not in render_model(summarise(REPORT))
