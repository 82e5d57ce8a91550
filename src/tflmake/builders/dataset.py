"""Build `dataset.npz`: the data set loaded, scaled, reshaped and split once for every consumer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tflmake.errors import BuildError
from tflmake.npzio import load_npz, save_npz
from tflmake.paths import Layout
from tflmake.spec import ModelSpec

Arrays = dict[str, np.ndarray]


def build(spec: ModelSpec, layout: Layout) -> None:
    assert spec.dataset is not None
    options = spec.dataset
    loaded = LOADERS[options["type"]](spec)
    arrays = loaded if "x_test" in loaded else split(loaded, options)
    for part in ("train", "test"):
        arrays[f"x_{part}"] = prepare_inputs(arrays[f"x_{part}"], options)
    save_npz(layout.dataset(spec.name), arrays)


def split(arrays: Arrays, options: dict[str, Any]) -> Arrays:
    """A seeded shuffle, then the last `test_fraction` of it becomes the test split."""
    x, y = arrays.pop("x"), arrays.pop("y")
    count = len(x)
    test_count = min(max(1, round(count * options["test_fraction"])), count - 1)
    if count < 2:
        raise BuildError(f"dataset: {count} sample(s) cannot be split into train and test")
    order = np.random.default_rng(options["seed"]).permutation(count)
    train, test = order[: count - test_count], order[count - test_count:]
    return {**arrays, "x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}


def prepare_inputs(x: np.ndarray, options: dict[str, Any]) -> np.ndarray:
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
    from tflmake.builders._tensorflow import import_keras

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


def _read_xy(spec: ModelSpec, path_key: str) -> tuple[np.ndarray, np.ndarray, Arrays]:
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
    if len(x) != len(y):
        raise BuildError(f"dataset: {path} has {len(x)} inputs ({options['x_key']}) but "
                         f"{len(y)} labels ({options['y_key']}); they must match")
    labels = {"labels": arrays["labels"].astype(str)} if "labels" in arrays else {}
    return x, y, labels


def _digit_labels() -> np.ndarray:
    return np.array([str(digit) for digit in range(10)])


LOADERS = {"digits": load_digits, "mnist": load_mnist, "npz": load_npz_dataset}


def read_split(layout: Layout, model: str) -> Arrays:
    """The arrays a dataset task wrote (for the builders downstream)."""
    path = layout.dataset(model)
    if not Path(path).is_file():
        raise BuildError(f"{path} is missing; run `tflmake dataset:{model}` first")
    return load_npz(path)
