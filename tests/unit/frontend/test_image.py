"""The image front end: its contract, its NumPy features (Pillow bit for bit) and its C (the same bits)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.datafixtures import write_image_folder
from tests.support import data_set_spec, require_tool
from tests.unit.frontend import compile_c
from tflmake.data.images import COLOR_MODES, decode_images
from tflmake.errors import BuildError
from tflmake.frontend import image
from tflmake.spec.load import load_spec
from tflmake.spec.sections import DatasetSection
from tflmake.tflite.quantize import Quantization, quantize

INT8 = Quantization(np.dtype(np.int8), 1 / 255, -128)
FILTERS = ["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"]


def options(tmp_path: Path, table: str) -> DatasetSection:
    """The dataset section as the spec loader fills it (defaults, validation) for `table`."""
    if not (tmp_path / "images").exists():
        write_image_folder(tmp_path / "images", {"a": 1})
    spec = load_spec(data_set_spec(tmp_path, f'[dataset]\ntype = "image_folder"\npath = "images"\n{table}'))
    assert spec.dataset is not None
    return spec.dataset


def random_frames(contract: dict[str, Any], count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (count, *contract["raw"]["shape"]), dtype=np.uint8)
    if contract["pillow_mode"] == "RGBA":  # the alpha values where premultiplying rounds at its edges
        frames[..., 3] = rng.choice([0, 1, 7, 128, 254, 255, 200], frames.shape[:-1])
    return frames


def test_contract_lists_every_step_with_its_constants(tmp_path: Path) -> None:
    """An RGBA frame of frame_size: premultiply, Pillow's resize (order, precision), unpremultiply, / scale."""
    contract = image.contract(options(tmp_path, 'image_size = [32, 32]\nframe_size = [48, 64]\ncolor_mode = "rgba"\n'
                                                'interpolation = "bicubic"\nscale = 255.0\n'))
    assert contract["type"] == "image_folder"
    assert contract["raw"]["dtype"] == "uint8" and contract["raw"]["shape"] == [48, 64, 4]
    assert contract["channels"] == ["R", "G", "B", "A"] and "R,G,B,A" in contract["raw"]["layout"]
    assert [step["op"] for step in contract["steps"]] == ["premultiply_alpha", "resize", "unpremultiply_alpha",
                                                          "divide"]
    resize = contract["steps"][1]
    assert (resize["filter"], resize["from"], resize["to"]) == ("bicubic", [48, 64], [32, 32])
    assert resize["passes"] == ["columns", "rows"] and resize["fixed_point_bits"] == 22
    assert resize["library"].startswith("Pillow ")
    assert contract["steps"][-1] == {"op": "divide", "by": 255.0, "dtype": "float32"}
    assert contract["features_shape"] == [32, 32, 4] and contract["scale"] == 255.0


def test_frame_size_defaults_to_image_size_and_then_nothing_is_resized(tmp_path: Path) -> None:
    """Without frame_size the frame is image_size: the resize step says "none" and RGBA is not premultiplied."""
    contract = image.contract(options(tmp_path, 'image_size = [8, 6]\ncolor_mode = "rgba"\n'))
    assert contract["raw"]["shape"] == [8, 6, 4]
    assert [step["op"] for step in contract["steps"]] == ["resize", "divide"]
    assert contract["steps"][0]["filter"] == "none"
    frames = random_frames(contract, 2)
    assert np.array_equal(image.features(frames, contract), frames.astype(np.float32))


def test_channel_orders_cover_the_loaders_color_modes() -> None:
    """Every color_mode the loader decodes has a channel order here, with the same Pillow mode and count."""
    assert {name: (mode, len(order)) for name, (mode, order) in image.CHANNELS.items()} == COLOR_MODES


@pytest.mark.parametrize("color_mode", ["grayscale", "rgb", "rgba"])
@pytest.mark.parametrize("interpolation", FILTERS)
def test_features_of_the_raw_files_equal_the_loaders_pixels(tmp_path: Path, color_mode: str,
                                                            interpolation: str) -> None:
    """Files of frame_size, read as raw frames and run through the contract, give the loader's pixels / scale."""
    paths = [str(path) for path in write_image_folder(tmp_path / "images", {"a": 2, "b": 2}, size=(12, 10))]
    dataset = options(tmp_path, f'image_size = [7, 9]\nframe_size = [12, 10]\ncolor_mode = "{color_mode}"\n'
                                f'interpolation = "{interpolation}"\nscale = 255.0\n')
    contract = image.contract(dataset)
    raw = np.stack([image.read_raw(path, contract) for path in paths])
    expected = decode_images(paths, dataset).astype(np.float32) / np.float32(255.0)
    assert np.array_equal(image.features(raw, contract), expected)


def test_read_raw_resizes_a_file_of_another_size_to_the_frame(tmp_path: Path) -> None:
    """A file not of frame_size is resized to it by Pillow: with no front-end resize that is the loader's image."""
    paths = [str(path) for path in write_image_folder(tmp_path / "images", {"a": 2}, size=(12, 10))]
    dataset = options(tmp_path, 'image_size = [7, 9]\ninterpolation = "lanczos"\n')
    contract = image.contract(dataset)
    raw = np.stack([image.read_raw(path, contract) for path in paths])
    assert raw.shape == (2, 7, 9, 3)
    assert np.array_equal(image.features(raw, contract), decode_images(paths, dataset).astype(np.float32))


def test_read_raw_of_a_broken_file_names_it(tmp_path: Path) -> None:
    """A file Pillow cannot decode is a BuildError naming the file."""
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    contract = image.contract(options(tmp_path, "image_size = [4, 4]\n"))
    with pytest.raises(BuildError, match="broken.png"):
        image.read_raw(str(broken), contract)


@pytest.mark.parametrize(("color_mode", "interpolation", "frame", "size", "quantization"), [
    ("rgb", "bilinear", (24, 32), (12, 12), INT8),
    ("rgb", "bicubic", (40, 12), (7, 30), Quantization(np.dtype(np.uint8), 1 / 255, 0)),
    ("grayscale", "lanczos", (9, 13), (20, 24), INT8),
    ("grayscale", "box", (12, 17), (12, 5), INT8),
    ("rgba", "hamming", (12, 17), (3, 17), INT8),
    ("rgba", "bilinear", (20, 24), (9, 13), Quantization(np.dtype(np.float32), 0.0, 0)),
    ("rgba", "nearest", (20, 24), (9, 31), INT8),
    ("rgb", "nearest", (8, 8), (8, 8), Quantization(np.dtype(np.int16), 1 / 4096, 0)),
])
def test_c_front_end_gives_the_quantized_features_exactly(tmp_path: Path, color_mode: str, interpolation: str,
                                                         frame: tuple[int, int], size: tuple[int, int],
                                                         quantization: Quantization) -> None:
    """Compiled with the host gcc (-std=c99 -pedantic -Werror) and run on raw frames: every element equals Python's."""
    gcc = require_tool("gcc")
    contract = image.contract({"type": "image_folder", "path": "images", "image_size": list(size),
                               "frame_size": list(frame), "color_mode": color_mode,
                               "interpolation": interpolation, "scale": 255.0})
    frames = random_frames(contract, 3)
    header, source = image.render("demo_int8", contract, quantization)
    got = compile_c.run_host(gcc, tmp_path, "demo_int8", header, source, frames, quantization.dtype)
    expected = quantize(image.features(frames, contract), quantization).reshape(len(frames), -1)
    assert np.array_equal(got, expected)


def test_header_states_every_constant(tmp_path: Path) -> None:
    """The header names the frame, the image, the channels, the filter, the scale and the buffer sizes."""
    contract = image.contract(options(tmp_path, 'image_size = [32, 32]\nframe_size = [48, 64]\nscale = 255.0\n'))
    header, _ = image.render("cam_int8", contract, INT8)
    for line in ["#define CAM_INT8_FRONTEND_FRAME_HEIGHT 48", "#define CAM_INT8_FRONTEND_FRAME_WIDTH 64",
                 "#define CAM_INT8_FRONTEND_CHANNELS 3  /* R, G, B */", "#define CAM_INT8_FRONTEND_IMAGE_HEIGHT 32",
                 "#define CAM_INT8_FRONTEND_IMAGE_WIDTH 32", "#define CAM_INT8_FRONTEND_SCALE 255.0f",
                 "#define CAM_INT8_FRONTEND_RAW_ELEMENTS 9216", "#define CAM_INT8_FRONTEND_OUTPUT_ELEMENTS 3072",
                 "#define CAM_INT8_FRONTEND_SCRATCH_BYTES 288  /* ", 'Pillow "bilinear" 48x64 -> 32x32',
                 "int cam_int8_frontend(const cam_int8_frontend_raw_t raw[CAM_INT8_FRONTEND_RAW_ELEMENTS],"]:
        assert line in header


@pytest.mark.parametrize(("frame", "size", "scratch"), [
    ((240, 320), (96, 96), 5 * 96 * 3),  # horizontal first: a ring of the 5 rows the vertical taps span
    ((240, 100), (40, 120), 100 * 3),  # vertical first: one row of the frame's used columns
    ((12, 17), (3, 17), 0),  # one pass: straight from the frame into the output
])
def test_c_front_end_keeps_only_the_rows_it_needs(frame: tuple[int, int], size: tuple[int, int],
                                                  scratch: int) -> None:
    """The static RAM is a few rows, never an intermediate image, and the header says how much."""
    contract = image.contract({"type": "image_folder", "path": "images", "image_size": list(size),
                               "frame_size": list(frame), "color_mode": "rgb", "interpolation": "bilinear"})
    header, _ = image.render("cam_int8", contract, INT8)
    assert f"#define CAM_INT8_FRONTEND_SCRATCH_BYTES {scratch}  " in header


def test_c_front_end_compiles_for_cortex_m4(tmp_path: Path) -> None:
    """arm-none-eabi-gcc for a Cortex-M4 with its FPU compiles the premultiplied two-pass C without a warning."""
    gcc = require_tool("arm-none-eabi-gcc")
    contract = image.contract({"type": "image_folder", "path": "images", "image_size": [32, 32],
                               "frame_size": [96, 120], "color_mode": "rgba", "interpolation": "lanczos",
                               "scale": 255.0})
    header, source = image.render("cam_int8", contract, INT8)
    try:
        assert compile_c.compile_cortex_m4(gcc, tmp_path, "cam_int8", header, source).stat().st_size > 0
    except subprocess.CalledProcessError as error:
        pytest.fail(error.stderr)
