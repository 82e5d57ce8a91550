"""The numbers a report gives, computed from arrays: pure numpy, no interpreter, no TensorFlow."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top1_accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples whose highest-scoring class is the label."""
    return float(np.mean(np.argmax(outputs, axis=-1) == labels.reshape(-1)))


def top1_agreement(outputs: np.ndarray, reference: np.ndarray) -> float:
    """Share of samples where two models pick the same class (whether or not it is right)."""
    return float(np.mean(np.argmax(outputs, axis=-1) == np.argmax(reference, axis=-1)))


def abs_differences(outputs: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(max, mean) absolute difference between two models' real-valued outputs."""
    difference = np.abs(outputs.astype(np.float64) - reference.astype(np.float64))
    return float(difference.max()), float(difference.mean())


def regression_errors(outputs: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """(MSE, MAE) of outputs against targets of the same number of values per sample."""
    error = outputs.reshape(len(outputs), -1) - targets.reshape(len(targets), -1)
    return float(np.mean(error**2)), float(np.mean(np.abs(error)))


def latency_stats(seconds: Sequence[float]) -> tuple[float, float]:
    """(median, p90) of invoke times, in milliseconds."""
    milliseconds = np.asarray(seconds, dtype=np.float64) * 1000.0
    return float(np.median(milliseconds)), float(np.percentile(milliseconds, 90))
