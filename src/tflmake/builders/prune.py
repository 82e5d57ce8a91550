"""Build `pruned_<hash>/`: magnitude-prune the trained Keras model while fine-tuning it.

Written on Keras 3 directly: the TensorFlow Model Optimization toolkit needs
`tf_keras`, which pulls the full `tensorflow` package next to `tensorflow-cpu`.
Every Dense/Conv kernel is pruned to the scheduled sparsity after each training
step, and to exactly the target at the end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tflmake import atomic, sparsity
from tflmake.builders import training
from tflmake.builders._tensorflow import import_keras
from tflmake.builders.dataset import read_split
from tflmake.builders.savedmodel import export_with_stamp, load_trained_model
from tflmake.errors import BuildError
from tflmake.optimization import pruning_options
from tflmake.paths import Layout
from tflmake.spec import ModelSpec


def build(spec: ModelSpec, layout: Layout, variant_name: str) -> None:
    variant = spec.variant(variant_name)
    assert variant.prune is not None and spec.train is not None
    options = pruning_options(spec, variant)
    model = load_trained_model(spec, layout.keras_weights(spec.name))
    kernels = prunable_kernels(model)
    if not kernels:
        raise BuildError(f'variant "{variant.name}": prune: the model has no Dense or Conv '
                         "kernel to prune")
    data = read_split(layout, spec.name)
    steps = variant.prune["epochs"] * training.steps_per_epoch(len(data["x_train"]),
                                                               spec.train["batch_size"])
    pruner = magnitude_pruner(kernels, steps, variant.prune["sparsity"], variant.prune["schedule"])
    training.fit(model, spec, data, variant.prune["epochs"], callbacks=[pruner])
    with atomic.directory_for_write(layout.pruned_dir(spec.name, options)) as work:
        stamp = export_with_stamp(model, spec, work, Path(layout.pruned_weights(spec.name, options)).name)
        stamp["prune"] = options
        stamp["sparsity"] = sparsity.measured_sparsity(np.asarray(k) for k in kernels)
        stamp_name = Path(layout.pruned_stamp(spec.name, options)).name
        (work / stamp_name).write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")


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
