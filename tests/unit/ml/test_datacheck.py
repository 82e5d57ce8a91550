"""Data checks before training: a classifier's output must have a unit for every class in the data."""

from __future__ import annotations

import numpy as np
import pytest

from tflmake.errors import BuildError
from tflmake.ml.datacheck import check_output_units


def split(*labels: list[int]) -> dict[str, np.ndarray]:
    return {"y_train": np.array(labels[0]), "y_test": np.array(labels[1])}


def test_more_classes_than_output_units_is_one_line_naming_both() -> None:
    """Labels 0..3 (the highest only in the test split) against 3 units: refused before training."""
    with pytest.raises(BuildError, match=r"^data set has 4 classes, model output has 3 units; "
                                         r"give the model's last layer 4 units$"):
        check_output_units(3, split([0, 1, 2], [3]), "classification")


def test_class_names_count_even_without_samples_of_each() -> None:
    """A data set that names 5 classes needs 5 units, whichever labels its samples carry."""
    arrays = split([0, 1], [1]) | {"labels": np.array(["a", "b", "c", "d", "e"])}
    with pytest.raises(BuildError, match="data set has 5 classes, model output has 4 units"):
        check_output_units(4, arrays, "classification")


@pytest.mark.parametrize(("units", "task", "arrays"), [
    (10, "classification", split([0, 9], [3])),  # enough units
    (1, "classification", split([0, 1], [1])),  # one sigmoid unit over two classes
    (None, "classification", split([0, 5], [1])),  # several outputs: not checked here
    (2, "regression", split([0, 7], [3])),  # labels are values, not classes
    (2, "classification", {"y_train": np.eye(3)[[0, 2]], "y_test": np.eye(3)[[1]]}),  # one-hot
])
def test_models_that_fit_their_data_or_are_not_classifiers_pass(
        units: int | None, task: str, arrays: dict[str, np.ndarray]) -> None:
    check_output_units(units, arrays, task)
