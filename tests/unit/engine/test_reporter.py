"""The build reporter: doit's prefixes kept, durations, one-line failures first, a summary."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from doit.exceptions import TaskError, TaskFailed, UnmetDependency
from doit.task import Task

from tflmake.engine.lastrun import PROJECT_META
from tflmake.engine.reporter import TflmakeReporter
from tflmake.paths import Layout


def noop() -> None:
    """A task action."""


def report(monkeypatch: pytest.MonkeyPatch, traceback: bool = False) -> tuple[TflmakeReporter, io.StringIO]:
    if traceback:
        monkeypatch.setenv("TFLMAKE_TRACEBACK", "1")
    else:
        monkeypatch.delenv("TFLMAKE_TRACEBACK", raising=False)
    out = io.StringIO()
    return TflmakeReporter(out, {"failure_verbosity": 0}), out


def unexpected_error() -> TaskError:
    try:
        raise ValueError("shape mismatch")
    except ValueError as error:
        return TaskError("digits_mlp.int8 (modelspecs/digits_mlp.toml): unexpected ValueError: shape mismatch", error)


def test_executed_and_up_to_date_tasks_keep_doits_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    """`.  task` when it runs, `-- task` when up to date; a duration line after a build."""
    reporter, out = report(monkeypatch)
    built, current = Task("tflite:m.int8", [noop]), Task("dataset:m", [noop])
    reporter.execute_task(built)
    reporter.add_success(built)
    reporter.skip_uptodate(current)
    reporter.complete_run()
    lines = out.getvalue().splitlines()
    assert lines[0] == ".  tflite:m.int8"
    assert lines[1].startswith("   tflite:m.int8 built in ") and lines[1].endswith("s")
    assert lines[2] == "-- dataset:m"


class RecordingStream(io.StringIO):
    """Remembers each write call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_up_to_date_lines_go_out_together_and_before_the_next_task() -> None:
    """Consecutive `-- task` lines are one write, flushed in order before a task that runs."""
    out = RecordingStream()
    reporter = TflmakeReporter(out, {"failure_verbosity": 0})
    for name in ("dataset:m", "savedmodel:m"):
        reporter.skip_uptodate(Task(name, [noop]))
    assert out.writes == []
    reporter.execute_task(Task("tflite:m.int8", [noop]))
    assert out.writes == ["-- dataset:m\n-- savedmodel:m\n", ".  tflite:m.int8\n"]


def test_failure_is_one_line_and_the_traceback_waits_for_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --traceback a failure is one line plus a hint; the traceback is not shown."""
    reporter, out = report(monkeypatch)
    task = Task("tflite:digits_mlp.int8", [noop])
    reporter.execute_task(task)
    reporter.add_failure(task, unexpected_error())
    reporter.complete_run()
    text = out.getvalue()
    assert text.splitlines()[1].startswith("   tflite:digits_mlp.int8 FAILED after ")
    assert text.splitlines()[2] == "digits_mlp.int8 (modelspecs/digits_mlp.toml): unexpected ValueError: shape mismatch"
    assert "Traceback" not in text and "--traceback" in text


def test_traceback_comes_after_the_one_line_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """With --traceback (TFLMAKE_TRACEBACK) the traceback follows, after the summary line."""
    reporter, out = report(monkeypatch, traceback=True)
    task = Task("tflite:digits_mlp.int8", [noop])
    reporter.execute_task(task)
    reporter.add_failure(task, unexpected_error())
    reporter.complete_run()
    text = out.getvalue()
    assert text.index("unexpected ValueError") < text.index("Traceback (most recent call last)")
    assert "raise ValueError" in text


def test_multi_line_failures_show_every_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken spec's failure lists each of its problems."""
    reporter, out = report(monkeypatch)
    task = Task("spec:broken", [noop])
    reporter.execute_task(task)
    reporter.add_failure(task, TaskFailed("b.toml: dataset.seed: bad\nb.toml: variant[0].name: bad"))
    assert out.getvalue().splitlines()[1:] == ["   spec:broken FAILED after 0.0s", "b.toml: dataset.seed: bad",
                                               "b.toml: variant[0].name: bad"]


def test_summary_counts_built_up_to_date_failed_and_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line counts each outcome; tasks blocked by a failure say which task they need."""
    reporter, out = report(monkeypatch)
    built, current, failed, blocked = (Task(name, [noop]) for name in
                                       ("dataset:m", "dataset:n", "savedmodel:m", "tflite:m.int8"))
    group = Task("tflite", None, has_subtask=True)  # as doit makes a basename's group task
    for task in (built, failed):
        reporter.execute_task(task)
    reporter.add_success(built)
    reporter.skip_uptodate(current)
    reporter.add_failure(failed, TaskFailed("m (m.toml): train.optimizer: unknown"))
    reporter.add_failure(blocked, UnmetDependency("savedmodel:m"))
    reporter.add_success(group)
    reporter.skip_uptodate(group)
    reporter.complete_run()
    lines = out.getvalue().splitlines()
    assert "   tflite:m.int8 not built: it needs savedmodel:m, which failed" in lines
    assert "-- tflite" not in lines, "a group task is listed through its subtasks only"
    assert lines[-1].startswith("tflmake: 1 built, 1 up to date, 1 failed, 1 blocked (")


def test_up_to_date_tasks_keep_their_actions_unbuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting an up-to-date task does not make doit build its action objects (costly at 600 tasks)."""
    reporter, _ = report(monkeypatch)
    task = Task("dataset:m", [noop])
    reporter.skip_uptodate(task)
    assert task._action_instances is None  # doit's lazy cache behind `task.actions`


def test_restored_tasks_are_counted_apart_from_built_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task whose action returned the cache's RESTORED result says so, and the summary counts it."""
    from tflmake.cache import RESTORED, SETTINGS_ENV

    monkeypatch.setenv(SETTINGS_ENV, "{}")
    reporter, out = report(monkeypatch)
    built, restored = Task("tflite:m.int8", [noop]), Task("dataset:m", [noop])
    restored.result = RESTORED
    for task in (built, restored):
        reporter.execute_task(task)
        reporter.add_success(task)
    reporter.complete_run()
    lines = out.getvalue().splitlines()
    assert lines[3].startswith("   dataset:m restored from cache in ")
    assert lines[-1].startswith("tflmake: 1 built, 1 restored from cache, 0 up to date, 0 failed (")


def test_summary_leaves_out_the_cache_when_none_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from tflmake.cache import SETTINGS_ENV

    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    reporter, out = report(monkeypatch)
    reporter.complete_run()
    assert out.getvalue().startswith("tflmake: 0 built, 0 up to date, 0 failed (")


def test_a_blocked_project_report_is_announced_once_as_built_from_what_exists(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """When a failed model blocks the summary, the build says only that it was built from what exists."""
    monkeypatch.setattr("tflmake.engine.runner.run_project_step", lambda *args: None)
    reporter, out = report(monkeypatch)
    failed = Task("savedmodel:m", [noop])
    summary = Task("summary", [noop], meta={PROJECT_META: ([], Layout(tmp_path.as_posix()))})
    reporter.initialize({"summary": summary, failed.name: failed}, [])
    reporter.execute_task(failed)
    reporter.add_failure(failed, TaskFailed("m (m.toml): train.optimizer: unknown"))
    reporter.add_failure(summary, UnmetDependency("report:m"))
    reporter.complete_run()
    lines = out.getvalue().splitlines()
    assert [line for line in lines if "summary" in line] == ["   summary built from what exists; failed: m"]
    assert lines[-1].startswith("tflmake: 1 built, 0 up to date, 1 failed (")


def full_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[TflmakeReporter, dict[str, Task],
                                                                         list[tuple[Any, ...]]]:
    """A reporter over one model's two tasks and the summary, in a run that expects the no-op record;
    the calls the reporter makes to write it."""
    from tflmake.engine import noop as record

    monkeypatch.chdir(tmp_path)  # the record of failures is written to build/
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(record, "write_record", lambda *args: calls.append(args) or True)
    monkeypatch.setattr(record, "_expected", ("context", "build", ()))
    reporter, _ = report(monkeypatch)
    tasks = {"dataset:m": Task("dataset:m", [noop], file_dep=["data/x.csv"], targets=["build/m/dataset.npz"]),
             "tflite:m.int8": Task("tflite:m.int8", [noop], file_dep=["build/m/dataset.npz"],
                                   targets=["build/m/int8.tflite"]),
             "summary": Task("summary", [noop], meta={PROJECT_META: ([], Layout("build"))})}
    reporter.initialize(tasks, [])
    return reporter, tasks, calls


def test_a_full_build_that_succeeds_writes_the_no_op_record(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every task built or up to date: the record gets what was read, what was written (with the stat
    doit saved) and the no-op's counts."""
    reporter, tasks, calls = full_build(monkeypatch, tmp_path)
    reporter.skip_uptodate(tasks["dataset:m"])
    built = tasks["tflite:m.int8"]
    built.values = {"targets": {"build/m/int8.tflite": [1200, 7, "sha"]}}
    for task in (built, tasks["summary"]):
        reporter.execute_task(task)
        reporter.add_success(task)
    reporter.complete_run()
    [(build_dir, summary, depends, outputs)] = calls
    assert build_dir == "build" and summary == "0 built, 3 up to date, 0 failed"
    assert depends == {"data/x.csv", "build/m/dataset.npz"}
    assert outputs == {"build/.doit.db": None, "build/m/int8.tflite": (1200, 7)}


def test_a_failed_task_writes_no_record(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    reporter, tasks, calls = full_build(monkeypatch, tmp_path)
    reporter.skip_uptodate(tasks["dataset:m"])
    reporter.skip_uptodate(tasks["summary"])
    reporter.execute_task(tasks["tflite:m.int8"])
    reporter.add_failure(tasks["tflite:m.int8"], TaskFailed("m.int8 (m.toml): cannot convert"))
    reporter.complete_run()
    assert calls == []


def test_a_partial_build_writes_no_record(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A run that did not check every task (a target selected, default tasks) proves nothing about the rest."""
    reporter, tasks, calls = full_build(monkeypatch, tmp_path)
    reporter.skip_uptodate(tasks["dataset:m"])
    reporter.skip_uptodate(tasks["tflite:m.int8"])
    reporter.complete_run()
    assert calls == []
