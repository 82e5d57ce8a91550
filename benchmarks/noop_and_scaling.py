"""No-op and clean-build times as the number of specs grows (issue 6, benchmarks 1 and 5).

    python benchmarks/noop_and_scaling.py           # 1 and 3 specs, about a minute
    python benchmarks/noop_and_scaling.py --full    # 1, 10 and 50 specs (the BENCHMARKS.md figures)

For each size: a clean `doit` of N digits_mlp copies, then the median of 9 no-op
`doit` runs, each right after a `python -c "import doit"` (the baseline, whose
median is the ratio's denominator), the median of 5 `doit list --all`, and
whether the no-op imported TensorFlow or Keras.
`--instructions` adds valgrind's instruction counts of the no-op and the baseline
(exact where wall times move with the machine's load), `--syscalls` strace's
count of their system calls (the kernel time instructions leave out);
`--rounds` sets the number of paired runs; `--no-bytecode-cache` runs
everything with PYTHONDONTWRITEBYTECODE=1 (see harness.environment).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import (
    DOIT,
    IMPORT_DOIT,
    cleanup,
    imports_tensorflow,
    instructions,
    make_project,
    median_time,
    paired_median_times,
    run,
    system_calls,
    use_bytecode_cache,
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1, 10 and 50 specs")
    parser.add_argument("--sizes", type=int, nargs="*", help="explicit spec counts")
    parser.add_argument("--keep", action="store_true", help="keep the built projects (for profiling)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions with valgrind")
    parser.add_argument("--syscalls", action="store_true", help="also count system calls with strace")
    parser.add_argument("--rounds", type=int, default=9, help="paired no-op / baseline runs (default 9)")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="run with PYTHONDONTWRITEBYTECODE=1")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([1, 10, 50] if args.full else [1, 3])
    use_bytecode_cache(not args.no_bytecode_cache)
    baseline_instructions = instructions(IMPORT_DOIT, Path.cwd()) if args.instructions else None
    if baseline_instructions:
        print(f"baseline python -c 'import doit': {baseline_instructions / 1e6:.0f}M instructions")
    baseline_calls = system_calls(IMPORT_DOIT, Path.cwd()) if args.syscalls else None
    if baseline_calls:
        print(f"baseline python -c 'import doit': {baseline_calls} system calls")
    print("specs | clean build (s) | per spec (s) | import doit (s) | no-op (s) | no-op / import doit | "
          "list --all (s) | TF imported")
    for size in sizes:
        project = make_project(size)
        clean = run(DOIT, project)
        baseline, noop = paired_median_times(IMPORT_DOIT, DOIT, project, repeat=args.rounds)
        listing = median_time([*DOIT, "list", "--all"], project, repeat=5)
        heavy = imports_tensorflow(project)
        print(f"{size:5d} | {clean:15.1f} | {clean / size:12.1f} | {baseline:15.3f} | {noop:9.3f} | "
              f"{noop / baseline:19.2f} | {listing:14.3f} | {'yes' if heavy else 'no'}", flush=True)
        if baseline_instructions:
            counted = instructions(DOIT, project)
            if counted:
                print(f"      no-op: {counted / 1e6:.0f}M instructions, "
                      f"{counted / baseline_instructions:.2f}x the baseline's", flush=True)
        if baseline_calls:
            calls = system_calls(DOIT, project)
            if calls:
                print(f"      no-op: {calls} system calls, {calls / baseline_calls:.2f}x the baseline's", flush=True)
        if args.keep:
            print(f"      kept {project}")
        else:
            cleanup(project)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
