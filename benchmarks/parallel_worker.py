"""`-n 2` against a serial build with the warm worker on (issue 21 §4), on one- and two-model projects.

    python benchmarks/parallel_worker.py --rounds 3 --first-rounds 3 --local-cache off

Projects of 1 and 2 copies of digits_mlp. Per project size: `--first-rounds` first builds of each command,
alternated, each in a fresh project (no worker yet: the build starts them; they are stopped after it but
for the last round's), then `--rounds` clean rebuilds through the last round's warm workers,
serial and `-n 2` alternated (the build folder emptied but for the workers' files). Each project has a
local cache of its own, empty at first: with `--local-cache on` (tflmake's default) a clean rebuild
restores the artifacts and runs manifest and evaluate; with `off` it builds every step. Medians are
printed as a Markdown table with the load average and the workers serving each project at the end; the
`.tflite` files of serial and `-n 2` must be equal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import harness
from harness import digests, make_project, run

from tflmake.paths import Layout

TFLMAKE = [sys.executable, "-m", "tflmake"]


def empty_but_warm(build: Path) -> None:
    for entry in build.iterdir():
        if not Layout(str(build)).is_worker_file(entry.name):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def workers(project: Path) -> int:
    """How many warm workers serve the project (a line each in `tflmake worker status`)."""
    status = subprocess.run([*TFLMAKE, "worker", "status"], cwd=project, capture_output=True, text=True,
                            env=harness.ENVIRONMENT)
    return sum(line.startswith("worker") for line in status.stdout.splitlines())


def stop_workers(projects: dict[str, Path]) -> None:
    for project in projects.values():
        subprocess.run([*TFLMAKE, "worker", "stop"], cwd=project, capture_output=True, env=harness.ENVIRONMENT)


def timed(command: list[str], project: Path, scratch: Path) -> float:
    """Wall time of `command` in `project`, with the project's own local cache."""
    harness.ENVIRONMENT["TFLMAKE_CACHE_LOCAL_DIR"] = str(scratch / f"{project.name}-cache")
    return run(command, project)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--first-rounds", type=int, default=1)
    parser.add_argument("--models", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--local-cache", choices=("on", "off"), default="off")
    args = parser.parse_args(argv)
    harness.ENVIRONMENT.pop("TFLMAKE_WORKER", None)  # on, as by default
    harness.ENVIRONMENT["TFLMAKE_WORKER_IDLE"] = "300"
    harness.ENVIRONMENT["TFLMAKE_CACHE_LOCAL"] = "1" if args.local_cache == "on" else "0"
    print(f"load average before: {os.getloadavg()[0]:.2f}; local cache {args.local_cache}")
    print("| models | first build: serial | first build: `-n 2` | warm: serial | warm: `-n 2` "
          "| `-n 2` / serial (warm) | workers (serial, `-n 2`) | `.tflite` equal |")
    print("|---:|---:|---:|---:|---:|---:|---|---|")
    same_everywhere = True
    for count in args.models:
        projects: dict[str, Path] = {}
        scratch = Path(tempfile.mkdtemp(prefix="tflmake-par-worker-"))
        commands = {"serial": TFLMAKE, "n2": [*TFLMAKE, "-n", "2"]}
        firsts: dict[str, list[float]] = {"serial": [], "n2": []}
        for round_ in range(args.first_rounds):
            if round_:
                stop_workers(projects)
            projects = {name: make_project(count, scratch / f"{name}-{round_}") for name in commands}
            for name in commands:
                firsts[name].append(timed(commands[name], projects[name], scratch))
        first = {name: statistics.median(firsts[name]) for name in commands}
        same = digests(projects["serial"] / "build") == digests(projects["n2"] / "build")
        times: dict[str, list[float]] = {"serial": [], "n2": []}
        for _ in range(args.rounds):
            for name in ("serial", "n2"):
                empty_but_warm(projects[name] / "build")
                times[name].append(timed(commands[name], projects[name], scratch))
        same = same and digests(projects["serial"] / "build") == digests(projects["n2"] / "build")
        same_everywhere = same_everywhere and same
        serial, parallel = statistics.median(times["serial"]), statistics.median(times["n2"])
        print(f"| {count} | {first['serial']:.1f} s | {first['n2']:.1f} s | {serial:.1f} s | {parallel:.1f} s "
              f"| {parallel / serial:.2f}x | {workers(projects['serial'])}, {workers(projects['n2'])} "
              f"| {'yes' if same else 'NO'} |", flush=True)
        print(f"<!-- first builds: serial {[round(t, 1) for t in firsts['serial']]}, "
              f"-n 2 {[round(t, 1) for t in firsts['n2']]}; rounds: serial {[round(t, 1) for t in times['serial']]}, "
              f"-n 2 {[round(t, 1) for t in times['n2']]} -->", flush=True)
        stop_workers(projects)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0 if same_everywhere else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
