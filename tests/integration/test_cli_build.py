"""Real builds through the `tflmake` command, in a project without a dodo.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import DoitRun, Project, make_project

PREREQUISITES = {"dataset:tiny", "savedmodel:tiny", "representative:tiny"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A project holding only `tflmake new tiny`'s starter spec, unbuilt."""
    project = make_project(tmp_path_factory.mktemp("cli") / "project", dodo=False)
    created = project.tflmake("new", "tiny")
    assert created.returncode == 0, created.output
    return project


@pytest.fixture(scope="module")
def one_target(tiny: Project) -> DoitRun:
    """`tflmake tflite:tiny.int8` on the unbuilt project."""
    return tiny.tflmake("tflite:tiny.int8")


@pytest.fixture(scope="module")
def everything(tiny: Project, one_target: DoitRun) -> DoitRun:
    """Then a plain `tflmake`, which builds the rest."""
    return tiny.tflmake()


def test_one_target_builds_that_file_and_what_it_needs(tiny: Project, one_target: DoitRun) -> None:
    """`tflmake tflite:tiny.int8` builds int8.tflite and its inputs, not the other variant."""
    assert one_target.returncode == 0, one_target.output
    assert set(one_target.executed) == PREREQUISITES | {"tflite:tiny.int8"}
    assert (tiny.build / "tiny" / "int8.tflite").stat().st_size > 1000
    assert not (tiny.build / "tiny" / "float32.tflite").exists()


def test_build_output_has_durations_epochs_and_a_summary(one_target: DoitRun) -> None:
    """Each task gets a duration line, training one line per epoch, the run a summary."""
    lines = one_target.output.splitlines()
    assert any(line.startswith("   tflite:tiny.int8 built in ") for line in lines)
    assert sum("epoch " in line for line in lines) == 5
    assert any(line.startswith("tflmake: 4 built, 0 up to date, 0 failed (") for line in lines)
    assert "oneDNN" not in one_target.output  # TensorFlow's C++ log lines stay hidden


def test_starter_spec_builds_every_target(tiny: Project, everything: DoitRun) -> None:
    """The rest of the starter spec builds: float32, the int8 firmware bundle, manifest and reports."""
    assert everything.returncode == 0, everything.output
    assert set(everything.executed) == {"tflite:tiny.float32", "carray:tiny.int8", "manifest:tiny",
                                        "evaluate:tiny", "report:tiny", "summary"}
    assert (tiny.build / "tiny" / "int8_model_data.c").is_file()


def test_status_after_a_build_is_up_to_date(tiny: Project, everything: DoitRun) -> None:
    """status after a full build: every target up to date, exit 0."""
    run = tiny.tflmake("status")
    assert run.returncode == 0, run.output
    assert run.output.splitlines()[-2] == "10 of 10 targets up to date"


def test_edited_spec_key_is_named_by_status(tiny: Project, everything: DoitRun, tmp_path: Path) -> None:
    """Editing train.epochs makes status name that key for the SavedModel, its dependents pending."""
    copy = Project(Path(shutil.copytree(tiny.root, tmp_path / "copy")))
    spec = copy.specs / "tiny.toml"
    spec.write_text(spec.read_text().replace("epochs = 5", "epochs = 6"))
    run = copy.tflmake("status")
    assert run.returncode == 1
    line = {task: next(line for line in run.output.splitlines() if f" {task} " in f"{line} ")
            for task in ("dataset:tiny", "savedmodel:tiny", "tflite:tiny.int8")}
    assert line["savedmodel:tiny"].startswith("stale") and line["savedmodel:tiny"].endswith("train.epochs: 5 -> 6")
    assert line["tflite:tiny.int8"].startswith("pending")
    assert line["dataset:tiny"].startswith("up to date")


def test_installed_script_sees_nothing_to_do(tiny: Project, everything: DoitRun) -> None:
    """The installed `tflmake` script, run again, executes nothing."""
    script = shutil.which("tflmake", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("tflmake is not installed next to this interpreter")
    result = subprocess.run([script], cwd=tiny.root, capture_output=True, text=True, timeout=300)
    run = DoitRun(result.returncode, result.stdout + result.stderr)
    assert run.returncode == 0 and run.executed == []
    assert re.search(r"^tflmake: 0 built, 10 up to date, 0 failed \(", run.output, re.MULTILINE), run.output


def test_failing_task_is_one_line_naming_model_and_cause(tmp_path: Path) -> None:
    """A build error: the task, then one line (model, spec, cause), a non-zero exit, no traceback."""
    project = make_project(tmp_path / "broken", dodo=False)
    assert project.tflmake("new", "tiny").returncode == 0
    spec = project.specs / "tiny.toml"
    spec.write_text(spec.read_text().replace('# optimizer = "adam"', 'optimizer = "adamx"'))
    run = project.tflmake("savedmodel")
    assert run.returncode != 0
    lines = run.output.splitlines()
    failed = next(index for index, line in enumerate(lines) if "FAILED" in line)
    assert lines[failed].startswith("   savedmodel:tiny FAILED after ")
    assert lines[failed + 1] == ('tiny (modelspecs/tiny.toml): train.optimizer: unknown optimizer "adamx"; '
                                 "expected a keras.optimizers name such as adam, sgd, rmsprop")
    assert "Traceback" not in run.output


def test_tflmake_with_a_model_name_builds_every_task_of_that_model(copy_of_built: Project) -> None:
    """`tflmake digits_mlp` runs that model's tasks from dataset to report, and nothing else."""
    assert copy_of_built.tflmake("forget", "report:digits_mlp").returncode == 0
    run = copy_of_built.tflmake("digits_mlp")
    assert run.returncode == 0, run.output
    assert run.executed == ["report:digits_mlp"]
    assert len(run.skipped) == 11 and "summary" not in run.output.split(), run.output
