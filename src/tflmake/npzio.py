"""Byte-reproducible `.npz` files: same arrays, same bytes (numpy's savez stamps the time)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping

import numpy as np

from tflmake import atomic

_EPOCH = (1980, 1, 1, 0, 0, 0)
# Entries this large need zip64 headers, which must be asked for before the size is known.
_ZIP64_FROM = zipfile.ZIP64_LIMIT - (1 << 16)


def save_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` atomically as an uncompressed `.npz` with fixed timestamps."""
    with atomic.open_for_write(path) as handle, zipfile.ZipFile(handle, "w") as archive:
        for name in sorted(arrays):
            # Streamed into the archive (same bytes as writing a buffer): no second copy of a large array.
            array = np.ascontiguousarray(arrays[name])
            with archive.open(zipfile.ZipInfo(f"{name}.npy", _EPOCH), "w",
                              force_zip64=array.nbytes >= _ZIP64_FROM) as stream:
                np.lib.format.write_array(stream, array, allow_pickle=False)


def load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an `.npz`, loaded eagerly (no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
