"""dataset.npz stores samples compactly: uint8 stays uint8 (with its scale), float data is unchanged."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from tests.datafixtures import write_image_folder
from tests.support import data_set_spec
from tflmake.builders import dataset
from tflmake.npzio import save_npz
from tflmake.paths import Layout
from tflmake.spec.load import load_spec


def test_300_images_of_96x96x3_take_uint8_space_not_float32(tmp_path: Path) -> None:
    """The issue's case: 300 RGB 96x96 images are ~8.3 MB stored, not the 33 MB float32 would need."""
    write_image_folder(tmp_path / "images", {"a": 150, "b": 150}, size=(96, 96))
    spec = load_spec(data_set_spec(tmp_path, '[dataset]\ntype = "image_folder"\npath = "images"\n'
                                                 "image_size = [96, 96]\nscale = 255.0\n"))
    dataset.build(spec, Layout(str(tmp_path / "build")))
    size = (tmp_path / "build" / "demo" / "dataset.npz").stat().st_size
    assert 300 * 96 * 96 * 3 <= size < 300 * 96 * 96 * 3 + 64 * 1024


def test_digits_stay_float32_scaled_without_a_stored_scale(tmp_path: Path) -> None:
    """Float sources are stored as before (divided by scale), so existing builds keep their bytes."""
    from sklearn.datasets import load_digits

    spec = load_spec(data_set_spec(tmp_path, '[dataset]\ntype = "digits"\nscale = 16.0\nshape = [8, 8]\n'))
    layout = Layout(str(tmp_path / "build"))
    dataset.build(spec, layout)
    stored = dataset.read_stored(layout, "demo")
    assert "x_scale" not in stored and stored["x_train"].dtype == np.float32
    order = np.random.default_rng(0).permutation(1797)
    expected = load_digits().data[order[:1438]].astype(np.float32) / np.float32(16.0)
    assert np.array_equal(stored["x_train"].reshape(1438, 64), expected)


def test_streamed_npz_has_the_bytes_of_a_buffered_one(tmp_path: Path) -> None:
    """Writing arrays straight into the archive gives the same bytes the buffered writer gave."""
    arrays = {"x": np.arange(1000, dtype=np.float32).reshape(10, 100), "labels": np.array(["a", "bb"])}
    save_npz(tmp_path / "streamed.npz", arrays)
    buffered = io.BytesIO()
    with zipfile.ZipFile(buffered, "w") as archive:
        for name in sorted(arrays):
            entry = io.BytesIO()
            np.lib.format.write_array(entry, arrays[name], allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", (1980, 1, 1, 0, 0, 0)), entry.getvalue())
    assert (tmp_path / "streamed.npz").read_bytes() == buffered.getvalue()


def test_read_split_loads_only_the_arrays_asked_for(tmp_path: Path) -> None:
    """A consumer of the test split gets x_test scaled to float32 and no training arrays."""
    write_image_folder(tmp_path / "images", {"a": 3, "b": 3})
    spec = load_spec(data_set_spec(tmp_path, '[dataset]\ntype = "image_folder"\npath = "images"\n'
                                                 "image_size = [4, 4]\nscale = 2.0\n"))
    layout = Layout(str(tmp_path / "build"))
    dataset.build(spec, layout)
    split = dataset.read_split(layout, "demo", ("x_test", "y_test"))
    assert set(split) == {"x_test", "y_test"}
    raw = dataset.read_stored(layout, "demo", ("x_test",))["x_test"]
    assert np.array_equal(split["x_test"], raw.astype(np.float32) / 2)
