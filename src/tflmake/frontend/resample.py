"""Pillow's `Image.resize` for 8-bit images in NumPy, bit for bit, and the tables the C port uses.

Follows Pillow's libImaging/Resample.c: per output column (then row) the filter's
weights over the source pixels are computed in double, normalised to sum 1, and
rounded to fixed point with PRECISION_BITS fraction bits; a horizontal pass then
a vertical pass each sum `pixel * weight` in integers, add a half and shift back,
clipping to 0..255. A pass is skipped when its dimension keeps its size.
Pillow 13 runs the vertical pass first when the height shrinks much more (see vertical_first).
NEAREST is Geometry.c's ImagingScaleAffine: the source coordinate of each output
pixel is accumulated in double (`x += step`, its rounding included) and truncated.
RGBA with any other filter is resized premultiplied, as Image.resize does:
RGBA -> RGBa (Convert.c's MULDIV255), resize, RGBa -> RGBA (255 * c // alpha).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

PRECISION_BITS = 32 - 8 - 2


def _box(x: float) -> float:
    return 1.0 if -0.5 < x <= 0.5 else 0.0


def _bilinear(x: float) -> float:
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


# Pillow writes these constants as C floats (0.54f), which are promoted to double.
_HAMMING_A = float(np.float32(0.54))
_HAMMING_B = float(np.float32(0.46))


def _hamming(x: float) -> float:
    x = abs(x)
    if x == 0.0:
        return 1.0
    if x >= 1.0:
        return 0.0
    x = x * math.pi
    return math.sin(x) / x * (_HAMMING_A + _HAMMING_B * math.cos(x))


def _bicubic(x: float) -> float:
    a = -0.5
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    if x < 2.0:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


def _sinc(x: float) -> float:
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


def _lanczos(x: float) -> float:
    return _sinc(x) * _sinc(x / 3) if -3.0 <= x < 3.0 else 0.0


# filter name -> (weight function, support); "nearest" is not a convolution (see nearest_indices).
FILTERS: dict[str, tuple[Callable[[float], float], float]] = {
    "box": (_box, 0.5),
    "bilinear": (_bilinear, 1.0),
    "hamming": (_hamming, 1.0),
    "bicubic": (_bicubic, 2.0),
    "lanczos": (_lanczos, 3.0),
}
INTERPOLATIONS = ("nearest", *FILTERS)


@dataclass(frozen=True)
class Taps:
    """One pass's fixed-point weights: output i sums source first[i] .. first[i] + count[i] - 1."""

    first: np.ndarray  # (out,) int32
    count: np.ndarray  # (out,) int32
    weights: np.ndarray  # (out, taps) int32, zero past count[i]


def taps(in_size: int, out_size: int, interpolation: str) -> Taps:
    """Pillow's precompute_coeffs + normalize_coeffs_8bpc for one dimension (box = the whole image)."""
    weight, filter_support = FILTERS[interpolation]
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = filter_support * filterscale
    ksize = int(math.ceil(support)) * 2 + 1
    first = np.zeros(out_size, np.int32)
    count = np.zeros(out_size, np.int32)
    weights = np.zeros((out_size, ksize), np.int32)
    for out in range(out_size):
        center = (out + 0.5) * scale
        low = max(int(center - support + 0.5), 0)  # int() truncates toward zero, as C's cast
        high = min(int(center + support + 0.5), in_size) - low
        values = [weight((x + low - center + 0.5) / filterscale) for x in range(high)]
        total = _sequential_sum(values)
        for x, value in enumerate(values):
            normalised = value / total if total != 0.0 else value
            weights[out, x] = int((-0.5 if normalised < 0 else 0.5) + normalised * (1 << PRECISION_BITS))
        first[out], count[out] = low, high
    return Taps(first, count, weights)


def _sequential_sum(values: list[float]) -> float:
    """Left-to-right double sum, as the C loop does (Python's sum() compensates rounding since 3.12)."""
    total = 0.0
    for value in values:
        total += value
    return total


def convolve(image: np.ndarray, axis: int, table: Taps) -> np.ndarray:
    """One pass of Pillow's 8bpc resample along `axis` of uint8 (batch, height, width, channels)."""
    size = image.shape[axis]
    taps_count = table.weights.shape[1]
    index = np.minimum(table.first[:, None] + np.arange(taps_count)[None, :], size - 1)
    gathered = np.take(image, index, axis=axis).astype(np.int64)  # axis -> (out, taps)
    shape = [1] * gathered.ndim
    shape[axis], shape[axis + 1] = table.weights.shape
    total = (gathered * table.weights.astype(np.int64).reshape(shape)).sum(axis=axis + 1)
    total += 1 << (PRECISION_BITS - 1)
    return np.clip(total >> PRECISION_BITS, 0, 255).astype(np.uint8)


def nearest_indices(in_size: int, out_size: int) -> np.ndarray:
    """The source index of each output pixel, accumulated as ImagingScaleAffine does."""
    step = in_size / out_size
    position = step * 0.5
    indices = np.zeros(out_size, np.int32)
    for out in range(out_size):
        indices[out] = -1 if position < 0.0 else int(position)
        position += step
    if indices.min() < 0 or indices.max() >= in_size:
        raise ValueError(f"nearest resize {in_size} -> {out_size} maps outside the image")
    return indices


def premultiply(image: np.ndarray) -> np.ndarray:
    """RGBA -> RGBa: colour times alpha / 255 with Pillow's MULDIV255 rounding."""
    out = image.copy()
    alpha = image[..., 3:4].astype(np.uint32)
    product = image[..., :3].astype(np.uint32) * alpha + 128
    out[..., :3] = (((product >> 8) + product) >> 8).astype(np.uint8)
    return out


def unpremultiply(image: np.ndarray) -> np.ndarray:
    """RGBa -> RGBA: colour * 255 // alpha clipped, unchanged where alpha is 0 or 255."""
    out = image.copy()
    alpha = image[..., 3:4].astype(np.uint32)
    divided = np.minimum(255 * image[..., :3].astype(np.uint32) // np.maximum(alpha, 1), 255)
    out[..., :3] = np.where((alpha == 0) | (alpha == 255), image[..., :3], divided).astype(np.uint8)
    return out


def premultiplied(mode: str, interpolation: str) -> bool:
    """Whether Image.resize resizes this mode premultiplied by alpha."""
    return mode == "RGBA" and interpolation != "nearest"


def vertical_first(size: tuple[int, int], out_size: tuple[int, int]) -> bool:
    """Whether the installed Pillow runs the vertical pass first for this (height, width) change.

    Pillow 13 (python-pillow/Pillow#9549) does when both passes run and the height loses more
    than twice as many pixels as the width; older Pillow always goes horizontal first.
    The two orders round differently, so the order is part of the contract.
    """
    (height, width), (out_height, out_width) = size, out_size
    if height == out_height or width == out_width or not _pillow_orders_passes():
        return False
    return out_height < height and height - out_height > 2 * (width - out_width)


@functools.cache
def _pillow_orders_passes() -> bool:
    """Probe the installed Pillow once: does a strong height reduction run the vertical pass first?"""
    try:
        from PIL import Image
    except ImportError:  # no Pillow: describe the current release
        return True
    probe = np.random.default_rng(0).integers(0, 256, (1, 40, 40, 1), dtype=np.uint8)
    pillow = np.asarray(Image.fromarray(probe[0, ..., 0]).resize((39, 1), Image.Resampling.LANCZOS))
    ours = _two_passes(probe, (1, 39), "lanczos", first_vertical=True)[0, ..., 0]
    return bool(np.array_equal(pillow, ours))


def _two_passes(images: np.ndarray, size: tuple[int, int], interpolation: str,
                first_vertical: bool) -> np.ndarray:
    height, width = images.shape[1:3]
    passes = [(2, width, size[1]), (1, height, size[0])]
    for axis, in_size, out_size in (passes[::-1] if first_vertical else passes):
        if in_size != out_size:
            images = convolve(images, axis, taps(in_size, out_size, interpolation))
    return images


def resize(images: np.ndarray, size: tuple[int, int], interpolation: str, mode: str,
           first_vertical: bool | None = None) -> np.ndarray:
    """uint8 (batch, height, width, channels) resized to size = (height, width) as Pillow does it.

    `first_vertical`: the pass order (default: the installed Pillow's, see vertical_first).
    """
    height, width = images.shape[1:3]
    if (height, width) == tuple(size):
        return images.copy()
    if interpolation == "nearest":
        rows, columns = nearest_indices(height, size[0]), nearest_indices(width, size[1])
        return images[:, rows][:, :, columns]
    if first_vertical is None:
        first_vertical = vertical_first((height, width), size)
    alpha = premultiplied(mode, interpolation)
    out = _two_passes(premultiply(images) if alpha else images, size, interpolation, first_vertical)
    return unpremultiply(out) if alpha else out
