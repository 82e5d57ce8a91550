"""`tflmake status` words: doit's reasons become spec keys, files and tools; one line per target."""

from __future__ import annotations

from pathlib import Path

from tflmake.commands.status import PENDING, STALE, UP_TO_DATE, TargetStatus, explain, format_statuses
from tflmake.engine.fingerprint import key_and_targets_unchanged
from tflmake.engine.fragment import FRAGMENT_VALUE


def test_explain_names_the_changed_spec_key_and_files() -> None:
    """A changed fragment key, a changed input (with its producer), a missing and a new input."""
    checker = key_and_targets_unchanged({"train": {"epochs": 6}})
    saved = {FRAGMENT_VALUE: '{"train": {"epochs": 5}}'}
    reasons = {"uptodate_false": [(checker, (), {})],
               "changed_file_dep": ["build/m/dataset.npz", "data/x.npz"],
               "missing_file_dep": ["build/m/representative.npz", "data/gone.npz"],
               "added_file_dep": ["helpers.py"]}
    producer = {"build/m/dataset.npz": "dataset:m", "build/m/representative.npz": "representative:m"}
    assert explain(reasons, saved, producer) == [
        "train.epochs: 5 -> 6",
        "input changed: build/m/dataset.npz (rebuilt by dataset:m)",
        "input changed: data/x.npz",
        "waits for representative:m",
        "input missing: data/gone.npz",
        "new input: helpers.py"]


def test_explain_says_an_output_was_edited_when_the_key_is_the_same() -> None:
    """Same key, checker false: the only other cause is a target whose bytes changed."""
    checker = key_and_targets_unchanged({"a": 1})
    assert explain({"uptodate_false": [(checker, (), {})]}, {FRAGMENT_VALUE: '{"a": 1}'}, {}) == [
        "an output changed since it was built (edited by hand?)"]


def test_format_statuses_aligns_tasks_and_counts_the_current_ones() -> None:
    statuses = [TargetStatus("dataset:m", UP_TO_DATE),
                TargetStatus("savedmodel:m", STALE, ("train.epochs: 5 -> 6", "new input: a.py")),
                TargetStatus("tflite:m.int8", PENDING, ("after savedmodel:m rebuilds, if its output changes",))]
    assert format_statuses(statuses).splitlines() == [
        "up to date  dataset:m",
        "stale       savedmodel:m   train.epochs: 5 -> 6; new input: a.py",
        "pending     tflite:m.int8  after savedmodel:m rebuilds, if its output changes",
        "1 of 3 targets up to date"]
    assert format_statuses([]) == "no targets (no specs found)\n"


def test_a_new_input_file_is_named_once(tmp_path: Path) -> None:
    """A file added to a built task's inputs is one "new input" line, not also "input changed"."""
    from doit.dependency import Dependency, MD5Checker, SqliteDB
    from doit.task import Task

    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text("a")
    new.write_text("b")
    manager = Dependency(SqliteDB, (tmp_path / "state.db").as_posix(), checker_cls=MD5Checker)
    built = Task("dataset:m", None, file_dep=[old.as_posix()])
    built.values = {}
    manager.save_success(built)
    grown = Task("dataset:m", None, file_dep=[old.as_posix(), new.as_posix()])
    reasons = manager.get_status(grown, {}, get_log=True).reasons
    assert explain(reasons, {}, {}) == [f"new input: {new.as_posix()}"]
