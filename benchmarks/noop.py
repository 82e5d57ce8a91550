"""The no-op answered from the no-op record (issue 21 §1) against `python -c "import doit"` and `python -c pass`.

    python benchmarks/noop.py --sizes 1 10 50 --rounds 31 --instructions --projects /tmp/noop-projects

For each size, N digits_mlp copies are built once (`tflmake -n 2`; about 7 minutes
for 50 here; `--projects DIR` keeps them in DIR/specs-N and reuses them), then
copied three times (`cp -a`: each copy is its own folder, so each keeps its own
record): A answers `tflmake`, B answers `doit` (the dodo.py shim), C runs the
no-op through doit's checks as before the record (`doit` with TFLMAKE_CHECK_ALL=1,
which neither reads nor writes it). Each copy runs once to write its record; then
`--rounds` rounds alternate the commands below, so all see the same machine load,
and each answered run must have printed the record's line. Medians; each ratio is
against the median of `python -c "import doit"` in the same rounds.
`--instructions` adds valgrind's instruction count of one run of each.
Bytecode caching is on (harness.environment).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import ENVIRONMENT, cleanup, instructions, make_project

PYTHON = sys.executable
SCRIPT = os.path.join(os.path.dirname(PYTHON), "tflmake")
ANSWERED = "nothing changed since the last build"
CHECK_ALL = {**ENVIRONMENT, "TFLMAKE_CHECK_ALL": "1"}

# name, command, project copy (None: the working directory), environment, whether the record answers it
COMMANDS = [
    ("python -c pass", [PYTHON, "-c", "pass"], None, ENVIRONMENT, None),
    ('python -c "import doit"', [PYTHON, "-c", "import doit"], None, ENVIRONMENT, None),
    ("tflmake (python -m tflmake)", [PYTHON, "-m", "tflmake"], "a", ENVIRONMENT, True),
    ("tflmake (installed script)", [SCRIPT], "a", ENVIRONMENT, True),
    ("doit (dodo.py shim)", [PYTHON, "-m", "doit"], "b", ENVIRONMENT, True),
    ("doit, every task checked (before)", [PYTHON, "-m", "doit"], "c", CHECK_ALL, False),
]


def built_project(size: int, projects: Path | None) -> Path:
    root = (projects / f"specs-{size}") if projects else None
    if root is not None and (root / "build" / ".doit.db").exists():
        return root
    project = make_project(size, root)
    result = subprocess.run([PYTHON, "-m", "tflmake", "-n", "2"], cwd=project, env=ENVIRONMENT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"building {size} specs failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return project


def timed(command: list[str], cwd: Path, env: dict[str, str], answered: bool | None) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or (answered is not None and (ANSWERED in result.stdout) != answered):
        raise SystemExit(f"{' '.join(command)} in {cwd}: exit {result.returncode}, "
                         f"{'not ' if answered else ''}answered from the record:\n{result.stdout[-2000:]}"
                         f"{result.stderr[-2000:]}\n{record_differences(cwd)}")
    return elapsed


def record_differences(project: Path) -> str:
    """What differs from the project's no-op record: why a run was not answered from it."""
    import marshal

    try:
        with open(project / "build" / ".noop-record", "rb") as file:
            _, _, _, paths, keys = marshal.load(file)
    except OSError as error:
        return f"no record: {error}"
    lines = []
    for path, key in zip(paths, keys, strict=True):
        try:
            found = os.stat(project / path)
            current: tuple[int, ...] | None = (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
        except OSError:
            current = None
        if current != key:
            lines.append(f"{path}: recorded {key}, now {current}")
    return "\n".join(lines) or "every recorded path is unchanged (the context differs, or a build held the lock)"


def measure(size: int, project: Path, rounds: int, count_instructions: bool) -> None:
    work = Path(project.parent / f"{project.name}-copies")
    shutil.rmtree(work, ignore_errors=True)
    copies = {}
    for name in ("a", "b", "c"):
        copies[name] = work / name
        shutil.copytree(project, copies[name], symlinks=True)
    time.sleep(0.1)  # the record proves nothing about files written within a clock tick of a run's start
    for _, command, copy, env, answered in COMMANDS:
        if answered:  # the first run in a copy goes through doit's checks and writes the record
            subprocess.run(command, cwd=copies[copy], env=env, capture_output=True, check=True)
    times: dict[str, list[float]] = {name: [] for name, *_ in COMMANDS}
    for _ in range(rounds):
        for name, command, copy, env, answered in COMMANDS:
            times[name].append(timed(command, copies[copy] if copy else Path.cwd(), env, answered))
    baseline = statistics.median(times['python -c "import doit"'])
    print(f"\n{size} specs ({rounds} rounds, medians)")
    print("| command | wall time | / `import doit` | instructions | / `import doit` |")
    print("|---|---:|---:|---:|---:|")
    counts = {name: instructions(command, copies[copy] if copy else Path.cwd(), env) if count_instructions else None
              for name, command, copy, env, _ in COMMANDS}
    counted_baseline = counts['python -c "import doit"']
    for name, *_ in COMMANDS:
        median = statistics.median(times[name])
        counted = counts[name]
        count_text = f"{counted / 1e6:.0f}M" if counted else "-"
        ratio_text = f"{counted / counted_baseline:.2f}x" if counted and counted_baseline else "-"
        print(f"| {name} | {median * 1000:.1f} ms | {median / baseline:.2f}x | {count_text} | {ratio_text} |",
              flush=True)
    shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 10, 50], help="spec counts (default 1 10 50)")
    parser.add_argument("--rounds", type=int, default=31, help="alternated rounds (default 31)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions with valgrind")
    parser.add_argument("--projects", type=Path, help="keep the built projects here and reuse them")
    args = parser.parse_args(argv)
    for size in args.sizes:
        project = built_project(size, args.projects)
        try:
            measure(size, project, args.rounds, args.instructions)
        finally:
            if args.projects is None:
                cleanup(project)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
