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


def run(command: list[str], cwd: Path) -> float:
    """Wall time of one command; fails loudly if the command fails."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return elapsed


def median_time(command: list[str], cwd: Path, repeat: int) -> float:
    return statistics.median(run(command, cwd) for _ in range(repeat))


DOIT = [sys.executable, "-m", "doit"]
IMPORT_DOIT = [sys.executable, "-c", "import doit"]


def digests(build: Path, pattern: str = "*/*.tflite") -> dict[str, str]:
    return {p.relative_to(build).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(build.glob(pattern))}


def imports_tensorflow(cwd: Path) -> bool:
    """Whether `doit` in `cwd` imports TensorFlow or Keras (read from -X importtime)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "doit"], cwd=cwd,
                            capture_output=True, text=True)
    return any(f"| {name}" in line or line.rstrip().endswith(f"| {name}")
               for line in result.stderr.splitlines() for name in ("tensorflow", "keras"))


def cleanup(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
