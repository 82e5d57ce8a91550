"""Going back with the local cache (issue 21 §5): an option changed and changed back, with and without it.

    python benchmarks/going_back.py               # 3 rounds, about 5 minutes
    python benchmarks/going_back.py --rounds 5

Two copies of a digits_mlp project, each built once by `tflmake`: one with the
local cache on (the default; a fresh cache folder of its own), one with it off
(TFLMAKE_CACHE_LOCAL=0, what tflmake did by default before). Each round, for
each edit (the int8 variant's `io_type` int8 -> uint8, `train.epochs` 5 -> 6):
edit and build both projects, then edit back and time `tflmake` in both,
alternated so both see the same machine load; `python -c "import tensorflow"`
is timed in the same rounds as the floor a rebuild that imports TensorFlow
cannot go under. The first "there" build of the cached project also fills its
cache, so from the second round on "there" is restored too (not timed).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ENVIRONMENT, make_project

TFLMAKE = [sys.executable, "-m", "tflmake"]
IMPORT_TENSORFLOW = [sys.executable, "-c", "import tensorflow"]
EDITS = {"io_type": ('io_type = "int8"', 'io_type = "uint8"'), "epochs": ("epochs = 5", "epochs = 6")}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Wall time and output of one command; fails loudly if the command fails."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return elapsed, result.stdout + result.stderr


def edit(project: Path, old: str, new: str) -> None:
    spec = project / "modelspecs" / "m000.toml"
    text = spec.read_text()
    assert old in text, old
    spec.write_text(text.replace(old, new))


def summary(output: str) -> str:
    return next((line for line in reversed(output.splitlines()) if line.startswith("tflmake: ")), "?")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="tflmake-going-back-"))
    on_env = {**ENVIRONMENT, "TFLMAKE_CACHE_LOCAL_DIR": str(scratch / "local-cache")}
    on_env.pop("TFLMAKE_CACHE_LOCAL", None)
    off_env = {**ENVIRONMENT, "TFLMAKE_CACHE_LOCAL": "0"}
    projects = {"local cache on": (make_project(1, scratch / "on"), on_env),
                "local cache off": (make_project(1, scratch / "off"), off_env)}
    for label, (project, env) in projects.items():
        seconds, output = timed(TFLMAKE, project, env)
        print(f"clean build, {label}: {seconds:.1f} s ({summary(output)})", flush=True)
    times: dict[str, list[float]] = {f"{what} back, {label}": [] for what in EDITS for label in projects}
    times["import tensorflow"] = []
    for round_ in range(args.rounds):
        for what, (old, new) in EDITS.items():
            for project, env in projects.values():
                edit(project, old, new)
                timed(TFLMAKE, project, env)
            for label, (project, env) in projects.items():
                edit(project, new, old)
                seconds, output = timed(TFLMAKE, project, env)
                times[f"{what} back, {label}"].append(seconds)
                print(f"round {round_ + 1}, {what} back, {label}: {seconds:.2f} s ({summary(output)})", flush=True)
        times["import tensorflow"].append(timed(IMPORT_TENSORFLOW, scratch, ENVIRONMENT)[0])
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f}")
    print("| what | median | runs |\n|---|---:|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} s | {', '.join(f'{v:.2f}' for v in values)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
