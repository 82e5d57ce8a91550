"""Train/test splits: a seeded shuffle for arrays, a hash per sample for files and CSV windows.

A hashed split puts a sample in the test split when the hash of (`seed`, its key)
falls below `test_fraction`, as the speech-commands data set does: adding or
removing samples never moves another sample between train and test. Arrays
(`npz`, `python`, `digits`) have no key but their position, so they keep the
seeded shuffle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from tflmake.errors import BuildError
from tflmake.spec.sections import DatasetSection

# The first 8 bytes of a SHA-1, as a number in [0, 1).
_HASH_RANGE = float(2 ** 64)


def split_indices(count: int, options: DatasetSection) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: a seeded shuffle, then the last `test_fraction` of it is the test split."""
    test_count = min(max(1, round(count * options["test_fraction"])), count - 1)
    if count < 2:
        raise BuildError(f"dataset: {count} sample(s) cannot be split into train and test")
    order = np.random.default_rng(options["seed"]).permutation(count)
    return order[: count - test_count], order[count - test_count:]


def hash_position(seed: int, key: bytes) -> float:
    """Where a sample's key lands in [0, 1) for this seed: its split is position < test_fraction."""
    digest = hashlib.sha1(f"{seed}:".encode() + key, usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") / _HASH_RANGE


def hashed_split(keys: Sequence[bytes], options: DatasetSection) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices, each sample placed by the hash of its key alone.

    When the hash puts every sample on one side (a handful of samples), the
    samples whose key lies nearest the cut cross over, so both splits hold
    samples; they may cross back once more samples are added. Samples with equal
    keys always share a split; if every key is equal the data cannot be split.
    """
    positions = np.array([hash_position(options["seed"], key) for key in keys], dtype=np.float64)
    test = positions < options["test_fraction"]
    if len(positions) and not test.any():
        test = positions == positions.min()
    elif len(positions) and test.all():
        test = positions != positions.max()
    if test.all() or not test.any():
        raise BuildError(f"dataset: {len(keys)} sample(s) with {len(set(keys))} distinct key(s) "
                         "cannot be split into train and test")
    return np.flatnonzero(~test), np.flatnonzero(test)
