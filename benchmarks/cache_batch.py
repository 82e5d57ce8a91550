"""Shared artifact cache: hit builds from S3 with several versions of tflmake's code, interleaved.

    python benchmarks/cache_batch.py --code before=/tmp/src-old/src --code after=/tmp/src-new/src \\
        --clean /tmp/bench/clean50 --specs 10 --rounds 5

Compares, say, one model's cache lookups batched (after) against one lookup per
task (before): each `--code NAME=SRC` is a `src/` folder (a commit's, frozen
with `git archive`). Each code's `tflmake cache push` fills an S3 bucket of its
own (SeaweedFS on loopback, as in benchmarks/cache.py; `--store folder`: a
folder cache of its own) from `--clean`, a
checkout a clean build left up to date (benchmarks/cache.py --fill push
--clean-dir keeps one; its m000..m<N-1> are the models restored). Then, for
each round, a fresh checkout of N digits_mlp copies per code runs a read-only
hit build against its own code's bucket, the codes alternating so all see the
same machine load, and another fresh checkout per code runs
`tflmake tflite carray`: the cacheable tasks alone (start-up and restores, no
evaluation). Both builds run under benchmarks/timed_tflmake.py, which sums the
time spent in the cache path (run_cached: keys, lookups, fetches,
verification, renames) to the microsecond, wall and CPU.
Reported: medians of the hit build's wall time, of its summed cacheable-task
times (the per-task durations tflmake prints, each to 0.1 s: a restore under
50 ms counts as 0, so this sum favours many short restores over a few longer
ones), of the cache path's wall and CPU time in the hit build (and its wall
time after the first call, which opens the store), and of the cacheable-only
build's wall time, with every round's values and each code's ratio to the
first code's. Loopback has next to no latency; benchmarks/cache_lookups.py
measures through a delaying proxy.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from cache import (
    CACHEABLE_ONLY,
    TIMED,
    build,
    cache_path,
    checkout,
    load_average,
    push,
    store_cache,
    summary_line,
)
from harness import ENVIRONMENT
from tests.s3server import start_s3_server  # importable once cache is (it puts the repository on sys.path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", action="append", required=True, metavar="NAME=SRC",
                        help="a version of the code: a name and its src/ folder (twice or more)")
    parser.add_argument("--clean", type=Path, required=True, help="a checkout a clean build left up to date")
    parser.add_argument("--specs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", choices=["s3", "folder"], default="s3")
    args = parser.parse_args(argv)
    codes = {name: Path(src).resolve() for name, src in (code.split("=", 1) for code in args.code)}
    environments = {name: {**ENVIRONMENT, "PYTHONPATH": str(src)} for name, src in codes.items()}
    work = Path(tempfile.mkdtemp(prefix="tflmake-bench-batch-"))
    server = start_s3_server(work / "s3") if args.store == "s3" else None
    try:
        caches = {}
        for name in codes:
            caches[name] = {**store_cache(args.store, server, work / f"cache-{name}"), "mode": "read"}
            wall, pushed = push(args.clean, caches[name], environments[name])
            print(f"{name}: push {wall:.1f} s ({pushed})", flush=True)
        compare(work, caches, environments, args.specs, args.rounds)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def compare(work: Path, caches: dict[str, dict[str, Any]], environments: dict[str, dict[str, str]],
            specs: int, rounds: int) -> None:
    """Hit builds of every code, alternating, `rounds` times; prints each round and the medians."""
    names = ("wall", "tasks", "path", "path cpu", "after first", "only")
    figures: dict[str, dict[str, list[float]]] = {name: {figure: [] for figure in names} for name in caches}
    for number in range(rounds):
        for name in caches:
            before = load_average()
            root = checkout(work / f"hit-{name}-{number}", specs, caches[name])
            wall, task_time, output = build(root, env=environments[name], program=TIMED)
            only_root = checkout(work / f"only-{name}-{number}", specs, caches[name])
            only, _, only_output = build(only_root, *CACHEABLE_ONLY, env=environments[name], program=TIMED)
            path, path_cpu, first = cache_path(output)
            for figure, value in zip(names, (wall, task_time, path, path_cpu, path - first, only), strict=True):
                figures[name][figure].append(value)
            print(f"round {number}: {name}: hit wall {wall:.2f} s, hit tasks {task_time:.2f} s, "
                  f"cache path {path:.3f} s ({path_cpu:.3f} s cpu; {path - first:.3f} s after the first call), "
                  f"cacheable only {only:.2f} s ({summary_line(output)}; {summary_line(only_output)}; "
                  f"load {before} -> {load_average()})", flush=True)
            shutil.rmtree(root)
            shutil.rmtree(only_root)
    medians = {name: {figure: statistics.median(values) for figure, values in by_figure.items()}
               for name, by_figure in figures.items()}
    print(f"medians of {rounds} rounds:")
    print("| code | hit wall | hit tasks | cache path | cache path, cpu | cache path after the first call | "
          "cacheable only |")
    print("|---|---|---|---|---|---|---|")
    for name in caches:
        print(f"| {name} | " + " | ".join(f"{medians[name][figure]:.3f} s" for figure in names) + " |")
    for name in caches:
        print(f"{name}, every round: " + "; ".join(
            f"{figure} " + ", ".join(f"{value:.3f}" for value in figures[name][figure]) for figure in names))
    first_code, *others = caches
    for name in others:
        listed = ", ".join(f"{figure} {medians[name][figure] / medians[first_code][figure]:.3f}"
                           if medians[first_code][figure] else f"{figure} n/a" for figure in names)
        print(f"{name} / {first_code}, medians: {listed}", flush=True)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
