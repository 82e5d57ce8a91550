"""The generated C front end's float32 arithmetic in NumPy, operation for operation and in the same order.

Why not np.fft in float64: a float32 FFT's rounding is ~1e-7 of a frame's peak,
and a mel band that a pure tone leaves almost empty holds little more than that,
so log() turns rounding into differences of 0.01 (about one int8 step of
log-mel features). Doing the C's operations in NumPy float32 makes training's
features and the firmware's the same numbers, not merely close ones: only logf
may differ in the last bit. C99 compilers do not fuse a * b + c unless asked
(-ffp-contract=off is GCC's ISO C default), so each product here is rounded.
"""

from __future__ import annotations

import numpy as np


def twiddles(fft_length: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 cos and sin of 2 pi k / fft_length, k = 0 .. fft_length / 2 (the C's tables)."""
    angles = 2 * np.pi * np.arange(fft_length // 2 + 1) / fft_length
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def _bit_reversed(count: int) -> np.ndarray:
    bits = count.bit_length() - 1
    indices = np.arange(count)
    return np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in indices])


def real_fft(frames: np.ndarray, fft_length: int) -> np.ndarray:
    """X[k], k = 0 .. fft_length / 2, of real float32 frames (last axis) as complex64, computed as the C does:
    a fft_length / 2-point radix-2 FFT (decimation in time) of even + i * odd samples, then the real split."""
    half = fft_length // 2
    lead = frames.shape[:-1]
    padded = np.zeros((*lead, fft_length), dtype=np.float32)
    padded[..., : frames.shape[-1]] = frames
    order = _bit_reversed(half)
    re, im = padded[..., 0::2][..., order], padded[..., 1::2][..., order]
    cos, sin = twiddles(fft_length)
    size = 2
    while size <= half:
        span = size // 2
        wr, wi = cos[np.arange(span) * (fft_length // size)], -sin[np.arange(span) * (fft_length // size)]
        re, im = re.reshape(*lead, half // size, size), im.reshape(*lead, half // size, size)
        ar, ai, br, bi = re[..., :span], im[..., :span], re[..., span:], im[..., span:]
        tr, ti = br * wr - bi * wi, br * wi + bi * wr
        re = np.concatenate([ar + tr, ar - tr], axis=-1).reshape(*lead, half)
        im = np.concatenate([ai + ti, ai - ti], axis=-1).reshape(*lead, half)
        size *= 2
    k = np.arange(half + 1)
    zr, zi = re[..., k % half], im[..., k % half]
    cr, ci = re[..., (half - k) % half], -im[..., (half - k) % half]
    er, ei = np.float32(0.5) * (zr + cr), np.float32(0.5) * (zi + ci)
    odr, odi = np.float32(0.5) * (zi - ci), np.float32(-0.5) * (zr - cr)
    wr, wi = cos, -sin
    spectrum = np.empty(zr.shape, dtype=np.complex64)
    spectrum.real = er + odr * wr - odi * wi
    spectrum.imag = ei + odr * wi + odi * wr
    return spectrum


def magnitude(spectrum: np.ndarray) -> np.ndarray:
    """sqrtf(re * re + im * im), not hypot: the C's formula."""
    return np.sqrt(spectrum.real * spectrum.real + spectrum.imag * spectrum.imag)


def band_sums(values: np.ndarray, first: np.ndarray, count: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per band j: sum of weights[run j][n] * values[first[j] + n], n = 0 .. count[j] - 1, in that order, float32.

    `weights` are the bands' runs one after another (the C's sparse mel table).
    """
    weights = weights.astype(np.float32)
    offsets = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    total = np.zeros((*values.shape[:-1], len(first)), dtype=np.float32)
    for n in range(int(count.max(initial=0))):
        active = n < count
        factor = np.where(active, weights[np.minimum(offsets + n, max(len(weights) - 1, 0))], np.float32(0))
        total = total + factor * values[..., np.where(active, first + n, 0)]
    return total


def dot_rows(values: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """values (..., n) times matrix rows (m, n) -> (..., m), each a float32 sum in index order (the C's loop)."""
    matrix = matrix.astype(np.float32)
    total = np.zeros((*values.shape[:-1], matrix.shape[0]), dtype=np.float32)
    for n in range(matrix.shape[1]):
        total = total + matrix[:, n] * values[..., n : n + 1]
    return total


def log(values: np.ndarray, offset: float) -> np.ndarray:
    """logf(value + offset): the float32 sum, its logarithm rounded once to float32."""
    return np.log((values + np.float32(offset)).astype(np.float64)).astype(np.float32)
