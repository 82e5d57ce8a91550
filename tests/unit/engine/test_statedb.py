"""tflmake's doit backend: doit's sqlite3 format, one read, no write on a no-op, file stats shared safely."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from doit.cmd_base import ModuleTaskLoader
from doit.dependency import JSONCodec, SqliteDB
from doit.doit_cmd import DoitMain

from tflmake.engine import filestats
from tflmake.engine.filestats import MD5Checker, file_stat
from tflmake.engine.statedb import StateDB, keep_blocked_state
from tflmake.graph.tasks import state_backend


def test_reads_what_doits_sqlite3_backend_wrote_and_the_reverse(tmp_path: Path) -> None:
    """Same file, same table: switching between the backends keeps every task's state."""
    path = str(tmp_path / "state.db")
    doit_db = SqliteDB(path, JSONCodec())
    doit_db.set("tflite:m.int8", "_values_:", {"targets": {"a": [1, 2, "x"]}})
    doit_db.dump()
    ours = StateDB(path, JSONCodec())
    assert ours.get("tflite:m.int8", "_values_:") == {"targets": {"a": [1, 2, "x"]}}
    assert ours.in_("tflite:m.int8") and not ours.in_("tflite:m.float32")
    ours.set("tflite:m.float32", "deps:", ["build/m/saved_model/tflmake_stamp.json"])
    ours.remove("tflite:m.int8")
    ours.dump()
    reread = SqliteDB(path, JSONCodec())
    assert reread.get("tflite:m.float32", "deps:") == ["build/m/saved_model/tflmake_stamp.json"]
    assert not reread.in_("tflite:m.int8")


def test_a_blocked_task_keeps_the_state_doit_removed(tmp_path: Path) -> None:
    """keep_blocked_state gives back, and dump saves, what doit removed for a task that did not run."""
    path = str(tmp_path / "state.db")
    first = StateDB(path, JSONCodec())
    first.set("savedmodel:m", "deps:", ["build/m/dataset.npz"])
    first.set("tflite:m.int8", "deps:", ["build/m/saved_model/tflmake_stamp.json"])
    first.dump()
    second = StateDB(path, JSONCodec())
    second.remove("savedmodel:m")  # doit: blocked by a failed dataset task
    second.remove("tflite:m.int8")
    keep_blocked_state("savedmodel:m")
    second.dump()
    keep_blocked_state("tflite:m.int8")  # after dump: nothing open, nothing happens
    reread = SqliteDB(path, JSONCodec())
    assert reread.get("savedmodel:m", "deps:") == ["build/m/dataset.npz"]
    assert not reread.in_("tflite:m.int8")


def test_reading_every_task_writes_nothing(tmp_path: Path) -> None:
    """A no-op (gets only) leaves the database file's bytes and mtime alone."""
    path = tmp_path / "state.db"
    db = StateDB(str(path), JSONCodec())
    db.set("a", "checker:", "MD5Checker")
    db.dump()
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    db = StateDB(str(path), JSONCodec())
    assert db.get("a", "checker:") == "MD5Checker" and db.get("b", "checker:") is None
    db.dump()
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_unreadable_database_names_the_file(tmp_path: Path) -> None:
    """A corrupt state file fails with its path and what to do, not a sqlite traceback."""
    path = tmp_path / "state.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(Exception, match="state.db is not a readable doit state database.*remove it"):
        StateDB(str(path), JSONCodec())


def test_stats_are_kept_until_a_task_finishes(tmp_path: Path) -> None:
    """While the database is open a file's stat is taken once, and forgotten when a task's state is saved."""
    path = tmp_path / "f"
    path.write_text("x")
    db = StateDB(str(tmp_path / "state.db"), JSONCodec())
    try:
        assert file_stat(str(path)) is not None
        path.unlink()
        assert file_stat(str(path)) is not None, "the first stat is reused"
        db.set("task", "_values_:", {})
        assert file_stat(str(path)) is None
    finally:
        db.dump()
    path.write_text("x")
    assert file_stat(str(path)) is not None
    path.unlink()
    assert file_stat(str(path)) is None, "with no database open every call stats"


def test_installing_registers_the_backend_with_doit() -> None:
    """doit finds the "tflmake" backend through its entry point, so graph configures it."""
    (entry,) = entry_points(group="doit.BACKEND", name="tflmake")
    assert entry.load() is StateDB
    assert state_backend() == "tflmake"


def test_checker_keeps_doits_class_name() -> None:
    """doit saves the checker's class name per task; another name would rebuild every task once."""
    assert MD5Checker.__name__ == "MD5Checker"


def _copy(source: str, target: str) -> None:
    Path(target).write_text(Path(source).read_text())


def _project() -> dict[str, Any]:
    """A dodo: `source` copies input.txt to a.txt, `copy` copies a.txt to b.txt.

    When input.txt changes, doit checks that a.txt exists (a stat) before it
    finds input.txt changed and runs `source`, which rewrites a.txt.
    """

    def task_source() -> dict[str, Any]:
        return {"actions": [(_copy, ["input.txt", "a.txt"])], "file_dep": ["input.txt"], "targets": ["a.txt"]}

    def task_copy() -> dict[str, Any]:
        return {"actions": [(_copy, ["a.txt", "b.txt"])], "file_dep": ["a.txt"], "targets": ["b.txt"]}

    return {"task_source": task_source, "task_copy": task_copy,
            "DOIT_CONFIG": {"backend": "tflmake", "check_file_uptodate": MD5Checker,
                            "dep_file": "state.db", "verbosity": 0}}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "process-pool"])
def test_a_file_rewritten_during_the_run_is_seen_by_the_tasks_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: list[str]) -> None:
    """The stat taken before a task ran is not reused once the task rewrote the file."""
    monkeypatch.chdir(tmp_path)
    Path("input.txt").write_text("first")
    assert DoitMain(ModuleTaskLoader(_project())).run(workers) == 0
    assert Path("b.txt").read_text() == "first"
    Path("input.txt").write_text("later")  # same size: only a fresh stat of a.txt tells it changed
    assert DoitMain(ModuleTaskLoader(_project())).run(workers) == 0
    assert Path("b.txt").read_text() == "later"
    assert filestats._stats is None, "closing the database stops keeping stats"


def test_loading_the_backend_imports_no_spec_machinery() -> None:
    """doit loads the backend for every command in the environment: it must stay cheap for other projects."""
    code = "import sys, tflmake.engine.statedb; print(sorted(m for m in sys.modules if m.startswith('tflmake')))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.split() == ["['tflmake',", "'tflmake.engine',", "'tflmake.engine.filestats',",
                                  "'tflmake.engine.statedb']"], run.stderr
