"""Build `dataset.npz`: the data set loaded, reshaped and split once for every consumer.

uint8 sources (images, MNIST) are stored as uint8 with their `scale` beside them
(`x_scale`), and divided where they are read (`read_split`): 300 96x96x3 images
take 8 MB, not 33 MB of float32. Other inputs are stored as float32, scaled.
"""

from __future__ import annotations

import re
from collections.abc import Container
from pathlib import Path
from typing import Literal

import numpy as np

from tflmake.data.audio import load_audio_folder
from tflmake.data.csvwindows import load_csv_windows
from tflmake.data.entry import load_python_entry
from tflmake.data.images import load_image_folder
from tflmake.data.splits import split_indices
from tflmake.errors import BuildError
from tflmake.frontend.table import FRONT_ENDS, FrontEnd
from tflmake.ml.datacheck import check_loaded, check_split
from tflmake.npzio import load_npz, save_npz
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec
from tflmake.spec.sections import DatasetSection

Arrays = dict[str, np.ndarray]


def build(spec: ModelSpec, layout: Layout) -> None:
    assert spec.dataset is not None
    options = spec.dataset
    loaded = LOADERS[options["type"]](spec)
    check_loaded(loaded, options, data_origin(spec), spec.evaluation["task"])
    arrays = loaded if "x_test" in loaded else split(loaded, options)
    front_end = FRONT_ENDS.get(options["type"])
    if front_end is not None:
        raw_samples = raw_test(spec, front_end, arrays)
        # Frames already at the image size are the stored (uint8) test inputs: not stored twice.
        if raw_samples.dtype != np.uint8 or arrays["x_test"].dtype != np.uint8 or \
                not np.array_equal(raw_samples, arrays["x_test"]):
            arrays["raw_test"] = raw_samples
    raw = all(arrays[name].dtype == np.uint8 for part in ("train", "test") for name in input_names(arrays, part))
    for part in ("train", "test"):
        arrays[f"x_{part}"] = prepare_inputs(arrays[f"x_{part}"], options, raw)
        for extra in input_names(arrays, part)[1:]:  # the model's other inputs: as given, scaled
            arrays[extra] = arrays[extra] if raw else arrays[extra].astype(np.float32) / np.float32(
                options.get("scale", 1.0))
    if raw:
        arrays["x_scale"] = np.array([options.get("scale", 1.0)], dtype=np.float32)
    check_split(arrays, spec.source.get("input_shape"), "model.source.input_shape")
    save_npz(layout.dataset(spec.name), arrays)


def raw_test(spec: ModelSpec, front_end: FrontEnd, arrays: Arrays) -> np.ndarray:
    """The test split as raw sensor data (what the C front end takes), read again from its files.

    Types without files per sample (CSV windows) keep their loaded, unscaled samples.
    """
    assert spec.dataset is not None
    if front_end.read_raw is None:
        return np.array(arrays["x_test"], copy=True)
    contract = front_end.contract(spec.dataset)
    root = spec.resolve(spec.dataset.get("test_path", spec.dataset["path"]))
    return np.stack([front_end.read_raw(f"{root}/{name}", contract) for name in arrays["files_test"]])


def data_origin(spec: ModelSpec) -> dict[str, str]:
    """Where each loaded x/y pair came from, for error messages: `dataset.path: <file>`, or the type."""
    assert spec.dataset is not None
    options = spec.dataset
    if "path" not in options:
        return {"": f'dataset (type = "{options["type"]}")'}
    main = f"dataset.path: {spec.resolve(options['path'])}"
    test = f"dataset.test_path: {spec.resolve(options['test_path'])}" if "test_path" in options else main
    return {"": main, "_train": main, "_test": test}


def split(arrays: Arrays, options: DatasetSection) -> Arrays:
    """A seeded shuffle, then the last `test_fraction` of it becomes the test split."""
    samples = {name: arrays.pop(name) for name in [*input_names(arrays, None), "y"]}
    train, test = split_indices(len(samples["x"]), options)
    for name, values in samples.items():
        arrays |= {f"{name}_train": values[train], f"{name}_test": values[test]}
    return arrays


def input_names(arrays: Container[str], part: str | None) -> list[str]:
    """The input arrays of a split in model input order: x_<part>, then x1_<part>, x2_<part>, ...

    A model with more than one input gets its first input from `x` and input k from `xk`.
    """
    suffix = f"_{part}" if part else ""
    names = [f"x{suffix}"]
    while f"x{len(names)}{suffix}" in arrays:
        names.append(f"x{len(names)}{suffix}")
    return names


def prepare_inputs(x: np.ndarray, options: DatasetSection, raw: bool = False) -> np.ndarray:
    """Samples reshaped to `shape`; scaled to float32 now unless they are kept `raw` (uint8)."""
    if not raw:
        x = x.astype(np.float32) / np.float32(options.get("scale", 1.0))
    if "shape" in options:
        shape = tuple(options["shape"])
        if int(np.prod(shape)) != int(np.prod(x.shape[1:])):
            raise BuildError(f"dataset.shape: cannot reshape samples of shape {x.shape[1:]} "
                             f"to {shape}")
        x = x.reshape((len(x), *shape))
    return x


def load_digits(spec: ModelSpec) -> Arrays:
    """scikit-learn's bundled 8x8 digits: offline, 1797 samples, values 0..16."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    return {"x": digits.data, "y": digits.target.astype(np.int64), "labels": _digit_labels()}


def load_mnist(spec: ModelSpec) -> Arrays:
    """Keras MNIST: downloads on first use, so it needs network access."""
    from tflmake.ml.tensorflow import import_keras

    keras = import_keras()
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # urllib raises several types; all mean "no download"
        raise BuildError(
            'dataset.type: "mnist" downloads MNIST through Keras and the download failed '
            f"({type(error).__name__}: {error}). Without network access use "
            'type = "digits" or type = "npz" with a local file') from None
    return {"x_train": x_train, "y_train": y_train.astype(np.int64), "x_test": x_test,
            "y_test": y_test.astype(np.int64), "labels": _digit_labels()}


def load_npz_dataset(spec: ModelSpec) -> Arrays:
    """A user's `.npz`; with `test_path`, its test split comes from that second file."""
    assert spec.dataset is not None
    options = spec.dataset
    x, y, labels = _read_xy(spec, "path")
    if "test_path" not in options:
        return {"x": x, "y": y, **labels}
    x_test, y_test, _ = _read_xy(spec, "test_path")
    return {"x_train": x, "y_train": y, "x_test": x_test, "y_test": y_test, **labels}


def _read_xy(spec: ModelSpec, path_key: Literal["path", "test_path"]) -> tuple[np.ndarray, np.ndarray, Arrays]:
    assert spec.dataset is not None
    options = spec.dataset
    path = spec.resolve(options[path_key])
    try:
        arrays = load_npz(path)
    except (OSError, ValueError) as error:
        raise BuildError(f"dataset.{path_key}: cannot read {path}: {error}") from None
    for key in ("x_key", "y_key"):
        if options[key] not in arrays:
            raise BuildError(f'dataset.{key}: no array "{options[key]}" in {path} '
                             f"(it has: {', '.join(sorted(arrays)) or 'nothing'})")
    x, y = arrays[options["x_key"]], arrays[options["y_key"]]
    labels = {"labels": arrays["labels"].astype(str)} if "labels" in arrays else {}
    return x, y, labels


def _digit_labels() -> np.ndarray:
    return np.array([str(digit) for digit in range(10)])


LOADERS = {"digits": load_digits, "mnist": load_mnist, "npz": load_npz_dataset,
           "image_folder": load_image_folder, "audio_folder": load_audio_folder, "csv": load_csv_windows,
           "python": load_python_entry}


def read_split(layout: Layout, model: str, names: tuple[str, ...] | None = None) -> Arrays:
    """The arrays a dataset task wrote, inputs as float32 scaled (for the builders downstream).

    Args:
        names: only these arrays (those that exist), so a consumer of the test
            split does not load the training split; default every array.
    """
    return scale_inputs(read_stored(layout, model, names))


def read_stored(layout: Layout, model: str, names: tuple[str, ...] | None = None) -> Arrays:
    """The arrays as stored (uint8 inputs stay uint8, with `x_scale`)."""
    path = _existing(layout, model)
    if names is None:
        return load_npz(path)
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in (*names, "x_scale") if name in data.files}


def stored_names(layout: Layout, model: str) -> list[str]:
    """The names of the arrays in dataset.npz, without loading them."""
    with np.load(_existing(layout, model), allow_pickle=False) as data:
        return list(data.files)


def _existing(layout: Layout, model: str) -> str:
    path = layout.dataset(model)
    if not Path(path).is_file():
        raise BuildError(f"{path} is missing; run `tflmake dataset:{model}` first")
    return path


def read_raw_test(layout: Layout, model: str) -> np.ndarray | None:
    """The test split as the C front end takes it: `raw_test`, or the stored uint8 inputs when they are
    the raw frames already (images whose frame size is the image size); None without a front end."""
    stored = read_stored(layout, model, ("raw_test", "x_test"))
    if "raw_test" in stored:
        return stored["raw_test"]
    return stored["x_test"] if "x_scale" in stored and stored["x_test"].dtype == np.uint8 else None


def scale_inputs(arrays: Arrays) -> Arrays:
    """Stored uint8 inputs as float32 divided by their `x_scale`; float32 inputs as they are."""
    stored_scale = arrays.pop("x_scale", None)
    if stored_scale is not None:
        scale = np.float32(stored_scale.reshape(-1)[0])
        for name in [name for name in arrays if re.fullmatch(r"x\d*_(train|test)", name)]:
            arrays[name] = arrays[name].astype(np.float32) / scale
    return arrays
