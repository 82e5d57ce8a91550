"""A real no-op after a build is answered from the no-op record, without doit's tasks or TensorFlow;
anything changed, and a failed or partial last run, goes through doit as before."""

from __future__ import annotations

import re
import time

import pytest

from tests.support import DoitRun, Project

pytestmark = pytest.mark.integration

ANSWERED = "nothing changed since the last build"
# What an answer never imports: TensorFlow, Keras, tflmake's task graph, specs and build steps. (`doit`
# itself imports its run machinery, doit.control and doit.runner, before it reads dodo.py.)
HEAVY = ("tensorflow", "keras", "tflmake.graph", "tflmake.spec", "tflmake.engine.runner", "tflmake.builders")


def settle() -> None:
    """Let a clock tick pass after files were written: the record proves nothing about newer ones."""
    time.sleep(0.05)


def imported(run: DoitRun) -> set[str]:
    """The modules a `python -X importtime` run imported."""
    return {match.strip() for match in re.findall(r"^import time:\s+\d+ \|\s+\d+ \|(.*)$", run.output, re.MULTILINE)}


def heavy_imports(run: DoitRun) -> list[str]:
    return sorted(name for name in imported(run) if name.startswith(HEAVY))


def recorded(project: Project) -> None:
    """A full no-op through doit's checks, which writes the record (the copy is in another folder)."""
    settle()
    run = project.tflmake()
    assert run.returncode == 0 and run.executed == [] and ANSWERED not in run.output, run.output


def test_a_no_op_after_a_build_imports_neither_doit_nor_tensorflow(copy_of_built: Project) -> None:
    """`tflmake` with nothing changed: one line with the counts, exit 0, and not even doit imported."""
    recorded(copy_of_built)
    run = copy_of_built.tflmake(python_options=("-X", "importtime"))
    assert run.returncode == 0
    lines = [line for line in run.output.splitlines() if not line.startswith("import time:")]
    assert re.fullmatch(rf"tflmake: 0 built, 13 up to date, 0 failed \(\d+\.\ds, {ANSWERED}\)", lines[-1])
    assert len(lines) == 1, lines
    assert "tflmake.engine.noop" in imported(run)
    assert heavy_imports(run) == [] and not any(name.startswith("doit") for name in imported(run))


def test_doit_in_the_project_takes_the_fast_path_too(copy_of_built: Project) -> None:
    """Plain `doit` (the dodo.py shim) answers from its own record before tflmake's task graph loads."""
    settle()
    first = copy_of_built.doit()
    assert first.returncode == 0 and first.executed == [] and ANSWERED not in first.output, first.output
    run = copy_of_built.doit(python_options=("-X", "importtime"))
    assert run.returncode == 0
    assert ANSWERED in run.output and run.skipped == []
    assert heavy_imports(run) == []


def test_an_edited_spec_falls_through_and_rebuilds_what_it_feeds(copy_of_built: Project) -> None:
    recorded(copy_of_built)
    spec = copy_of_built.specs / "digits_mlp.toml"
    spec.write_text(spec.read_text().replace('io_type = "int8"', 'io_type = "uint8"'))
    run = copy_of_built.tflmake()
    assert run.returncode == 0, run.output
    assert {"tflite:digits_mlp.int8", "carray:digits_mlp.int8"} <= set(run.executed)
    assert ANSWERED not in run.output
    settle()
    assert ANSWERED in copy_of_built.tflmake().output, "the rebuild wrote a new record"


def test_a_touched_data_file_falls_through_to_doits_checks(copy_of_built: Project) -> None:
    """A spec with the same bytes and a new timestamp: doit checks every task (and finds them up to date)."""
    recorded(copy_of_built)
    spec = copy_of_built.specs / "digits_mlp.toml"
    spec.write_text(spec.read_text())
    run = copy_of_built.tflmake()
    assert run.returncode == 0 and run.executed == [] and len(run.skipped) == 13, run.output


def test_a_deleted_output_falls_through_and_is_rebuilt(copy_of_built: Project) -> None:
    recorded(copy_of_built)
    target = copy_of_built.build / "digits_mlp" / "int8.tflite"
    before = target.read_bytes()
    target.unlink()
    run = copy_of_built.tflmake()
    assert run.returncode == 0, run.output
    assert "tflite:digits_mlp.int8" in run.executed and ANSWERED not in run.output
    assert target.read_bytes() == before


def test_a_failed_last_run_falls_through(copy_of_built: Project) -> None:
    """A run with a failed task leaves no record: the next run, the spec restored, reruns that task."""
    recorded(copy_of_built)
    spec = copy_of_built.specs / "digits_mlp.toml"
    text = spec.read_text()
    spec.write_text(text.replace("[[variant]]", "[gates]\nmax_size_bytes = 1\n\n[[variant]]", 1))
    failed = copy_of_built.tflmake()
    assert failed.returncode == 1 and "report:digits_mlp" in failed.executed, failed.output
    spec.write_text(text)
    run = copy_of_built.tflmake()
    assert run.returncode == 0 and "report:digits_mlp" in run.executed and ANSWERED not in run.output, run.output


def test_a_partial_run_leaves_no_record(copy_of_built: Project) -> None:
    """`tflmake TARGET` may change the build but checks only some tasks: the next full build checks all."""
    recorded(copy_of_built)
    assert copy_of_built.tflmake("forget", "report:digits_mlp").returncode == 0
    assert copy_of_built.tflmake("report:digits_mlp").executed == ["report:digits_mlp"]
    run = copy_of_built.tflmake()
    assert run.returncode == 0 and ANSWERED not in run.output and len(run.skipped) == 13, run.output
