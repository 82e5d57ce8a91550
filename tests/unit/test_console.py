"""What a build prints around its steps: no stray tracebacks at interpreter exit."""

from __future__ import annotations

import subprocess
import sys

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
