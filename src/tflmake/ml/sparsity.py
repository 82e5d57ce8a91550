"""Magnitude pruning arithmetic: the sparsity schedule, the masks, the measured sparsity. Pure numpy.

Kept apart from the Keras fine-tuning loop so the numbers can be tested
without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

SCHEDULES = ("polynomial", "constant")


def scheduled_sparsity(step: int, total_steps: int, target: float, schedule: str) -> float:
    """The sparsity to enforce after `step` of `total_steps` fine-tuning steps.

    polynomial rises as target * (1 - (1 - t)^3), the curve of Zhu & Gupta (2017)
    that the TensorFlow Model Optimization toolkit also uses: it prunes fast
    while the network can recover and slowly at the end.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown pruning schedule {schedule!r}")
    if schedule == "constant" or total_steps <= 0:
        return target
    progress = min(max(step / total_steps, 0.0), 1.0)
    return target * (1.0 - (1.0 - progress) ** 3)


def magnitude_mask(weights: np.ndarray, sparsity: float) -> np.ndarray:
    """A boolean mask keeping all but the round(sparsity * size) smallest-magnitude weights."""
    pruned = int(round(sparsity * weights.size))
    mask = np.ones(weights.size, dtype=bool)
    if pruned > 0:
        # A stable sort so equal magnitudes are pruned in a fixed order (reproducible bytes).
        order = np.argsort(np.abs(weights).reshape(-1), kind="stable")
        mask[order[:pruned]] = False
    return mask.reshape(weights.shape)


def measured_sparsity(arrays: Iterable[np.ndarray]) -> float:
    """The share of exactly-zero values over all arrays together (0.0 for no values)."""
    zeros = total = 0
    for array in arrays:
        zeros += int(np.count_nonzero(array == 0))
        total += int(array.size)
    return zeros / total if total else 0.0
