"""Refuse data a model would be built or measured on wrongly: NaN/Inf, bad labels, empty or misshapen arrays.

A NaN in the inputs does not stop training or evaluation; it only makes every
figure downstream a lie (one data set with 44 NaN samples reported 100 %
accuracy). So the dataset task checks what it loaded, and names the file, the
array and the first bad sample in the file's own order.
"""

from __future__ import annotations

import numpy as np

from tflmake.errors import BuildError
from tflmake.kinds import EVALUATION_TASKS
from tflmake.spec.sections import DatasetSection

Arrays = dict[str, np.ndarray]


def check_loaded(loaded: Arrays, options: DatasetSection, origin: dict[str, str], task: str) -> None:
    """Every x/y pair a loader returned (`x`/`y` or `x_train`/.../`y_test`), before it is split.

    `origin` maps each pair's suffix ("", "_train", "_test") to where it came from
    (a file, or the data set type), and `task` is `[evaluation] task`.
    """
    classes = len(loaded["labels"]) if "labels" in loaded else None
    for suffix in ("", "_train", "_test"):
        if f"x{suffix}" not in loaded:
            continue
        where = origin.get(suffix) or origin.get("", "dataset")
        x, y = loaded[f"x{suffix}"], loaded[f"y{suffix}"]
        x_name, y_name = options.get("x_key", "x"), options.get("y_key", "y")
        if len(x) == 0:
            raise BuildError(f"{where}: {x_name} holds no samples")
        if len(x) != len(y):
            raise BuildError(f"{where}: {len(x)} inputs ({x_name}) but {len(y)} labels ({y_name}); "
                             "they must match")
        _check_finite(x, where, x_name)
        _check_finite(y, where, y_name)
        if EVALUATION_TASKS[task].class_labels:
            _check_class_labels(y, where, y_name, classes)


def check_split(arrays: Arrays, sample_shape: list[int] | None, shape_key: str) -> None:
    """Both splits hold samples, of the shape the model declares (when the spec declares one)."""
    for part in ("train", "test"):
        if len(arrays[f"x_{part}"]) == 0:
            raise BuildError(f"dataset: the {part} split is empty")
    if sample_shape is not None and tuple(arrays["x_train"].shape[1:]) != tuple(sample_shape):
        raise BuildError(f"dataset: samples have shape {list(arrays['x_train'].shape[1:])} but "
                         f"{shape_key} is {list(sample_shape)}; set dataset.shape = {list(sample_shape)} "
                         "or change the model")


def check_output_units(units: int | None, arrays: Arrays, task: str) -> None:
    """A classifier's output has a unit for every class in the data (else TensorFlow fails mid-training).

    `units`: the size of the model's one output (None when it has several, or no
    single axis of classes); one unit (a sigmoid over two classes) is not checked.
    """
    if not EVALUATION_TASKS[task].class_labels or units is None or units <= 1:
        return
    labels = [arrays[key].reshape(len(arrays[key]), -1) for key in ("y_train", "y_test") if key in arrays]
    if not labels or any(y.shape[1] != 1 for y in labels):
        return  # one-hot targets: Keras compares their width with the output itself
    classes = max((int(np.max(y)) + 1 for y in labels if len(y)), default=0)
    classes = max(classes, len(arrays["labels"])) if "labels" in arrays else classes
    if classes > units:
        raise BuildError(f"data set has {classes} classes, model output has {units} units; "
                         f"give the model's last layer {classes} units")


def _check_finite(values: np.ndarray, where: str, name: str) -> None:
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.integer):
        return
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        raise BuildError(f"{where}: {name} has {int(bad.sum())} sample(s) with NaN or Inf values; "
                         f"the first is sample {first}. Clean or drop them")


def _check_class_labels(y: np.ndarray, where: str, name: str, classes: int | None) -> None:
    if not np.issubdtype(y.dtype, np.number):
        raise BuildError(f"{where}: {name} holds {y.dtype} values; class labels must be integers "
                         '(or set evaluation.task = "regression")')
    flat = y.reshape(len(y), -1)
    if flat.shape[1] != 1:
        return  # one-hot or multi-output targets: nothing to range-check here
    labels = flat[:, 0]
    whole = labels == np.round(labels)
    high = classes if classes is not None else np.inf
    bad = ~whole | (labels < 0) | (labels >= high)
    if bad.any():
        first = int(np.argmax(bad))
        expected = f"0..{classes - 1} (the file's labels name {classes} classes)" if classes is not None \
            else "whole numbers >= 0"
        raise BuildError(f"{where}: {name}[{first}] = {labels[first].item()!r} is not a class label; expected "
                         f"{expected}")
