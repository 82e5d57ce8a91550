"""The golden test vector's input: a real test-split sample, in the model's input type."""

from __future__ import annotations

import numpy as np

from tflmake.errors import BuildError
from tflmake.tflite.modelinfo import TensorInfo
from tflmake.tflite.quantize import Quantization, quantize


def golden_input(sample: np.ndarray, tensor: TensorInfo) -> np.ndarray:
    """One data-set sample shaped (batch of one) and typed as the model input `tensor`."""
    if sample.size != tensor.elements:
        raise BuildError(f"golden vector: a test sample has {sample.size} values "
                         f"(shape {list(sample.shape)}) but the model input "
                         f'"{tensor.name}" takes {tensor.elements} (shape {list(tensor.shape)})')
    shaped = sample.reshape(tensor.shape)
    if not tensor.quantized:
        return shaped.astype(tensor.dtype)
    assert tensor.scale is not None and tensor.zero_point is not None
    return quantize(shaped, Quantization(np.dtype(tensor.dtype), tensor.scale, tensor.zero_point))
