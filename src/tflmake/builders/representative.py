"""Build `representative.npz`: calibration samples drawn (seeded) from the training split."""

from __future__ import annotations

import numpy as np

from tflmake.builders.dataset import read_split
from tflmake.errors import BuildError
from tflmake.npzio import save_npz
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec


def build(spec: ModelSpec, layout: Layout) -> None:
    x_train = read_split(layout, spec.name)["x_train"]
    samples, seed = spec.representative["samples"], spec.representative["seed"]
    if samples > len(x_train):
        raise BuildError(f"representative.samples: {samples} requested but the training split "
                         f"has only {len(x_train)} samples")
    chosen = np.sort(np.random.default_rng(seed).choice(len(x_train), samples, replace=False))
    save_npz(layout.representative(spec.name), {"x": x_train[chosen]})
