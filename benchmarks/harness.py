"""Shared pieces of the build benchmarks: temp projects of digits_mlp copies, timed commands."""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MLP_SPEC = (REPO / "modelspecs" / "digits_mlp.toml").read_text()
DODO = (REPO / "dodo.py").read_text()


def make_project(count: int, root: Path | None = None) -> Path:
    """A project with `count` copies of digits_mlp named m000, m001, ..."""
    root = root or Path(tempfile.mkdtemp(prefix="tflmake-bench-"))
    (root / "modelspecs").mkdir(parents=True, exist_ok=True)
    (root / "dodo.py").write_text(DODO)
    for index in range(count):
        (root / "modelspecs" / f"m{index:03d}.toml").write_text(MLP_SPEC)
    return root


def environment(bytecode_cache: bool = True) -> dict[str, str]:
    """The environment of every timed command.

    Bytecode caching is on by default, as in a stock Python: some images (this
    sandbox among them) set PYTHONDONTWRITEBYTECODE=1, under which an editable
    install recompiles tflmake's sources on every run while doit's, compiled at
    install time, load from cache. `bytecode_cache=False` measures that setting.
    """
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not bytecode_cache:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


ENVIRONMENT = environment()


def use_bytecode_cache(enabled: bool) -> None:
    """Switch the environment of the commands timed from now on (see `environment`)."""
    global ENVIRONMENT
    ENVIRONMENT = environment(enabled)


def run(command: list[str], cwd: Path) -> float:
    """Wall time of one command; fails loudly if the command fails."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=ENVIRONMENT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return elapsed


def median_time(command: list[str], cwd: Path, repeat: int) -> float:
    return statistics.median(run(command, cwd) for _ in range(repeat))


def paired_median_times(first: list[str], second: list[str], cwd: Path, repeat: int,
                        second_cwd: Path | None = None) -> tuple[float, float]:
    """Medians of `repeat` runs of two commands, alternated so both see the same machine load."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        times[0].append(run(first, cwd))
        times[1].append(run(second, second_cwd or cwd))
    return statistics.median(times[0]), statistics.median(times[1])


DOIT = [sys.executable, "-m", "doit"]
IMPORT_DOIT = [sys.executable, "-c", "import doit"]


def digests(build: Path, pattern: str = "*/*.tflite") -> dict[str, str]:
    return {p.relative_to(build).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(build.glob(pattern))}


def instructions(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> int | None:
    """Instructions the command executes, counted by valgrind (None without valgrind).

    Unlike wall time this does not move with other jobs on the machine, so it
    compares two commands exactly; it leaves out waiting for the disk.
    """
    if shutil.which("valgrind") is None:
        return None
    result = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                            cwd=cwd, capture_output=True, text=True, env=env or ENVIRONMENT)
    collected = [line for line in result.stderr.splitlines() if "Collected :" in line]
    return int(collected[-1].split()[-1]) if result.returncode == 0 and collected else None


def system_calls(command: list[str], cwd: Path) -> int | None:
    """System calls the command makes, counted by strace (None without strace).

    What instruction counts leave out: each stat, lock or sync is kernel time,
    and on this machine a stat alone costs ~2.7 us.
    """
    if shutil.which("strace") is None:
        return None
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as counts:
        result = subprocess.run(["strace", "-f", "-c", "-o", counts.name, *command], cwd=cwd,
                                capture_output=True, env=ENVIRONMENT)
        total = [line.split() for line in counts.read().splitlines() if line.rstrip().endswith("total")]
    return int(total[-1][3]) if result.returncode == 0 and total else None


def imports_tensorflow(cwd: Path) -> bool:
    """Whether `doit` in `cwd` imports TensorFlow or Keras (read from -X importtime)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "doit"], cwd=cwd,
                            capture_output=True, text=True)
    return any(f"| {name}" in line or line.rstrip().endswith(f"| {name}")
               for line in result.stderr.splitlines() for name in ("tensorflow", "keras"))


def cleanup(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
