"""File stats shared by the up-to-date checks of one run, between two task runs.

A 50-spec no-op stats each artifact up to nine times (as a target, as a
file_dep of each task downstream, in its fingerprint check): 4,350 stats of
750 files, ~2.7 us each here. Files change only when a task runs, so while
sharing is on (tflmake's doit backend turns it on when it opens and off when
it closes) a stat is kept until `forget`, which the backend calls whenever
doit saves or removes a task's state: exactly when a task has run.
"""

from __future__ import annotations

import errno
import os

from doit.dependency import MD5Checker as DoitMD5Checker

# Stats taken since the last task finished; None while sharing is off.
_stats: dict[str, os.stat_result | None] | None = None


def file_stat(path: str) -> os.stat_result | None:
    """os.stat of `path`, or None when it does not exist."""
    if _stats is not None and path in _stats:
        return _stats[path]
    try:
        result: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        result = None
    if _stats is not None:
        _stats[path] = result
    return result


def start_sharing() -> None:
    global _stats
    _stats = {}


def forget() -> None:
    """A task has run: any file may have changed."""
    if _stats is not None:
        _stats.clear()


def stop_sharing() -> None:
    global _stats
    _stats = None


class MD5Checker(DoitMD5Checker):
    """doit's default checker, its stats taken through `file_stat`.

    It keeps doit's class name: doit saves the checker's name with each task
    and rebuilds every task whose saved name differs.
    """

    def exists(self, file_path: str) -> bool:
        return file_stat(file_path) is not None

    def info(self, file_path: str) -> os.stat_result:
        stat = file_stat(file_path)
        if stat is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), file_path)
        return stat
