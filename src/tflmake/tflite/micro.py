"""TFLite Micro's Python interpreter at build time: the arena a model needs, reference outputs.

The measured arena is the smallest `arena_size` with which tflite-micro's
interpreter allocates and invokes the model. It is measured on a 64-bit host
with the reference kernels, so the bundle adds a margin (see `arena_with_margin`)
before firmware relies on it.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tflmake.errors import BuildError

# Optimised kernels (CMSIS-NN, ESP-NN) may ask for scratch buffers the reference
# kernels do not; 25 % (at least 1 KiB) covers that for the models we have measured.
# The host's 64-bit bookkeeping structs already overestimate a 32-bit MCU's needs.
MARGIN_FRACTION = 0.25
MARGIN_MIN_BYTES = 1024
ARENA_ALIGNMENT = 16
_SEARCH_START = 64 * 1024
_MAX_CRASHES = 64


def arena_with_margin(measured: int) -> int:
    """`measured` plus the margin, rounded up to the arena alignment."""
    padded = measured + max(math.ceil(measured * MARGIN_FRACTION), MARGIN_MIN_BYTES)
    return -(-padded // ARENA_ALIGNMENT) * ARENA_ALIGNMENT


def measure_arena(model_path: str, input_count: int) -> int:
    """The smallest arena (bytes) the model allocates and runs in: grow, then binary search.

    The search runs in one child process (a probe costs milliseconds, a process
    ~0.2 s); when TFLite Micro crashes on a size, the child is restarted from the
    last state with that size counted as too small. A model that does not run
    even in the largest arena fails at once with TFLite Micro's own message.
    """
    low, high, high_fits = 0, _SEARCH_START, False
    for _ in range(_MAX_CRASHES + 1):
        result = _child(["search", model_path, str(low), str(high), str(int(high_fits)), str(input_count)])
        tried, word = None, ""
        for line in result.stdout.splitlines():
            word, *numbers = line.split()
            if word == "done":
                return int(numbers[0])
            if word == "try":
                tried = int(numbers[0])
            elif word == "state":
                low, high, high_fits, tried = int(numbers[0]), int(numbers[1]), numbers[2] == "1", None
        if word in ("check", "unrunnable") and result.returncode != 0:
            raise BuildError(f"TFLite Micro cannot run {model_path}: {_micro_message(result)}")
        if result.returncode != 0 and tried is None:
            raise BuildError(f"measuring the TFLite Micro arena of {model_path} failed: {_micro_message(result)}")
        if tried is not None and not high_fits and tried == high:
            low, high = high, high * 4
        elif tried is not None:
            low = tried
    raise BuildError(f"TFLite Micro crashed more than {_MAX_CRASHES} times measuring the arena of {model_path}")


def _micro_message(result: subprocess.CompletedProcess[str]) -> str:
    """What TFLite Micro said before failing, on one line; the exit status when it said nothing."""
    said = [line.strip().removeprefix("tflmake: ") for line in result.stderr.splitlines() if line.strip()]
    crashed = [f"crashed (signal {-result.returncode})"] if result.returncode < 0 else []
    return "; ".join(said + crashed) or f"exit status {result.returncode}"


def probe_arena(model_path: str, arena_bytes: int, input_count: int) -> tuple[bool, str]:
    """(fits, last line TFLM printed) for one arena size, tried in a child process."""
    result = _child(["probe", model_path, str(arena_bytes), str(input_count)])
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return result.returncode == 0, lines[-1] if lines else f"exit status {result.returncode}"


def _child(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    # The child must import this very tflmake, even if only the parent's sys.path knows it.
    search_path = [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, search_path))}
    return subprocess.run([sys.executable, "-m", "tflmake.tflite._arena_probe", *arguments],
                          capture_output=True, text=True, env=env, timeout=600, check=False)


def run_reference(model_path: str, arena_bytes: int, inputs: list[np.ndarray],
                  output_count: int) -> list[np.ndarray]:
    """Outputs of tflite-micro's interpreter for `inputs` (shaped and typed as the model's)."""
    from tflite_micro.python.tflite_micro import runtime

    try:
        interpreter = runtime.Interpreter.from_file(model_path, arena_size=arena_bytes)
        for index, value in enumerate(inputs):
            interpreter.set_input(value, index)
        interpreter.invoke()
        return [np.array(interpreter.get_output(index)) for index in range(output_count)]
    except RuntimeError as error:
        raise BuildError(f"TFLite Micro failed to run {model_path}: {error}") from None
