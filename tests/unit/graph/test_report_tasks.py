"""The evaluate, report and summary task dicts: what each depends on."""

from __future__ import annotations

import shutil
from html import escape
from pathlib import Path

import pytest

from tflmake.graph.tasks import evaluate_task, report_task, summary_task
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec, load_spec

REPO = Path(__file__).resolve().parents[3]
LAYOUT = Layout("build")


@pytest.fixture
def mlp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelSpec:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "modelspecs").mkdir()
    shutil.copy(REPO / "tests" / "data" / "specs" / "digits_mlp.toml", tmp_path / "modelspecs")
    return load_spec("modelspecs/digits_mlp.toml")


def with_gates(spec_path: Path, text: str) -> ModelSpec:
    spec_path.write_text(spec_path.read_text() + text)
    return load_spec(spec_path)


def test_evaluate_depends_on_every_variant_the_test_split_and_the_arena(mlp: ModelSpec) -> None:
    """Evaluation reads each .tflite, the split, the firmware arena (not measured twice), the Keras layers."""
    task = evaluate_task(mlp, LAYOUT)
    assert task["file_dep"] == [f"build/digits_mlp/{v}.tflite" for v in
                                ("float32", "dynamic", "float16", "int8", "int16x8")] + \
        ["build/digits_mlp/dataset.npz", "build/digits_mlp/int8_firmware.json",
         "build/digits_mlp/saved_model/tflmake_stamp.json"]
    assert task["targets"] == ["build/digits_mlp/report.json", "build/digits_mlp/tradeoff.png"]


def test_report_depends_only_on_the_measurements(mlp: ModelSpec) -> None:
    assert report_task(mlp, LAYOUT)["file_dep"] == ["build/digits_mlp/report.json"]


def test_a_gate_changes_the_report_key_but_not_the_evaluate_key(mlp: ModelSpec,
                                                                 tmp_path: Path) -> None:
    """Changing a gate must re-run the check only, never the evaluation."""
    gated = with_gates(tmp_path / "modelspecs" / "digits_mlp.toml",
                       "\n[gates]\nmin_accuracy = 0.5\n")
    assert evaluate_task(gated, LAYOUT)["uptodate"][0].config == \
        evaluate_task(mlp, LAYOUT)["uptodate"][0].config
    assert report_task(gated, LAYOUT)["uptodate"][0].config != \
        report_task(mlp, LAYOUT)["uptodate"][0].config
    assert summary_task([gated], LAYOUT)["uptodate"][0].config != \
        summary_task([mlp], LAYOUT)["uptodate"][0].config


def test_description_and_variant_options_leave_the_evaluate_key_alone(mlp: ModelSpec,
                                                                     tmp_path: Path) -> None:
    """A description edit changes no task; an io_type edit reaches evaluate via the bytes."""
    path = tmp_path / "modelspecs" / "digits_mlp.toml"
    path.write_text(path.read_text().replace('description = "Tutorial', 'description = "Edited')
                    .replace('io_type = "int8"', 'io_type = "uint8"'))
    edited = load_spec(path)
    for task in (evaluate_task, report_task):
        assert task(edited, LAYOUT)["uptodate"][0].config == task(mlp, LAYOUT)["uptodate"][0].config
    assert summary_task([edited], LAYOUT)["uptodate"][0].config == \
        summary_task([mlp], LAYOUT)["uptodate"][0].config


def test_evaluation_options_change_the_evaluate_key(mlp: ModelSpec, tmp_path: Path) -> None:
    tuned = with_gates(tmp_path / "modelspecs" / "digits_mlp.toml",
                       "\n[evaluation]\nlatency_runs = 7\n")
    assert evaluate_task(tuned, LAYOUT)["uptodate"][0].config != \
        evaluate_task(mlp, LAYOUT)["uptodate"][0].config


def test_summary_reads_measurements_not_per_model_reports(mlp: ModelSpec) -> None:
    """So the project page is written even when a model's gate check fails."""
    task = summary_task([mlp], LAYOUT)
    assert task["file_dep"] == ["build/digits_mlp/report.json", "build/digits_mlp/tradeoff.png"]
    assert task["targets"] == ["build/report.md", "build/report.html"]


def test_the_project_report_lists_an_invalid_spec_with_its_first_error(mlp: ModelSpec) -> None:
    """An invalid spec is in build/report.md and report.html like a failed build: file, key path, message."""
    from tests.support import all_tasks
    from tflmake.graph.tasks import load_models

    (Path("modelspecs") / "broken.toml").write_text(
        Path(mlp.spec_path).read_text().replace('quantize = "int8"', 'quantize = "int3"', 1)
        .replace("epochs = 5", "epochs = -1"))
    models, errors = load_models(sorted(Path("modelspecs").glob("*.toml")), LAYOUT)
    summary = next(task for task in all_tasks([spec for spec, _ in models], errors)
                   if task["basename"] == "summary")
    action, arguments = summary["actions"][0]
    assert action(*arguments) is None
    first = errors[0].problems[0]
    assert first.startswith("train.epochs:") or first.startswith("variant[")
    line = f"- broken: invalid spec: modelspecs/broken.toml: {first}"
    assert line in Path(LAYOUT.project_report_md).read_text().splitlines()
    assert escape(f"invalid spec: modelspecs/broken.toml: {first}") in Path(LAYOUT.project_report_html).read_text()


def test_the_project_report_is_rebuilt_when_a_spec_becomes_invalid(mlp: ModelSpec) -> None:
    """The summary's key holds the invalid specs' errors, so breaking (or fixing) one rebuilds it."""
    valid = summary_task([mlp], LAYOUT)["uptodate"][0].config
    broken = summary_task([mlp], LAYOUT, {"broken": "invalid spec: modelspecs/broken.toml: x: y"})
    assert broken["uptodate"][0].config != valid
