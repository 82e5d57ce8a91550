"""The pieces evaluation is built from: quantization, metrics, op lists, arena file (no TF)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tflmake.builders.evaluate import read_arena_bytes
from tflmake.report.metrics import (
    abs_differences,
    latency_stats,
    regression_errors,
    top1_accuracy,
    top1_agreement,
)
from tflmake.tflite.quantize import Quantization, dequantize, quantize

INT8 = Quantization(np.dtype(np.int8), 1 / 255, -128)


def test_quantize_rounds_shifts_and_saturates_like_firmware() -> None:
    """0 -> zero point, 1 -> 127, values outside the range clamp instead of wrapping."""
    q = quantize(np.array([0.0, 1.0, 0.6, 2.0, -1.0], dtype=np.float32), INT8)
    assert q.dtype == np.int8
    assert q.tolist() == [-128, 127, 25, 127, -128]


def test_dequantize_inverts_quantize_within_half_a_step() -> None:
    x = np.linspace(0, 1, 101)
    assert np.max(np.abs(dequantize(quantize(x, INT8), INT8) - x)) <= 0.5 / 255 + 1e-12


def test_float_tensors_pass_through_unchanged() -> None:
    float32 = Quantization(np.dtype(np.float32), 0.0, 0)
    x = np.array([0.25, -3.0], dtype=np.float32)
    assert quantize(x, float32).tolist() == [0.25, -3.0]


def test_accuracy_and_agreement_count_top1_classes() -> None:
    outputs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    reference = np.array([[0.8, 0.2], [0.1, 0.9], [0.4, 0.6], [0.1, 0.9]])
    assert top1_accuracy(outputs, np.array([0, 1, 1, 1])) == 0.75
    assert top1_agreement(outputs, reference) == 0.75
    assert abs_differences(outputs, reference) == pytest.approx((0.2, 0.15))


def test_regression_errors_and_latency_percentiles() -> None:
    assert regression_errors(np.array([[1.0], [3.0]]), np.array([2.0, 3.0])) == (0.5, 0.5)
    median, p90 = latency_stats([0.001] * 9 + [0.011])
    assert median == pytest.approx(1.0) and p90 == pytest.approx(2.0)


def test_arena_is_read_from_the_firmware_file_or_none(tmp_path: Path) -> None:
    path = tmp_path / "int8_firmware.json"
    assert read_arena_bytes(str(path)) is None
    path.write_text(json.dumps({"arena_bytes": 5120, "other": 1}))
    assert read_arena_bytes(str(path)) == 5120
    path.write_text(json.dumps({"arena_bytes": "big"}))
    assert read_arena_bytes(str(path)) is None


def test_operator_names_read_the_flatbuffer_without_tensorflow() -> None:
    """TFLite Micro's bundled sine model has three fully connected layers."""
    code = ("import os, sys, tflite_micro\n"
            "from tflmake.tflite.opcodes import operator_names\n"
            "p = os.path.join(os.path.dirname(tflite_micro.__file__),"
            " 'python/tflite_micro/sine_float.tflite')\n"
            "print(operator_names(open(p, 'rb').read()), 'tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == \
        "['FULLY_CONNECTED', 'FULLY_CONNECTED', 'FULLY_CONNECTED'] False"
