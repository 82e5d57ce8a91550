"""Seeded splits for arrays, hashed splits for keyed samples (no TensorFlow)."""

from __future__ import annotations

import numpy as np

from tflmake.builders import dataset
from tflmake.data.splits import hash_position, hashed_split, split_indices
from tflmake.spec.sections import DatasetSection

OPTIONS: DatasetSection = {"type": "npz", "test_fraction": 0.2, "seed": 0}


def test_seeded_split_of_arrays_is_unchanged() -> None:
    """npz/python/digits keep the seeded shuffle: the same indices as before hashed splits existed."""
    train, test = split_indices(20, OPTIONS)
    assert test.tolist() == [14, 9, 1, 15]
    assert train.tolist() == [4, 19, 6, 2, 13, 16, 3, 11, 10, 8, 0, 12, 7, 5, 18, 17]
    arrays = dataset.split({"x": np.arange(20.0).reshape(20, 1), "y": np.arange(20)}, OPTIONS)
    assert arrays["y_test"].tolist() == [14, 9, 1, 15]


def test_hash_position_depends_on_seed_and_key_only() -> None:
    """A key's position is in [0, 1), the same every call, and another seed moves it."""
    position = hash_position(0, b"cat/001.png")
    assert 0 <= position < 1 and position == hash_position(0, b"cat/001.png")
    assert position != hash_position(1, b"cat/001.png")


def test_hashed_split_places_each_key_on_its_own() -> None:
    """A key is in test exactly when its position is below test_fraction, whatever the other keys."""
    keys = [f"{number}".encode() for number in range(50)]
    train, test = hashed_split(keys, OPTIONS)
    assert sorted([*train, *test]) == list(range(50))
    assert all(hash_position(0, keys[index]) < 0.2 for index in test)
    _, fewer = hashed_split(keys[10:], OPTIONS)
    assert {keys[10:][index] for index in fewer} == {keys[index] for index in test if index >= 10}
