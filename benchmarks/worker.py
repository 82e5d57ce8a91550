"""The warm build worker (issue 21 §2): an `io_type` edit and an `epochs` edit of digits_mlp, rebuilt with
and without the worker, against `python -c "import tensorflow"` timed in the same run.

    python benchmarks/worker.py --rounds 5

Each round, interleaved: `import tensorflow` in a fresh interpreter; the io_type edit (int8 variant:
int8 <-> uint8 I/O) rebuilt with `--no-worker` (cold: the process imports TensorFlow) and through the
worker (started and warmed by an untimed build first); then the epochs edit (5 <-> 6) the same two ways.
Medians are printed as a Markdown table with the ratios the issue's goals name: the io_type edit
through the worker against `import tensorflow`; for the epochs edit, the `savedmodel` step's own
duration (training and export, as the build reports it), the steps' durations together (training
plus the conversions and evaluation an epochs edit rebuilds), and what the build cost beyond its
steps (wall time minus their durations: process start, doit, the hand-off to the worker).

The local artifact cache is off for every timed build: the edits toggle between two values, so with
it on (the default) every build after the first two would restore, not rebuild.
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import ENVIRONMENT, make_project, run

IO_EDIT = ('io_type = "int8"', 'io_type = "uint8"')
EPOCHS_EDIT = ("epochs = 5", "epochs = 6")


STEP = re.compile(r"^   (\S+) built in ([0-9.]+)s", re.MULTILINE)


def timed_build(project: Path, worker: bool) -> tuple[float, float, float]:
    """(wall time of one `tflmake` build, the savedmodel step's own duration or 0, every step's duration)."""
    command = [sys.executable, "-m", "tflmake", *([] if worker else ["--no-worker"])]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=project, capture_output=True, text=True,
                            env={**ENVIRONMENT, "TFLMAKE_CACHE_LOCAL": "0"})
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or "warning: warm worker" in result.stdout + result.stderr:
        raise SystemExit(f"{' '.join(command)}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    steps = {name: float(seconds) for name, seconds in STEP.findall(result.stdout + result.stderr)}
    training = next((seconds for name, seconds in steps.items() if name.startswith("savedmodel:")), 0.0)
    return elapsed, training, sum(steps.values())


def toggle(spec: Path, edit: tuple[str, str]) -> None:
    text = spec.read_text()
    spec.write_text(text.replace(edit[0], edit[1]) if edit[0] in text else text.replace(edit[1], edit[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    projects = {worker: make_project(1) for worker in (False, True)}
    for worker, project in projects.items():
        timed_build(project, worker)  # the first build; with the worker on it also starts and warms the worker
        toggle(project / "modelspecs" / "m000.toml", IO_EDIT)
        timed_build(project, worker)
    times: dict[str, list[float]] = {}
    for _ in range(options.rounds):
        times.setdefault("import tensorflow", []).append(
            run([sys.executable, "-c", "import tensorflow"], projects[False]))
        for name, edit in (("io_type", IO_EDIT), ("epochs", EPOCHS_EDIT)):
            for worker, project in projects.items():
                toggle(project / "modelspecs" / "m000.toml", edit)
                wall, training, steps = timed_build(project, worker)
                label = f"{name} edit, {'worker' if worker else 'no worker'}"
                times.setdefault(label, []).append(wall)
                if name == "epochs":
                    times.setdefault(f"{label}: savedmodel step", []).append(training)
                    times.setdefault(f"{label}: all steps", []).append(steps)
                    times.setdefault(f"{label}: beyond the steps", []).append(wall - steps)
    subprocess.run([sys.executable, "-m", "tflmake", "worker", "stop"], cwd=projects[True], env=ENVIRONMENT,
                   capture_output=True)
    median = {label: statistics.median(values) for label, values in times.items()}
    baseline = median["import tensorflow"]
    print(f"{platform.node()}, {platform.processor() or platform.machine()}, Python {platform.python_version()},"
          f" {time.strftime('%Y-%m-%d')}, {options.rounds} rounds, medians\n")
    print("| command | median (s) | vs `import tensorflow` |\n|---|---|---|")
    for label, value in median.items():
        print(f"| {label} | {value:.2f} | {value / baseline:.2f}x |")


if __name__ == "__main__":
    main()
