"""The golden test vector's input: a real test-split sample, in the model's input type."""

from __future__ import annotations

import numpy as np

from tflmake.errors import BuildError
from tflmake.modelinfo import TensorInfo


def quantize(values: np.ndarray, tensor: TensorInfo) -> np.ndarray:
    """Real values -> the tensor's integer type as TFLite does it: round half away from zero
    of value / scale, plus the zero point, saturated to the type's range."""
    assert tensor.scale is not None and tensor.zero_point is not None
    scaled = values.astype(np.float64) / tensor.scale
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + tensor.zero_point
    limits = np.iinfo(tensor.dtype)
    return np.clip(rounded, limits.min, limits.max).astype(tensor.dtype)


def golden_input(sample: np.ndarray, tensor: TensorInfo) -> np.ndarray:
    """One data-set sample shaped (batch of one) and typed as the model input `tensor`."""
    if sample.size != tensor.elements:
        raise BuildError(f"golden vector: a test sample has {sample.size} values "
                         f"(shape {list(sample.shape)}) but the model input "
                         f'"{tensor.name}" takes {tensor.elements} (shape {list(tensor.shape)})')
    shaped = sample.reshape(tensor.shape)
    return quantize(shaped, tensor) if tensor.quantized else shaped.astype(tensor.dtype)
