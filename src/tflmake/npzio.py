"""Byte-reproducible `.npz` files: same arrays, same bytes (numpy's savez stamps the time)."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping

import numpy as np

from tflmake import atomic

_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` atomically as an uncompressed `.npz` with fixed timestamps."""
    with atomic.open_for_write(path) as handle, zipfile.ZipFile(handle, "w") as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", _EPOCH), buffer.getvalue())


def load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an `.npz`, loaded eagerly (no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
