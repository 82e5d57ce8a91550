"""What a build prints around its steps: no stray tracebacks at interpreter exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ABSL_IMPORTED_INSIDE_AN_ACTION = """
import sys
from doit.action import Writer

saved = sys.stderr
sys.stderr = Writer(saved)  # what doit does while a python-action runs
import absl.logging  # first imported inside the action, as the LiteRT Quantizer does
sys.stderr = saved
if {release}:
    from tflmake.console import release_captured_streams
    release_captured_streams()
"""


@pytest.mark.parametrize("release", [True, False])
def test_absl_imported_during_a_step_leaves_no_traceback_at_exit(release: bool) -> None:
    """After release_captured_streams, interpreter exit prints nothing; without it, absl's handler
    (bound to doit's Writer) prints an AttributeError traceback (the control)."""
    run = subprocess.run([sys.executable, "-c", ABSL_IMPORTED_INSIDE_AN_ACTION.format(release=release)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert ("AttributeError" in run.stderr) is not release, run.stderr


PROGRESS_IN_A_WORKER = """
import multiprocessing
from tflmake.console import progress, task_label

def step():
    with task_label("savedmodel:digits_mlp"):
        progress("    epoch 1/5: accuracy 0.5")

if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    with task_label("savedmodel:digits_mlp"):
        progress("    epoch 1/5: accuracy 0.5")  # the main process: a serial build
    worker = multiprocessing.Process(target=step)
    worker.start()
    worker.join()
"""


def test_progress_lines_of_parallel_workers_name_their_task(tmp_path: Path) -> None:
    """In a `-n N` worker each progress line starts with its task; a serial build's lines stay as they were."""
    script = tmp_path / "progress.py"
    script.write_text(PROGRESS_IN_A_WORKER)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert run.stderr.splitlines() == ["    epoch 1/5: accuracy 0.5",
                                       "    [savedmodel:digits_mlp] epoch 1/5: accuracy 0.5"], run.stderr
