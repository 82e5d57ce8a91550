"""Magnitude pruning on Keras 3 while fine-tuning: which kernels, and the callback that zeroes them.

Written on Keras 3 directly: the TensorFlow Model Optimization toolkit needs
`tf_keras`, which pulls the full `tensorflow` package next to `tensorflow-cpu`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tflmake.ml import sparsity
from tflmake.ml.tensorflow import import_keras


def prunable_kernels(model: Any) -> list[Any]:
    """The kernel variables of every layer that has one (Dense, Conv*, ...); biases stay dense."""
    return [layer.kernel for layer in model.layers if getattr(layer, "kernel", None) is not None]


def magnitude_pruner(kernels: list[Any], total_steps: int, target: float, schedule: str) -> Any:
    """A callback zeroing each kernel's smallest weights after every step, per the schedule."""
    keras = import_keras()

    class MagnitudePruner(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
        step = 0

        def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            self.step += 1
            self._prune(sparsity.scheduled_sparsity(self.step, total_steps, target, schedule))

        def on_train_end(self, logs: dict[str, float] | None = None) -> None:
            self._prune(target)

        @staticmethod
        def _prune(level: float) -> None:
            for kernel in kernels:
                weights = np.asarray(kernel)
                kernel.assign(weights * sparsity.magnitude_mask(weights, level))

    return MagnitudePruner()
