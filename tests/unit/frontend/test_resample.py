"""Pillow's resize in NumPy: the installed Pillow's bytes exactly, for every filter, mode and size."""

from __future__ import annotations

import numpy as np
import pytest

from tflmake.frontend import resample

FILTERS = ["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"]
# (frame, image) pairs: down, up, mixed, one dimension only, odd sizes, a strong height
# reduction (Pillow 13 runs the vertical pass first there) and a 1-pixel edge.
SIZE_PAIRS = [((20, 24), (9, 13)), ((9, 13), (20, 24)), ((40, 12), (7, 30)), ((12, 17), (12, 5)),
              ((12, 17), (3, 17)), ((40, 40), (1, 39)), ((1, 3), (2, 7)), ((33, 27), (31, 29))]


def pillow_resize(frame: np.ndarray, mode: str, size: tuple[int, int], interpolation: str) -> np.ndarray:
    from PIL import Image

    picture = Image.fromarray(frame[..., 0] if mode == "L" else frame, mode)
    resized = picture.resize((size[1], size[0]), Image.Resampling[interpolation.upper()])
    return np.asarray(resized).reshape(*size, frame.shape[-1])


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
@pytest.mark.parametrize("interpolation", FILTERS)
def test_resize_is_pillows_bit_for_bit(mode: str, interpolation: str) -> None:
    """On random frames, up and down, odd sizes, each filter and mode: exactly the installed Pillow's bytes."""
    rng = np.random.default_rng(len(mode) * 10 + FILTERS.index(interpolation))
    channels = len(mode)
    for frame, size in SIZE_PAIRS:
        frames = rng.integers(0, 256, (2, *frame, channels), dtype=np.uint8)
        ours = resample.resize(frames, size, interpolation, mode)
        for index in range(2):
            assert np.array_equal(ours[index], pillow_resize(frames[index], mode, size, interpolation)), (frame, size)


def test_premultiplying_and_back_round_as_pillow_does_for_every_colour_and_alpha() -> None:
    """All 65536 (colour, alpha) pairs: RGBA -> RGBa -> RGBA equal Pillow's conversions byte for byte."""
    from PIL import Image

    colour, alpha = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    pixels = np.stack([colour, colour, colour, alpha], axis=-1)
    premultiplied = np.asarray(Image.fromarray(pixels, "RGBA").convert("RGBa"))
    assert np.array_equal(resample.premultiply(pixels), premultiplied)
    back = np.asarray(Image.frombytes("RGBa", (256, 256), premultiplied.tobytes()).convert("RGBA"))
    assert np.array_equal(resample.unpremultiply(premultiplied), back)


def test_pass_order_is_the_one_that_matches_pillow_when_the_orders_differ() -> None:
    """Where horizontal-first and vertical-first round differently, only vertical_first's choice is Pillow's."""
    frames = np.random.default_rng(3).integers(0, 256, (1, 40, 40, 1), dtype=np.uint8)
    for size in [(1, 39), (39, 1), (30, 20), (20, 36)]:
        chosen = resample.resize(frames, size, "lanczos", "L")
        other = resample.resize(frames, size, "lanczos", "L", not resample.vertical_first((40, 40), size))
        expected = pillow_resize(frames[0], "L", size, "lanczos")
        assert np.array_equal(chosen[0], expected)
        assert not np.array_equal(other[0], expected), size  # the order matters here, so the test can fail
