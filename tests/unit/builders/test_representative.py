"""Calibration samples: seeded at random, or exactly the positions or files a spec lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.datafixtures import write_image_folder
from tests.support import write_spec
from tflmake.builders import dataset, representative
from tflmake.errors import BuildError
from tflmake.npzio import load_npz
from tflmake.paths import Layout
from tflmake.spec.load import load_spec

SPEC = """
[model.source]
type = "layers"
input_shape = [4, 4, 3]
layers = [{ type = "Flatten" }, { type = "Dense", units = 2 }]

[dataset]
type = "image_folder"
path = "images"
image_size = [4, 4]
scale = 255.0

[[variant]]
name = "int8"
quantize = "int8"
"""


def calibrate(folder: Path, representative_table: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(representative x, the data set as read_split gives it) for SPEC plus a [representative] table."""
    spec = load_spec(write_spec(folder, SPEC + representative_table))
    layout = Layout(str(folder / "build"))
    dataset.build(spec, layout)
    representative.build(spec, layout)
    return load_npz(layout.representative(spec.name))["x"], dataset.read_split(layout, spec.name)


@pytest.fixture
def images(tmp_path: Path) -> Path:
    write_image_folder(tmp_path / "images", {"a": 5, "b": 5})
    return tmp_path


def test_indices_choose_those_training_rows_in_order_scaled(images: Path) -> None:
    """indices = [3, 0] gives training rows 3 then 0, as float32 divided by scale."""
    chosen, split = calibrate(images, "[representative]\nindices = [3, 0]\n")
    assert chosen.dtype == np.float32
    assert np.array_equal(chosen, split["x_train"][[3, 0]])


def test_indices_file_takes_positions_and_file_names(images: Path) -> None:
    """A calibration list may name training files by their path in the data folder, or positions."""
    spec = load_spec(write_spec(images, SPEC))
    dataset.build(spec, Layout(str(images / "build")))
    files = dataset.read_stored(Layout(str(images / "build")), "demo")["files_train"].tolist()
    (images / "calibration.txt").write_text(f"# published list\n{files[4]}\n\n2\n")
    chosen, split = calibrate(images, '[representative]\nindices_file = "calibration.txt"\n')
    assert np.array_equal(chosen, split["x_train"][[4, 2]])


def test_indices_file_entry_not_in_the_training_split_is_named(images: Path) -> None:
    """A listed file that is not a training sample (e.g. it went to the test split) is an error, with its line."""
    (images / "calibration.txt").write_text("0\na/missing.png\n")
    with pytest.raises(BuildError, match=r'calibration\.txt entry 2 "a/missing\.png" is not in the training split'):
        calibrate(images, '[representative]\nindices_file = "calibration.txt"\n')


def test_index_beyond_the_training_split_is_an_error(images: Path) -> None:
    """A position past the end of the training split names the limit."""
    with pytest.raises(BuildError, match=r"representative.indices: position 99 is beyond the training split \(8 "):
        calibrate(images, "[representative]\nindices = [1, 99]\n")


def test_seeded_samples_still_choose_the_same_rows(images: Path) -> None:
    """Without indices the draw is the seeded one it always was (sorted positions)."""
    chosen, split = calibrate(images, "[representative]\nsamples = 3\nseed = 4\n")
    expected = np.sort(np.random.default_rng(4).choice(8, 3, replace=False))
    assert np.array_equal(chosen, split["x_train"][expected])


def test_samples_next_to_indices_is_an_error(images: Path) -> None:
    """samples or seed beside indices would be silently ignored, so the spec says so instead."""
    from tests.support import spec_problems

    assert spec_problems(images, SPEC + "[representative]\nindices = [1]\nseed = 3\n") == [
        "representative.seed: not used when representative.indices chooses the samples; remove it"]
