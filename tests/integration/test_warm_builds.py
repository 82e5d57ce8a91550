"""The test harness's warm builds (tests/warmbuild.py) stand in for fresh interpreters byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import warmbuild
from tests.support import make_project

pytestmark = pytest.mark.integration

# Files whose bytes a build fixes (reports hold measured times; SavedModel protos differ between any two processes).
FIXED_BYTES = (".tflite", ".c", ".h", ".npz", ".json")


def _fixed_files(build: Path) -> dict[str, bytes]:
    return {path.relative_to(build).as_posix(): path.read_bytes() for path in sorted(build.rglob("*"))
            if path.is_file() and path.suffix in FIXED_BYTES and not path.name.startswith("report")
            and "saved_model" not in path.parts and not path.name.startswith(".")}


def test_a_warm_build_writes_the_bytes_of_a_fresh_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warm = make_project(tmp_path / "warm", "digits_mlp")
    fresh = make_project(tmp_path / "fresh", "digits_mlp")

    finished = warmbuild.run_module("doit", [], warm.root, {**os.environ, "PYTHONHASHSEED": "0"}, 600)
    monkeypatch.setenv(warmbuild.FRESH_ENV, "1")
    cold = fresh.doit()

    assert finished is not None, "the warm build ran in a fresh interpreter"
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert cold.returncode == 0, cold.output
    warm_files, fresh_files = _fixed_files(warm.build), _fixed_files(fresh.build)
    assert any(name.endswith(".tflite") for name in warm_files)
    assert warm_files.keys() == fresh_files.keys()
    assert [name for name in warm_files if warm_files[name] != fresh_files[name]] == []


def test_an_environment_read_at_start_up_or_the_worker_on_gets_a_fresh_interpreter(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    changed = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(tmp_path)}

    worker_on = {**os.environ, "PYTHONHASHSEED": "0", "TFLMAKE_WORKER": "1"}

    assert warmbuild.run_module("tflmake", ["--version"], project.root, changed, 60) is None
    assert warmbuild.run_module("tflmake", ["--version"], project.root, worker_on, 60) is None


def test_a_warm_build_exits_and_prints_as_python_m_does(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    env = {**os.environ, "PYTHONHASHSEED": "0"}

    finished = warmbuild.run_module("tflmake", ["no-such-command"], project.root, env, 60)

    assert finished is not None
    assert finished.returncode == 2
    assert "no-such-command" in finished.stderr
