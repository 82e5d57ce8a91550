"""`python benchmarks/timed_tflmake.py ARGS`: `tflmake ARGS`, timing its cache path to the microsecond.

tflmake prints each task's duration to 0.1 s, too coarse for restores of a few
milliseconds. This runs tflmake in this process with
`tflmake.cache.action.run_cached` (imported by the build step when a task runs)
wrapped in a timer, and prints on stderr at exit:

    timed_tflmake: cache path: <calls> calls, <wall> s wall, <cpu> s cpu, first call <first> s wall

wall: summed time inside run_cached (key, lookups, fetches, verification,
renames; in a build that misses, the local build too); cpu: the process's CPU
time over the same spans (all threads, so s3fs's I/O thread too); first call:
the first run_cached alone, which also opens the store (imports fsspec, and
s3fs with its botocore session for S3). For serial builds only: `-n` workers
are other processes.
"""

from __future__ import annotations

import atexit
import runpy
import sys
import time
from typing import Any

import tflmake.cache.action as action

spent = {"calls": 0, "wall": 0.0, "cpu": 0.0, "first": 0.0}
original = action.run_cached


def timed_run_cached(*args: Any, **kwargs: Any) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        return original(*args, **kwargs)
    finally:
        elapsed = time.perf_counter() - wall
        spent["first"] = spent["first"] or elapsed
        spent["calls"] += 1
        spent["wall"] += elapsed
        spent["cpu"] += time.process_time() - cpu


def report() -> None:
    print(f"timed_tflmake: cache path: {spent['calls']} calls, {spent['wall']:.4f} s wall, {spent['cpu']:.4f} s cpu, "
          f"first call {spent['first']:.4f} s wall", file=sys.stderr, flush=True)


action.run_cached = timed_run_cached  # type: ignore[assignment]
atexit.register(report)
sys.argv = ["tflmake", *sys.argv[1:]]
runpy.run_module("tflmake", run_name="__main__", alter_sys=True)
