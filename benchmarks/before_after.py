"""Clean build and no-op of two tflmake commits on the same machine, interleaved (issue 14: no regression).

    python benchmarks/before_after.py --before 986ca20 --specs 10 --rounds 9 [--instructions]

Each commit is checked out with `git worktree` into a temp folder and run from
there (its `src/` first on PYTHONPATH; doit's backend is looked up in each tree).
For each commit a project of N digits_mlp copies is built clean (timed; the two
clean builds alternate over `--builds` rounds on fresh copies), then no-ops of
both alternate with `python -c "import doit"` for `--rounds`, so all three see
the same machine load. `--instructions` adds valgrind's exact instruction count
of one no-op each. The `after` side is the working tree this script lives in.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import DOIT, ENVIRONMENT, IMPORT_DOIT, REPO, instructions, make_project, run


def checkout(commit: str, folder: Path) -> Path:
    """`commit` checked out (detached) under `folder`.

    doit loads the backend the installed tflmake registers (`tflmake.engine.statedb`)
    before any dodo file; a tree from before the layered layout gets a module of that
    name that imports its own backend, so both commits run with tflmake's backend.
    """
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(folder), commit],
                   check=True, capture_output=True)
    engine = folder / "src" / "tflmake" / "engine"
    if not (engine / "statedb.py").exists():
        engine.mkdir(exist_ok=True)
        (engine / "__init__.py").write_text("")
        old_backend = "tflmake" + ".statedb"  # the module's name before the layered layout
        (engine / "statedb.py").write_text(f"from {old_backend} import StateDB  # noqa: F401\n")
    return folder


def environment_of(tree: Path) -> dict[str, str]:
    return {**ENVIRONMENT, "PYTHONPATH": str(tree / "src")}


def timed(command: list[str], project: Path, tree: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, env=environment_of(tree))
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} in {project} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the older commit")
    parser.add_argument("--specs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=9, help="alternated no-op rounds")
    parser.add_argument("--builds", type=int, default=1, help="alternated clean-build rounds")
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tflmake-before-after-"))
    trees = {"before": checkout(args.before, work / "before"), "after": REPO}
    try:
        builds: dict[str, list[float]] = {name: [] for name in trees}
        projects: dict[str, Path] = {}
        for round_ in range(args.builds):
            for name, tree in trees.items():
                project = make_project(args.specs, work / f"{name}-{round_}")
                (project / "dodo.py").write_text((tree / "dodo.py").read_text())  # each version's own shim
                builds[name].append(timed(DOIT, project, tree))
                projects[name] = project
        noops: dict[str, list[float]] = {name: [] for name in trees}
        baseline: list[float] = []
        for _ in range(args.rounds):
            baseline.append(run(IMPORT_DOIT, work))
            for name, tree in trees.items():
                noops[name].append(timed(DOIT, projects[name], tree))
        base = statistics.median(baseline)
        print(f"{args.specs} specs, {args.rounds} no-op rounds, {args.builds} clean build(s) each; "
              f"import doit {base:.3f} s")
        print("code | clean build (s) | no-op (s) | no-op / import doit | instructions")
        for name, tree in trees.items():
            counted = ""
            if args.instructions:
                counted = f"{instructions(DOIT, projects[name], environment_of(tree)) / 1e6:.0f}M"
            noop = statistics.median(noops[name])
            label = args.before if name == "before" else "working tree"
            print(f"{label} | {statistics.median(builds[name]):.1f} | {noop:.3f} | {noop / base:.2f}x | {counted}")
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(trees["before"])],
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
