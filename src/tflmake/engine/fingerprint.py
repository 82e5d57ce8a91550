"""Content fingerprints of artifacts: notice a target edited or truncated by hand."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tflmake.digest import sha256_file
from tflmake.engine.filestats import file_stat
from tflmake.engine.fragment import fragment_changed

FileRecord = list[Any]  # [size, mtime_ns, sha256]


def file_record(path: str) -> FileRecord:
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns, sha256_file(path)]


def record_targets(targets: list[str]) -> dict[str, FileRecord]:
    """What a task saves after building: each target's size, mtime and sha256."""
    return {target: file_record(target) for target in targets if Path(target).is_file()}


def targets_intact(task: Any, values: dict[str, Any]) -> bool:
    """doit uptodate check: every target still has the bytes the task wrote.

    Size and mtime are compared first, so a no-op build hashes nothing; a file
    whose stat changed is hashed, so `touch` alone does not force a rebuild.
    """
    recorded: dict[str, FileRecord] | None = values.get("targets")
    if recorded is None:
        return False
    for target, (size, mtime_ns, digest) in recorded.items():
        stat = file_stat(target)
        if stat is None:
            return False
        if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns) and (
                stat.st_size != size or sha256_file(target) != digest):
            return False
    return True


class key_and_targets_unchanged(fragment_changed):  # noqa: N801 (named like doit's config_changed)
    """The one uptodate check of an artifact task: its spec fragment, then its targets' bytes.

    One checker instead of two because doit does per-checker work for every
    task on every run (48 ms of a 50-spec no-op with two, before the stated signature).
    """

    def configure_task(self, task: Any) -> None:
        super().configure_task(task)
        # Saved with the task's values after it succeeds. A saver rather than the
        # action's return value, which doit would store twice (as values and as "result:").
        task.value_savers.append(lambda: {"targets": record_targets(task.targets)})

    def __call__(self, task: Any, values: dict[str, Any]) -> bool:
        return super().__call__(task, values) and targets_intact(task, values)
