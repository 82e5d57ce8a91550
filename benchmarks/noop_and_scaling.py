"""No-op and clean-build times as the number of specs grows (issue 6, benchmarks 1 and 5).

    python benchmarks/noop_and_scaling.py           # 1 and 3 specs, about a minute
    python benchmarks/noop_and_scaling.py --full    # 1, 10 and 50 specs (the BENCHMARKS.md figures)

For each size: a clean `doit` of N digits_mlp copies, then the median of 5 no-op
`doit` runs and of 5 `doit list --all`, against `python -c "import doit"` measured
in the same run; and whether the no-op imported TensorFlow or Keras.
"""

from __future__ import annotations

import argparse
import sys

from harness import DOIT, IMPORT_DOIT, cleanup, imports_tensorflow, make_project, median_time, run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1, 10 and 50 specs")
    parser.add_argument("--sizes", type=int, nargs="*", help="explicit spec counts")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([1, 10, 50] if args.full else [1, 3])
    baseline = median_time(IMPORT_DOIT, cwd=make_project(0), repeat=7)
    print(f"baseline python -c 'import doit': {baseline:.3f} s")
    print("specs | clean build (s) | per spec (s) | no-op (s) | no-op / import doit | list --all (s) | TF imported")
    for size in sizes:
        project = make_project(size)
        clean = run(DOIT, project)
        noop = median_time(DOIT, project, repeat=5)
        listing = median_time([*DOIT, "list", "--all"], project, repeat=5)
        heavy = imports_tensorflow(project)
        print(f"{size:5d} | {clean:15.1f} | {clean / size:12.1f} | {noop:9.3f} | {noop / baseline:19.2f} | "
              f"{listing:14.3f} | {'yes' if heavy else 'no'}", flush=True)
        cleanup(project)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
