"""Reports and gates on real builds of the digits models: measured numbers, real interpreters."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support import Project, require_tool

pytestmark = pytest.mark.integration

VARIANT_KEYS = {"quantize", "path", "size_bytes", "size_ratio", "gzip_bytes", "sha256",
                "accuracy", "accuracy_drop", "agreement", "max_abs_diff", "mean_abs_diff",
                "latency_ms_median", "latency_ms_p90", "arena_bytes", "ops", "op_count", "micro"}


@pytest.fixture
def pair(built_pair: Project, tmp_path: Path) -> Project:
    """A private copy of the built pair (doit state included), free to modify."""
    shutil.copytree(built_pair.root, tmp_path / "project", symlinks=True)
    return Project(tmp_path / "project")


def report(project: Project, model: str) -> dict:
    return json.loads((project.build / model / "report.json").read_text())


def set_gates(project: Project, model: str, toml: str) -> None:
    spec = project.specs / f"{model}.toml"
    text = re.sub(r"\n# gates-under-test.*", "", spec.read_text(), flags=re.DOTALL)
    spec.write_text(text + "\n# gates-under-test\n" + toml)


def test_far_from_float_differs_from_its_float_model(built_pair: Project) -> None:
    """The gate tests' premise holds by construction: the pruned variant disagrees and loses accuracy."""
    far = report(built_pair, "digits_mlp")["variants"]["far_from_float"]
    assert far["agreement"] < 1 and far["accuracy_drop"] > 0, far


def test_report_json_has_every_key_with_plausible_values(built_pair: Project) -> None:
    mlp = report(built_pair, "digits_mlp")
    assert set(mlp) >= {"model", "spec", "tools", "variants"}
    assert set(mlp["tools"]) == {"tensorflow", "keras", "ai_edge_litert", "tflite_micro"}
    assert list(mlp["variants"]) == ["float32", "dynamic", "float16", "int8", "int16x8", "far_from_float"]
    for name, variant in mlp["variants"].items():
        assert VARIANT_KEYS <= set(variant), name
        assert 0.0 <= variant["accuracy"] <= 1.0
        assert variant["op_count"] == len(variant["ops"]) > 0
        assert 0 < variant["latency_ms_median"] <= variant["latency_ms_p90"]
    variants = mlp["variants"]
    assert variants["float32"]["accuracy"] > 0.8
    assert variants["int8"]["size_bytes"] < variants["float32"]["size_bytes"]
    assert variants["int8"]["agreement"] >= 0.95
    assert variants["int8"]["input"]["dtype"] == "int8" and variants["int8"]["input"]["scale"] > 0
    assert "FULLY_CONNECTED" in variants["int8"]["ops"]
    assert variants["int8"]["micro"]["agreement_with_litert"] >= 0.99


def test_project_html_opens_in_chromium_and_shows_every_model(built_pair: Project,
                                                              tmp_path: Path) -> None:
    chromium = require_tool("chromium")
    page = built_pair.build / "report.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"]
    # With logging on, the page's console messages (script errors included) reach stderr.
    dom = subprocess.run([chromium, *flags, "--enable-logging=stderr", "--v=0", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    for model in ("digits_mlp", "digits_cnn"):
        assert f'<section id="{model}">' in dom.stdout
    assert dom.stdout.count('src="data:image/png;base64,') == 2
    assert "Uncaught" not in dom.stderr and "ERR_FILE_NOT_FOUND" not in dom.stderr
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *flags, "--window-size=1280,2400", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120, check=True)
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 0.05, "the screenshot is (nearly) blank"


def test_markdown_reports_exist_with_table_and_plain_language_lines(built_pair: Project) -> None:
    text = (built_pair.build / "digits_mlp" / "report.md").read_text()
    assert "| Variant | Quantize | Size |" in text
    assert re.search(r"- int8: \d\.\d\d× smaller, [−+±]\d\.\d\d pt accuracy, \d+\.\d\d % "
                     r"agreement", text)
    project_md = (built_pair.build / "report.md").read_text()
    assert "## digits_mlp" in project_md and "## digits_cnn" in project_md
    assert (built_pair.build / "digits_cnn" / "tradeoff.png").read_bytes()[:4] == b"\x89PNG"


def worst(pair: Project, metric: str, highest: bool) -> tuple[str, str, float]:
    """(model, variant, value) of the variant with the highest or lowest `metric`."""
    candidates = [(m, v, e[metric]) for m in ("digits_mlp", "digits_cnn")
                  for v, e in report(pair, m)["variants"].items() if e[metric] is not None]
    return (max if highest else min)(candidates, key=lambda c: c[2])


@pytest.mark.parametrize("gate", ["min_accuracy", "max_accuracy_drop", "min_agreement",
                                  "max_size_bytes", "max_arena_bytes", "max_latency_ms"])
def test_each_gate_passes_within_reach_and_fails_beyond_it(pair: Project, gate: str) -> None:
    """A limit the model meets builds; one beyond reach fails with one line per violation."""
    if gate == "max_arena_bytes" and report(pair, "digits_mlp")["variants"]["int8"][
            "arena_bytes"] is None:
        # Until the firmware task (issue 3) measures the arena, stand in its file.
        (pair.build / "digits_mlp" / "int8_firmware.json").write_text('{"arena_bytes": 5000}')
        assert pair.doit("forget", "evaluate:digits_mlp").returncode == 0
        assert pair.doit().returncode == 0
    metric = {"min_accuracy": "accuracy", "max_accuracy_drop": "accuracy_drop",
              "min_agreement": "agreement", "max_size_bytes": "size_bytes",
              "max_arena_bytes": "arena_bytes", "max_latency_ms": "latency_ms_median"}[gate]
    model, variant, measured = worst(pair, metric, highest=gate.startswith("max"))
    # Limits derived from the measured value: equal passes, half a test sample (or one byte)
    # stricter fails, whatever the exact numbers of this machine's build are.
    half_sample = 0.5 / report(pair, model)["test_samples"]
    within = {"max_latency_ms": 1000.0}.get(gate, measured)
    beyond = {"min_accuracy": measured + half_sample, "max_accuracy_drop": measured - half_sample,
              "min_agreement": measured + half_sample, "max_size_bytes": measured - 1,
              "max_arena_bytes": measured - 1, "max_latency_ms": 1e-6}[gate]

    set_gates(pair, model, f"[gates]\n{gate} = {within!r}\n")
    run = pair.doit()
    assert run.returncode == 0, run.output
    assert sorted(run.executed) == [f"report:{model}", "summary"], "only the gate check re-runs"

    set_gates(pair, model, f"[gates]\n{gate} = {beyond!r}\n")
    run = pair.doit()
    assert run.returncode != 0
    assert sorted(run.executed) == [f"report:{model}", "summary"]
    line = next(line for line in run.output.splitlines() if line.startswith(f"{model}.{variant}:"))
    assert f" vs {gate} = " in line and "FAILED" in line and metric in line
    assert (pair.build / model / "report.md").is_file()
    assert "gates FAILED" in (pair.build / "report.html").read_text()


def test_variant_gate_overrides_the_model_gate(pair: Project) -> None:
    """A model-wide limit int8 misses passes when int8's own table relaxes it."""
    size = report(pair, "digits_mlp")["variants"]["int8"]["size_bytes"]
    spec = pair.specs / "digits_mlp.toml"
    text = spec.read_text().replace('c_array = true', 'c_array = true\n'
                                    f'gates = {{ max_size_bytes = {size} }}')
    spec.write_text(text.replace("[[variant]]", f"[gates]\nmax_size_bytes = {size - 1}\n\n"
                                 "[[variant]]", 1))
    run = pair.doit()
    failed = [line for line in run.output.splitlines() if "FAILED" in line]
    assert failed and all(".int8:" not in line for line in failed), run.output


def test_identical_tflite_bytes_are_not_re_evaluated(pair: Project) -> None:
    """Re-converting to the same bytes leaves evaluation (and everything after) up to date."""
    before = (pair.build / "digits_mlp" / "int8.tflite").read_bytes()
    assert pair.doit("forget", "tflite:digits_mlp.int8").returncode == 0
    run = pair.doit()
    assert run.returncode == 0, run.output
    assert (pair.build / "digits_mlp" / "int8.tflite").read_bytes() == before
    assert run.executed == ["tflite:digits_mlp.int8"]


def test_changing_evaluation_options_re_evaluates_and_diffs(pair: Project) -> None:
    """latency_runs re-runs evaluation only; the report then compares with the previous one."""
    spec = pair.specs / "digits_mlp.toml"
    spec.write_text(spec.read_text() + "\n[evaluation]\nlatency_runs = 20\n")
    run = pair.doit()
    assert run.returncode == 0, run.output
    assert run.executed == ["evaluate:digits_mlp", "report:digits_mlp", "summary"]
    assert report(pair, "digits_mlp")["variants"]["int8"]["latency_runs"] == 20
    assert (pair.build / "digits_mlp" / "report.previous.json").is_file()
    assert "No previous report" not in (pair.build / "digits_mlp" / "report.md").read_text()
    second = pair.doit()
    assert second.executed == [], second.output
