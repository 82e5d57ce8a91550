"""The `image_folder` front end: a camera's uint8 HWC frame -> the model input, as training made it.

Training (data.images) decodes each file with Pillow, converts it to the colour mode
and resizes it to image_size with `interpolation`; the model divides by dataset.scale.
The firmware's camera delivers frames of `frame_size` (default image_size), so the
front end is: resize frame_size -> image_size with Pillow's filter, then / scale and
quantize. features() and the C are Pillow's fixed-point resize bit for bit
(frontend.resample), so on a frame they give exactly what Pillow gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tflmake.errors import BuildError
from tflmake.frontend import resample
from tflmake.frontend.image_c import render_image
from tflmake.spec.sections import DatasetSection
from tflmake.tflite.quantize import Quantization

# color_mode -> (Pillow mode, channel order); data.images.COLOR_MODES has the same modes.
CHANNELS = {"grayscale": ("L", ("L",)), "rgb": ("RGB", ("R", "G", "B")),
            "rgba": ("RGBA", ("R", "G", "B", "A"))}


def contract(options: DatasetSection, **measured: Any) -> dict[str, Any]:
    """Every step from a camera frame to the model's float input, with every constant."""
    del measured  # nothing is measured: every constant comes from the spec and Pillow
    height, width = options.get("image_size", [256, 256])
    frame = options.get("frame_size", [height, width])
    mode, channels = CHANNELS[options.get("color_mode", "rgb")]
    interpolation = options.get("interpolation", "bilinear")
    scale = float(options.get("scale", 1.0))
    resizes = list(frame) != [height, width]
    premultiplied = resizes and resample.premultiplied(mode, interpolation)
    steps: list[dict[str, Any]] = []
    if premultiplied:
        steps.append({"op": "premultiply_alpha", "formula": "t = c * a + 128; c = ((t >> 8) + t) >> 8",
                      "channels": ["R", "G", "B"]})
    steps.append(_resize_step((frame[0], frame[1]), (height, width), interpolation if resizes else "none"))
    if premultiplied:
        steps.append({"op": "unpremultiply_alpha",
                      "formula": "c = min(255, 255 * c // a) unless a is 0 or 255",
                      "channels": ["R", "G", "B"]})
    steps.append({"op": "divide", "by": scale, "dtype": "float32"})
    return {
        "type": options["type"],
        "raw": {"dtype": "uint8", "shape": [*frame, len(channels)],
                "layout": f"HWC: rows top to bottom, pixels left to right, channels {','.join(channels)}"},
        "channels": list(channels),
        "pillow_mode": mode,
        "interpolation": interpolation,
        "steps": steps,
        "features_shape": [height, width, len(channels)],
        "scale": scale,
    }


def _resize_step(frame: tuple[int, int], size: tuple[int, int], interpolation: str) -> dict[str, Any]:
    step: dict[str, Any] = {"op": "resize", "filter": interpolation, "from": list(frame), "to": list(size),
                            "library": f"Pillow {_pillow_version()} Image.resize (no reducing_gap)"}
    if interpolation not in ("none", "nearest"):
        vertical = resample.vertical_first(frame, size)
        order = [axis for axis, changes in (("columns", frame[1] != size[1]), ("rows", frame[0] != size[0]))
                 if changes]
        step |= {"passes": order[::-1] if vertical else order,
                 "fixed_point_bits": resample.PRECISION_BITS}
    return step


def _pillow_version() -> str:
    try:
        import PIL
    except ImportError:
        return "(not installed)"
    return str(PIL.__version__)


def _resize(contract: dict[str, Any]) -> dict[str, Any]:
    return next(step for step in contract["steps"] if step["op"] == "resize")


def features(raw: np.ndarray, contract: dict[str, Any]) -> np.ndarray:
    """uint8 frames (batch, *raw shape) -> float32 (batch, *features_shape), already / scale."""
    expected = tuple(contract["raw"]["shape"])
    if raw.dtype != np.uint8 or raw.shape[1:] != expected:
        raise ValueError(f"expected uint8 frames of shape (batch, {', '.join(map(str, expected))}); "
                         f"got {raw.dtype} {raw.shape}")
    step = _resize(contract)
    pixels = raw
    if step["filter"] != "none":
        vertical = step.get("passes", ["columns"])[0] == "rows"
        pixels = resample.resize(raw, tuple(step["to"]), step["filter"], contract["pillow_mode"], vertical)
    return pixels.astype(np.float32) / np.float32(contract["scale"])


def read_raw(path: str, contract: dict[str, Any]) -> np.ndarray:
    """One image file as the camera frame the firmware would get: (frame height, width, channels).

    The file is decoded and converted to the colour mode as training does; a file whose size
    is not frame_size is first resized to it with the same Pillow filter. Its pixels then
    went through two resizes (file -> frame -> image_size) where training did one
    (file -> image_size), so a verification over such files measures that difference too,
    honestly: a camera delivering frame_size would see the same.
    """
    from PIL import Image, UnidentifiedImageError

    height, width, channels = contract["raw"]["shape"]
    try:
        with Image.open(path) as image:
            converted = image.convert(contract["pillow_mode"])
            if converted.size != (width, height):
                converted = converted.resize((width, height), Image.Resampling[contract["interpolation"].upper()])
            return np.asarray(converted, dtype=np.uint8).reshape(height, width, channels).copy()
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise BuildError(f"dataset.path: cannot read image {path}: {error}") from None


def render(prefix: str, contract: dict[str, Any], quantization: Quantization) -> tuple[str, str]:
    """(`<prefix>_frontend.h`, `<prefix>_frontend.c`): the steps in C99, no allocation."""
    return render_image(prefix, contract, quantization)
