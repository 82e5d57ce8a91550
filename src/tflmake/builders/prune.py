"""Build `pruned_<hash>/`: magnitude-prune the trained Keras model while fine-tuning it.

Every Dense/Conv kernel is pruned to the scheduled sparsity after each training
step, and to exactly the target at the end (see ml/pruning).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tflmake import atomic
from tflmake.builders.dataset import read_split
from tflmake.errors import BuildError
from tflmake.ml import sparsity, training
from tflmake.ml.keras_model import export_with_stamp, load_trained_model
from tflmake.ml.private_random import seeded_session
from tflmake.ml.pruning import magnitude_pruner, prunable_kernels
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec, Variant
from tflmake.spec.rules import pruning_options


def build(spec: ModelSpec, layout: Layout, variant_name: str) -> None:
    variant = spec.variant(variant_name)
    assert variant.prune is not None and spec.train is not None
    options = pruning_options(spec, variant)
    with seeded_session(spec.train["seed"]):
        _prune(spec, layout, variant, options)


def _prune(spec: ModelSpec, layout: Layout, variant: Variant, options: dict[str, Any]) -> None:
    assert variant.prune is not None and spec.train is not None
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
