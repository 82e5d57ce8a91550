"""Quantization-aware fine-tuning on Keras 3: fake-quantized weights and activations.

Keras 3 has no QAT wrapper that the TFLite converter understands, and the
Model Optimization toolkit needs `tf_keras`. So the fine-tuning sees 8-bit
weights (per output channel, symmetric, like the converter's) through a
straight-through estimator, and 8-bit layer outputs through fake-quant layers
whose ranges come from the training split. The model that comes out is plain
float Keras with weights that survive int8 rounding; the variant's usual
calibrated int8 conversion follows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tflmake.errors import BuildError
from tflmake.ml import training
from tflmake.ml.pruning import prunable_kernels
from tflmake.ml.tensorflow import import_keras
from tflmake.spec.load import ModelSpec


def fine_tune(model: Any, spec: ModelSpec, data: dict[str, np.ndarray], epochs: int) -> None:
    """Fine-tune `model` in place for `epochs` with fake quantization; zero weights stay zero."""
    keras = import_keras()
    if not isinstance(model, keras.Sequential):
        raise BuildError("qat: quantization-aware fine-tuning supports Sequential models only")
    quantized = fake_quant_model(model, data["x_train"])
    # Share the float model's layers, so training the wrapper trains the model itself.
    training.fit(quantized, spec, data, epochs, callbacks=[weight_fake_quant(prunable_kernels(model))])


def fake_quant_model(model: Any, x: np.ndarray) -> Any:
    """The model's own layers, each followed by a fake-quant of its output (the input too)."""
    keras = import_keras()
    layers: list[Any] = [keras.Input(shape=x.shape[1:]), _fake_quant(x)]
    outputs = x
    for layer in model.layers:
        outputs = np.asarray(layer(outputs))
        layers += [layer, _fake_quant(outputs)]
    return keras.Sequential(layers)


def _fake_quant(values: np.ndarray) -> Any:
    """A layer rounding to 256 levels over the range `values` span (always including 0)."""
    keras = import_keras()
    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    high = max(high, low + 1e-6)
    return keras.layers.Lambda(
        lambda t: keras.quantizers.fake_quant_with_min_max_vars(t, low, high, num_bits=8))


def fake_quantize_weights(weights: np.ndarray) -> np.ndarray:
    """Symmetric per-output-channel int8 rounding (the last axis), as the converter stores kernels."""
    scale = np.abs(weights).reshape(-1, weights.shape[-1]).max(axis=0) / 127.0
    scale = np.where(scale == 0, 1.0, scale)
    return np.clip(np.round(weights / scale), -127, 127) * scale


def weight_fake_quant(kernels: list[Any]) -> Any:
    """A callback that runs each step on rounded kernels and applies the update to the float ones.

    Straight-through estimator: the float shadow moves by exactly the step the
    optimizer took from the rounded kernel. Pruned (zero) weights stay zero.
    """
    keras = import_keras()

    class WeightFakeQuant(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
        shadows: list[np.ndarray] = []
        rounded: list[np.ndarray] = []

        def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
            self.shadows = [np.asarray(kernel).copy() for kernel in kernels]
            self.masks = [shadow != 0 for shadow in self.shadows]

        def on_train_batch_begin(self, batch: int, logs: dict[str, float] | None = None) -> None:
            self.rounded = [fake_quantize_weights(shadow) for shadow in self.shadows]
            for kernel, rounded in zip(kernels, self.rounded, strict=True):
                kernel.assign(rounded)

        def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            for index, kernel in enumerate(kernels):
                step = np.asarray(kernel) - self.rounded[index]
                self.shadows[index] = (self.shadows[index] + step) * self.masks[index]

        def on_train_end(self, logs: dict[str, float] | None = None) -> None:
            for kernel, shadow in zip(kernels, self.shadows, strict=True):
                kernel.assign(shadow)

    return WeightFakeQuant()
