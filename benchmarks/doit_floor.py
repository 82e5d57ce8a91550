"""What doit itself costs before tflmake does anything: the floor under the no-op ratio.

    python benchmarks/doit_floor.py               # 611 tasks, as 50 digits_mlp specs make
    python benchmarks/doit_floor.py --tasks 122   # as 10 specs make

Three commands, each against `python -c "import doit"`: doit with a dodo.py of
one empty task (doit's own start), and doit with N trivial up-to-date tasks
(one file_dep, one target each), run once to build and then timed as a no-op.
Wall times are medians of 9 alternated runs; instruction counts need valgrind.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from harness import DOIT, IMPORT_DOIT, cleanup, instructions, paired_median_times, run

ONE_EMPTY_TASK = '''
DOIT_CONFIG = {"backend": "sqlite3", "dep_file": ".doit.db"}
def task_nothing():
    return {"actions": None}
'''

TRIVIAL_TASKS = '''
import os
DOIT_CONFIG = {{"backend": "sqlite3", "dep_file": ".doit.db", "verbosity": 0}}
os.makedirs("out", exist_ok=True)
def touch(targets):
    for target in targets:
        open(target, "w").write("x")
def task_trivial():
    for index in range({count}):
        yield {{"name": str(index), "actions": [touch], "file_dep": ["dodo.py"],
               "targets": [f"out/{{index}}.txt"], "clean": True}}
'''


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=611, help="trivial tasks (611 = 50 digits_mlp specs)")
    args = parser.parse_args(argv)
    projects = {"doit, one empty task": ONE_EMPTY_TASK,
                f"doit, {args.tasks} trivial tasks": TRIVIAL_TASKS.format(count=args.tasks)}
    base_count = instructions(IMPORT_DOIT, Path.cwd())
    print("what runs | wall (s) | / import doit | instructions | / import doit")
    for label, dodo in projects.items():
        root = Path(tempfile.mkdtemp(prefix="tflmake-floor-"))
        (root / "dodo.py").write_text(dodo)
        run(DOIT, root)
        baseline, noop = paired_median_times(IMPORT_DOIT, DOIT, root, repeat=9)
        counted = instructions(DOIT, root)
        counts = (f"{counted / 1e6:.0f}M | {counted / base_count:.2f}x" if counted and base_count
                  else "- | -")
        print(f"{label} | {noop:.3f} | {noop / baseline:.2f}x | {counts}", flush=True)
        cleanup(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
