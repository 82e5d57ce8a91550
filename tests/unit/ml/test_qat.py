"""QAT's weight rounding (pure numpy; importing the builder must not import TensorFlow)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from tflmake.ml.qat import fake_quantize_weights


def test_importing_the_qat_builder_does_not_import_tensorflow() -> None:
    """Checked in a fresh interpreter: this test process may already hold TensorFlow from other tests."""
    code = "import sys, tflmake.ml.qat; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_weights_round_to_127_steps_per_output_channel() -> None:
    """Each column (output channel) is rounded on its own grid: max|w| / 127 apart, max kept."""
    weights = np.array([[0.5, -10.0], [0.26, 3.0], [-0.1, 0.04]])
    rounded = fake_quantize_weights(weights)
    for column in range(2):
        step = np.abs(weights[:, column]).max() / 127
        assert np.allclose(rounded[:, column] / step, np.round(rounded[:, column] / step))
        assert np.abs(rounded[:, column]).max() == np.abs(weights[:, column]).max()
    assert np.abs(rounded - weights).max() <= 10.0 / 127 / 2 + 1e-12


def test_zero_channels_and_zero_weights_stay_zero() -> None:
    weights = np.array([[0.0, 1.0], [0.0, 0.0]])
    assert fake_quantize_weights(weights).tolist() == [[0.0, 1.0], [0.0, 0.0]]
