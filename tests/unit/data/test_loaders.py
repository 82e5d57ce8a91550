"""Data set loaders that need no TensorFlow: image folders, CSV windows, Python entries, WAV reading."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from tests.datafixtures import write_image_folder, write_sensor_csv, write_wav
from tests.support import data_set_spec
from tflmake.builders import dataset
from tflmake.data.audio import read_wav
from tflmake.data.csvwindows import windows
from tflmake.errors import BuildError
from tflmake.paths import Layout
from tflmake.spec.load import load_spec


def build_dataset(folder: Path, dataset_table: str) -> dict[str, np.ndarray]:
    """Build dataset.npz for a spec in `folder` and return the arrays as stored."""
    spec = load_spec(data_set_spec(folder, dataset_table))
    layout = Layout(str(folder / "build"))
    dataset.build(spec, layout)
    return dataset.read_stored(layout, spec.name)


def test_image_folder_labels_are_sorted_folder_names_and_pixels_stay_uint8(tmp_path: Path) -> None:
    """Classes come out alphabetically (Keras's convention) and samples are stored as uint8 with their scale."""
    write_image_folder(tmp_path / "images", {"zebra": 3, "ant": 4, "moth": 3})
    arrays = build_dataset(tmp_path, '[dataset]\ntype = "image_folder"\npath = "images"\n'
                                     "image_size = [8, 6]\nscale = 255.0\n")
    assert arrays["labels"].tolist() == ["ant", "moth", "zebra"]
    assert arrays["x_train"].dtype == np.uint8 and arrays["x_train"].shape[1:] == (8, 6, 3)
    assert len(arrays["x_train"]) + len(arrays["x_test"]) == 10
    assert arrays["x_scale"].tolist() == [255.0]
    for part in ("train", "test"):
        for name, label in zip(arrays[f"files_{part}"], arrays[f"y_{part}"], strict=True):
            assert name.split("/")[0] == arrays["labels"][label]


def test_image_folder_pixels_match_the_file_when_not_resized(tmp_path: Path) -> None:
    """A same-size image is stored byte for byte; read_split gives it divided by scale as float32."""
    from PIL import Image

    write_image_folder(tmp_path / "images", {"a": 2, "b": 2}, size=(5, 7))
    spec_table = '[dataset]\ntype = "image_folder"\npath = "images"\nimage_size = [5, 7]\nscale = 255.0\n'
    stored = build_dataset(tmp_path, spec_table)
    first = stored["files_train"][0]
    expected = np.asarray(Image.open(tmp_path / "images" / first))
    assert np.array_equal(stored["x_train"][0], expected)
    scaled = dataset.read_split(Layout(str(tmp_path / "build")), "demo", ("x_train",))
    assert scaled["x_train"].dtype == np.float32
    assert np.array_equal(scaled["x_train"][0], expected.astype(np.float32) / np.float32(255.0))


def test_image_folder_grayscale_and_class_names_choose_channels_and_label_order(tmp_path: Path) -> None:
    """color_mode = grayscale gives one channel; class_names orders and subsets the classes."""
    write_image_folder(tmp_path / "images", {"a": 2, "b": 2, "c": 2})
    arrays = build_dataset(tmp_path, '[dataset]\ntype = "image_folder"\npath = "images"\nimage_size = [4, 4]\n'
                                     'color_mode = "grayscale"\nclass_names = ["c", "a"]\n')
    assert arrays["labels"].tolist() == ["c", "a"]
    assert arrays["x_train"].shape[1:] == (4, 4, 1)
    assert len(arrays["x_train"]) + len(arrays["x_test"]) == 4


def test_image_folder_with_test_folder_needs_the_same_classes(tmp_path: Path) -> None:
    """A separate test folder becomes the test split; a different class list is an error."""
    write_image_folder(tmp_path / "train", {"a": 3, "b": 3})
    write_image_folder(tmp_path / "test", {"a": 1, "b": 2})
    table = '[dataset]\ntype = "image_folder"\npath = "train"\ntest_path = "test"\nimage_size = [4, 4]\n'
    arrays = build_dataset(tmp_path, table)
    assert len(arrays["x_train"]) == 6 and arrays["y_test"].tolist() == [0, 1, 1]
    write_image_folder(tmp_path / "test", {"c": 1})
    with pytest.raises(BuildError, match="test_path: .* has class folders a, b, c; expected the same"):
        build_dataset(tmp_path, table)


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    """A corrupt image fails the data set with the file's path, not a Pillow traceback."""
    write_image_folder(tmp_path / "images", {"a": 2, "b": 2})
    (tmp_path / "images" / "b" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(BuildError, match=r"cannot read image .*images/b/broken\.png"):
        build_dataset(tmp_path, '[dataset]\ntype = "image_folder"\npath = "images"\nimage_size = [4, 4]\n')


def test_csv_windows_never_span_a_label_change(tmp_path: Path) -> None:
    """Runs of one label are windowed on their own; string labels map to sorted class indices."""
    write_sensor_csv(tmp_path / "imu.csv", rows_per_run=10, runs=["walk", "run", "walk"])
    arrays = build_dataset(tmp_path, '[dataset]\ntype = "csv"\npath = "imu.csv"\ncolumns = ["ax", "az"]\n'
                                     'label_column = "activity"\nwindow = 4\nstride = 3\n')
    # Each run of 10 rows gives windows starting at 0, 3, 6: 3 per run, 9 in all.
    assert len(arrays["x_train"]) + len(arrays["x_test"]) == 9
    assert arrays["x_train"].dtype == np.float32 and arrays["x_train"].shape[1:] == (4, 2)
    assert arrays["labels"].tolist() == ["run", "walk"]


def test_appending_csv_rows_moves_no_existing_window_between_splits(tmp_path: Path) -> None:
    """A window's split is a hash of its values: rows appended (a longer last run, a new run) move no window."""
    table = ('[dataset]\ntype = "csv"\npath = "imu.csv"\ncolumns = ["ax", "ay", "az"]\n'
             'label_column = "activity"\nwindow = 4\nstride = 2\n')
    runs = ["walk", "run", "sit", "walk", "run", "sit"]
    write_sensor_csv(tmp_path / "imu.csv", rows_per_run=20, runs=runs)
    before = build_dataset(tmp_path, table)
    # The same generator continues: the old rows stay as they were, the last run grows and a run follows.
    write_sensor_csv(tmp_path / "imu.csv", rows_per_run=20, runs=[*runs, "sit", "walk"])
    after = build_dataset(tmp_path, table)
    assert len(after["x_train"]) + len(after["x_test"]) > len(before["x_train"]) + len(before["x_test"])
    for part in ("train", "test"):
        windows_after = {window.tobytes() for window in after[f"x_{part}"]}
        assert {window.tobytes() for window in before[f"x_{part}"]} <= windows_after, part


def test_csv_window_values_are_the_rows_in_order() -> None:
    """A window holds consecutive rows; a run shorter than the window gives no sample."""
    values = np.arange(14, dtype=np.float32).reshape(7, 2)
    x, y = windows(values, np.array([0, 0, 0, 1, 1, 1, 1]), {"window": 3, "stride": 1})
    assert y.tolist() == [0, 1, 1]
    assert x[1].tolist() == [[6, 7], [8, 9], [10, 11]]
    x, _ = windows(values, np.array([0, 0, 1, 1, 1, 1, 1]), {"window": 3})
    assert len(x) == 1


def test_csv_missing_column_and_bad_number_are_named(tmp_path: Path) -> None:
    """A column not in the header, or a non-number, names the file (and row)."""
    (tmp_path / "imu.csv").write_text("ax,label\n1.0,0\nx,0\n")
    table = '[dataset]\ntype = "csv"\npath = "imu.csv"\ncolumns = ["{column}"]\nlabel_column = "label"\nwindow = 1\n'
    with pytest.raises(BuildError, match='has no column "ay"'):
        build_dataset(tmp_path, table.format(column="ay"))
    with pytest.raises(BuildError, match=r"imu\.csv row 3: expected numbers in ax"):
        build_dataset(tmp_path, table.format(column="ax"))


def test_python_entry_returns_arrays_imported_from_the_spec_folder(tmp_path: Path) -> None:
    """entry = "module:function" runs the function from the spec's folder; its helper imports work."""
    (tmp_path / "helper_for_data.py").write_text("import numpy as np\nCOUNT = 10\n")
    (tmp_path / "mydata.py").write_text(
        "import numpy as np\nfrom helper_for_data import COUNT\n"
        "def load():\n    return {'x': np.arange(COUNT * 4).reshape(COUNT, 4), 'y': np.arange(COUNT) % 2,"
        " 'labels': ['even', 'odd']}\n")
    arrays = build_dataset(tmp_path, '[dataset]\ntype = "python"\nentry = "mydata:load"\n')
    assert len(arrays["x_train"]) + len(arrays["x_test"]) == 10
    assert arrays["labels"].tolist() == ["even", "odd"]


def test_python_entry_with_wrong_return_value_says_what_was_expected(tmp_path: Path) -> None:
    """Returning something other than the documented dict is one clear error."""
    (tmp_path / "mydata.py").write_text("def load():\n    return [1, 2]\n")
    with pytest.raises(BuildError, match=r'"mydata:load" returned list; expected a dict with x and y'):
        build_dataset(tmp_path, '[dataset]\ntype = "python"\nentry = "mydata:load"\n')


def test_read_wav_pads_short_clips_and_rejects_other_rates(tmp_path: Path) -> None:
    """A short clip is zero-padded to clip length; a 8 kHz file against 16 kHz is an error."""
    write_wav(tmp_path / "short.wav", 1000.0, milliseconds=500)
    clip = read_wav(str(tmp_path / "short.wav"), 16000, 16000)
    assert clip.shape == (16000,) and clip.dtype == np.int16
    assert np.abs(clip[:8000]).max() == pytest.approx(0.5 * 32767, abs=2) and not clip[8000:].any()
    write_wav(tmp_path / "slow.wav", 1000.0, sample_rate=8000)
    with pytest.raises(BuildError, match="is 8000 Hz, 1 channel.*expected 16000 Hz mono"):
        read_wav(str(tmp_path / "slow.wav"), 16000, 16000)


def test_read_wav_rejects_stereo(tmp_path: Path) -> None:
    """Stereo clips are not silently mixed: the front end expects mono."""
    write_wav(tmp_path / "stereo.wav", 440.0, channels=2)
    with wave.open(str(tmp_path / "stereo.wav")) as clip:
        assert clip.getnchannels() == 2
    with pytest.raises(BuildError, match="2 channel"):
        read_wav(str(tmp_path / "stereo.wav"), 16000, 16000)


def test_two_spec_folders_with_a_helper_of_the_same_name_each_get_their_own(tmp_path: Path) -> None:
    """A data entry's neighbour modules are not shared through sys.modules between specs."""
    for number in (1, 2):
        folder = tmp_path / f"spec{number}"
        folder.mkdir()
        (folder / "helper.py").write_text(f"COUNT = {number * 5}\n")
        (folder / "mydata.py").write_text(
            "import numpy as np\nfrom helper import COUNT\n"
            "def load():\n    return {'x': np.zeros((COUNT, 4)), 'y': np.zeros(COUNT)}\n")
    counts = [sum(len(build_dataset(tmp_path / f"spec{n}", '[dataset]\ntype = "python"\nentry = "mydata:load"\n')[k])
                  for k in ("x_train", "x_test")) for n in (1, 2)]
    assert counts == [5, 10]


def test_python_entry_extra_inputs_are_split_and_scaled_with_x(tmp_path: Path) -> None:
    """x1 (a model's second input) follows x into the same train/test rows and is divided by scale."""
    (tmp_path / "mydata.py").write_text(
        "import numpy as np\n"
        "def load():\n"
        "    return {'x': np.arange(20.0).reshape(10, 2), 'x1': np.arange(10.0) * 2, 'y': np.arange(10)}\n")
    arrays = build_dataset(tmp_path, '[dataset]\ntype = "python"\nentry = "mydata:load"\nscale = 2.0\n')
    for part in ("train", "test"):
        assert np.array_equal(arrays[f"x1_{part}"], arrays[f"y_{part}"].astype(np.float32))
        assert np.array_equal(arrays[f"x_{part}"][:, 0], arrays[f"y_{part}"].astype(np.float32))
