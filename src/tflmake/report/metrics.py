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


def top_k_accuracy(outputs: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Share of samples whose label is among the `k` highest-scoring classes."""
    top = np.argsort(-outputs, axis=-1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels.reshape(-1, 1), axis=1)))


def confusion_matrix(outputs: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """counts[true class, predicted class] of top-1 predictions."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels.reshape(-1).astype(np.int64), np.argmax(outputs, axis=-1)), 1)
    return counts


def per_class_accuracy(confusion: np.ndarray) -> list[float | None]:
    """Top-1 accuracy of each true class (None for a class without test samples)."""
    totals = confusion.sum(axis=1)
    return [float(confusion[index, index] / total) if total else None for index, total in enumerate(totals)]


def reconstruction_errors(outputs: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Each sample's mean squared difference between a model's output and its input: the anomaly score."""
    flat_outputs, flat_inputs = outputs.reshape(len(outputs), -1), inputs.reshape(len(inputs), -1)
    if flat_outputs.shape != flat_inputs.shape:
        raise ValueError(f"an anomaly model must reconstruct its input: outputs have {flat_outputs.shape[1]} "
                         f"values per sample, inputs {flat_inputs.shape[1]}")
    return np.mean((flat_outputs.astype(np.float64) - flat_inputs.astype(np.float64)) ** 2, axis=1)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve of `scores` for labels 1 (anomaly) vs 0 (normal); None without both."""
    from sklearn.metrics import roc_auc_score

    labels = labels.reshape(-1)
    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))
