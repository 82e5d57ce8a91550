"""Shared artifact cache: hit builds from S3 with two versions of tflmake's code, interleaved.

    python benchmarks/cache_batch.py --before /tmp/src-old/src --after /tmp/src-new/src \\
        --clean /tmp/bench/clean50 --specs 10 --rounds 3

Compares, say, one model's cache lookups batched (after) against one lookup per
task (before). Each code's `tflmake cache push` fills an S3 bucket of its own
(SeaweedFS on loopback, as in benchmarks/cache.py) from `--clean`, a checkout a
clean build left up to date (benchmarks/cache.py --fill push --clean-dir keeps
one; its m000..m<N-1> are the models restored). Then, for each round, a fresh
checkout of N digits_mlp copies per code runs a read-only hit build against its
own code's bucket, the two codes alternating so both see the same machine load.
Reported: medians of the hit build's wall time and of its summed cacheable-task
times (the per-task durations tflmake prints), with every round's values.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from cache import build, checkout, load_average, push, store_cache, summary_line
from harness import ENVIRONMENT
from tests.s3server import start_s3_server  # importable once cache is (it puts the repository on sys.path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="src/ folder of the code before")
    parser.add_argument("--after", type=Path, required=True, help="src/ folder of the code after")
    parser.add_argument("--clean", type=Path, required=True, help="a checkout a clean build left up to date")
    parser.add_argument("--specs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    codes = {"before": args.before.resolve(), "after": args.after.resolve()}
    environments = {name: {**ENVIRONMENT, "PYTHONPATH": str(src)} for name, src in codes.items()}
    work = Path(tempfile.mkdtemp(prefix="tflmake-bench-batch-"))
    server = start_s3_server(work / "s3")
    try:
        caches = {}
        for name in codes:
            caches[name] = store_cache("s3", server, work)
            wall, pushed = push(args.clean, caches[name], environments[name])
            print(f"{name}: push {wall:.1f} s ({pushed})", flush=True)
        walls: dict[str, list[float]] = {name: [] for name in codes}
        tasks: dict[str, list[float]] = {name: [] for name in codes}
        for number in range(args.rounds):
            for name in codes:
                before = load_average()
                root = checkout(work / f"hit-{name}-{number}", args.specs, {**caches[name], "mode": "read"})
                wall, task_time, output = build(root, env=environments[name])
                walls[name].append(wall)
                tasks[name].append(task_time)
                print(f"round {number}: {name}: hit wall {wall:.2f} s, hit tasks {task_time:.2f} s "
                      f"({summary_line(output)}; load {before} -> {load_average()})", flush=True)
                shutil.rmtree(root)
        print("| code | rounds | hit wall, median | hit tasks, median | hit walls | hit tasks |")
        print("|---|---|---|---|---|---|")
        for name in codes:
            print(f"| {name} | {args.rounds} | {statistics.median(walls[name]):.2f} s | "
                  f"{statistics.median(tasks[name]):.2f} s | {', '.join(f'{w:.2f}' for w in walls[name])} | "
                  f"{', '.join(f'{t:.2f}' for t in tasks[name])} |")
        print(f"after / before, medians: hit wall "
              f"{statistics.median(walls['after']) / statistics.median(walls['before']):.3f}, hit tasks "
              f"{statistics.median(tasks['after']) / statistics.median(tasks['before']):.3f}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
