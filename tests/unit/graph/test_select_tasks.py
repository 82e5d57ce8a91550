"""The select task: what it reads, what it writes, and which edits make it (and only it) stale."""

from __future__ import annotations

from pathlib import Path

from tests.support import MLP, fingerprints, tasks_of
from tflmake.paths import Layout

# digits_mlp with float32 exported too: int8 and float32 have bundles, the other three do not.
SELECTING = MLP.replace('name = "float32"\nquantize = "none"', 'name = "float32"\nquantize = "none"\nc_array = true') \
    + '\n[select]\nminimize = "flash"\n'
BUNDLE_FILES = ("firmware.json", "firmware/digits_mlp_{v}_model_data.h", "firmware/digits_mlp_{v}_model_data.c",
                "firmware/digits_mlp_{v}_op_resolver.h")


def edited(tmp_path: Path, old: str, new: str) -> set[str]:
    """The tasks whose key, file_dep or targets an edit of SELECTING changes."""
    assert old in SELECTING
    before = fingerprints(tasks_of(tmp_path, SELECTING))
    after = fingerprints(tasks_of(tmp_path, SELECTING.replace(old, new)))
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def test_no_select_table_no_select_task(tmp_path: Path) -> None:
    assert not [name for name in tasks_of(tmp_path) if name.startswith("select:")]


def test_select_reads_the_measurements_and_every_exported_bundle(tmp_path: Path) -> None:
    """report.json, then each c_array variant's facts and C files in spec order; nothing of the others."""
    task = tasks_of(tmp_path, SELECTING)["select:digits_mlp"]
    bundles = [f"build/digits_mlp/{v}_firmware.json" if name == "firmware.json" else
               f"build/digits_mlp/{name.format(v=v)}" for v in ("float32", "int8") for name in BUNDLE_FILES]
    assert task["file_dep"] == ["build/digits_mlp/report.json", *bundles]


def test_select_writes_the_stable_names(tmp_path: Path) -> None:
    """Names with `selected` in place of a variant: they do not change when the choice does."""
    task = tasks_of(tmp_path, SELECTING)["select:digits_mlp"]
    assert task["targets"] == ["build/digits_mlp/firmware/digits_mlp_selected_model_data.h",
                               "build/digits_mlp/firmware/digits_mlp_selected_model_data.c",
                               "build/digits_mlp/firmware/digits_mlp_selected_op_resolver.h",
                               "build/digits_mlp/firmware/digits_mlp_selected_firmware.json"]


def test_a_front_end_adds_the_selected_front_end_files() -> None:
    assert Layout("build").selected_bundle("kws", front_end=True)[-2:] == [
        "build/kws/firmware/kws_selected_frontend.h", "build/kws/firmware/kws_selected_frontend.c"]


def test_select_key_is_the_select_table_and_the_exported_variants_gates(tmp_path: Path) -> None:
    task = tasks_of(tmp_path, SELECTING + "\n[gates]\nmin_accuracy = 0.5\n")["select:digits_mlp"]
    assert task["uptodate"][0].config == {
        "select": {"minimize": "flash", "symbol": "g_{model}_selected_model_data"},
        "gates": {"float32": {"min_accuracy": 0.5}, "int8": {"min_accuracy": 0.5}}}


def test_a_gate_change_makes_only_report_and_select_stale(tmp_path: Path) -> None:
    """The gates decide the choice, never the measurements: nothing upstream reruns (the project's
    summary, which shows the gates too, is checked in test_report_tasks)."""
    assert edited(tmp_path, "[select]", "[gates]\nmax_size_bytes = 9999\n\n[select]") == \
        {"report:digits_mlp", "select:digits_mlp"}


def test_the_criterion_changes_only_report_and_select(tmp_path: Path) -> None:
    assert edited(tmp_path, 'minimize = "flash"', 'minimize = "latency"') == \
        {"report:digits_mlp", "select:digits_mlp"}


def test_a_gate_of_a_variant_without_a_bundle_leaves_select_alone(tmp_path: Path) -> None:
    """float16 is never shipped, so its gates cannot change the choice."""
    changed = edited(tmp_path, 'name = "float16"\nquantize = "float16"',
                     'name = "float16"\nquantize = "float16"\ngates = { max_size_bytes = 1 }')
    assert "select:digits_mlp" not in changed and "report:digits_mlp" in changed


def test_select_makes_the_report_read_the_bundles_facts(tmp_path: Path) -> None:
    """report.md explains the choice, flash included: its key and file_dep grow only with [select]."""
    plain = tasks_of(tmp_path)["report:digits_mlp"]
    selecting = tasks_of(tmp_path, SELECTING)["report:digits_mlp"]
    assert plain["file_dep"] == ["build/digits_mlp/report.json"]
    assert selecting["file_dep"] == ["build/digits_mlp/report.json", "build/digits_mlp/float32_firmware.json",
                                     "build/digits_mlp/int8_firmware.json"]
    assert "select" not in plain["uptodate"][0].config and "select" in selecting["uptodate"][0].config


def test_adding_select_leaves_every_artifact_task_alone(tmp_path: Path) -> None:
    """Only the tasks that read [select] see it: the report and the new select task."""
    before = fingerprints(tasks_of(tmp_path, SELECTING.replace('\n[select]\nminimize = "flash"\n', "")))
    after = fingerprints(tasks_of(tmp_path, SELECTING))
    assert {name for name in after if before.get(name) != after[name]} == {"report:digits_mlp", "select:digits_mlp"}
