"""One quantize and dequantize for every place that feeds or reads a quantized tensor, one rounding.

Evaluation, the golden test vector and firmware (`lround` in docs/firmware.md's example)
must agree bit for bit, so there is exactly one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Quantization:
    """How a tensor maps to real values; scale 0 means the tensor holds real values already."""

    dtype: np.dtype
    scale: float
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0 and np.issubdtype(self.dtype, np.integer)


def quantize(x: np.ndarray, quantization: Quantization) -> np.ndarray:
    """Real inputs as the tensor's integers, as TFLite and firmware (`lround`) do it: value / scale
    rounded half away from zero, plus the zero point, saturated to the type's range."""
    if not quantization.quantized:
        return x.astype(quantization.dtype)
    limits = np.iinfo(quantization.dtype)
    scaled = x.astype(np.float64) / quantization.scale
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + quantization.zero_point
    return np.clip(rounded, limits.min, limits.max).astype(quantization.dtype)


def dequantize(q: np.ndarray, quantization: Quantization) -> np.ndarray:
    """A tensor's values as real numbers (float64 so differences are not rounded again)."""
    if not quantization.quantized:
        return q.astype(np.float64)
    return (q.astype(np.float64) - quantization.zero_point) * quantization.scale
