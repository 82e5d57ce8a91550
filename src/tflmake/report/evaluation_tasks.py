"""What each `[evaluation] task` measures: one function per task (its facts are kinds.EVALUATION_TASKS).

Every variant's report entry has every task's keys (None where not measured),
so report readers never need to know which task wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from tflmake.report import metrics
from tflmake.report.entry import TaskMeasures
from tflmake.spec.sections import EvaluationSection

DEFAULT_TOP_K = 5
Measure = Callable[[np.ndarray, np.ndarray, np.ndarray, EvaluationSection], dict[str, Any]]


def classification(outputs: np.ndarray, y: np.ndarray, x: np.ndarray, options: EvaluationSection) -> dict[str, Any]:
    """Top-1 and top-k accuracy, per-class accuracy and the confusion matrix."""
    classes = max(int(outputs.shape[-1]), int(y.max()) + 1 if len(y) else 0)
    k = min(options.get("top_k", DEFAULT_TOP_K), int(outputs.shape[-1]))
    confusion = metrics.confusion_matrix(outputs, y, classes)
    return {"accuracy": metrics.top1_accuracy(outputs, y), "top_k": k,
            "top_k_accuracy": metrics.top_k_accuracy(outputs, y, k),
            "per_class_accuracy": metrics.per_class_accuracy(confusion),
            "confusion_matrix": confusion.tolist()}


def regression(outputs: np.ndarray, y: np.ndarray, x: np.ndarray, options: EvaluationSection) -> dict[str, Any]:
    mse, mae = metrics.regression_errors(outputs, y)
    return {"mse": mse, "mae": mae}


def anomaly(outputs: np.ndarray, y: np.ndarray, x: np.ndarray, options: EvaluationSection) -> dict[str, Any]:
    """ROC AUC of the reconstruction error (labels 0 normal, 1 anomaly) and the mean error itself."""
    scores = metrics.reconstruction_errors(outputs, x)
    return {"auc": metrics.roc_auc(scores, y), "mse": float(np.mean(scores))}


# What each `[evaluation] task` (kinds.EVALUATION_TASKS) measures.
MEASURES: dict[str, Measure] = {"classification": classification, "regression": regression, "anomaly": anomaly}
# Every key any task measures, so each report entry has them all.
MEASURED = tuple(TaskMeasures.__annotations__)


def measure(task: str, outputs: np.ndarray, y: np.ndarray, x: np.ndarray,
            options: EvaluationSection) -> TaskMeasures:
    """The task's measurements, with every other task's keys set to None."""
    measured = {key: None for key in MEASURED} | MEASURES[task](outputs, y, x, options)
    return cast(TaskMeasures, measured)
