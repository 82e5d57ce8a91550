"""Build `representative.npz`: calibration samples from the training split, seeded or listed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tflmake.builders.dataset import read_stored, scale_inputs
from tflmake.errors import BuildError
from tflmake.npzio import save_npz
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec


def build(spec: ModelSpec, layout: Layout) -> None:
    stored = read_stored(layout, spec.name, ("x_train", "files_train", "x1_train"))
    if stored.pop("x1_train", None) is not None:
        raise BuildError("representative: calibrating a model with more than one input is not supported yet; "
                         "use quantize = \"none\", \"dynamic\" or \"float16\" for it")
    x_train = stored.pop("x_train")
    chosen = chosen_indices(spec, len(x_train), stored.pop("files_train", None))
    # Only the chosen rows are scaled to float32, not the whole training split.
    save_npz(layout.representative(spec.name), {"x": scale_inputs({"x_train": x_train[chosen], **stored})["x_train"]})


def chosen_indices(spec: ModelSpec, count: int, files: np.ndarray | None) -> np.ndarray:
    """Positions in the training split: `indices`, those `indices_file` lists, or `samples` at random."""
    options = spec.representative
    if "indices" in options:
        return _in_range("representative.indices", np.array(options["indices"], dtype=np.int64), count)
    if "indices_file" in options:
        return _in_range("representative.indices_file", _read_indices_file(spec, files), count)
    samples, seed = options["samples"], options["seed"]
    if samples > count:
        raise BuildError(f"representative.samples: {samples} requested but the training split "
                         f"has only {count} samples")
    return np.sort(np.random.default_rng(seed).choice(count, samples, replace=False))


def _read_indices_file(spec: ModelSpec, files: np.ndarray | None) -> np.ndarray:
    """Each line a position, or (folder data sets) a file name of the training split."""
    path = spec.resolve(spec.representative["indices_file"])
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise BuildError(f"representative.indices_file: cannot read {path}: {error}") from None
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if not entries:
        raise BuildError(f"representative.indices_file: {path} lists no samples")
    position = {name: index for index, name in enumerate(files.tolist())} if files is not None else {}
    chosen = []
    for number, entry in enumerate(entries, start=1):
        if entry.isdigit():
            chosen.append(int(entry))
        elif entry in position:
            chosen.append(position[entry])
        else:
            where = "is not in the training split" if files is not None else \
                "is not a position (this data set has no file names)"
            raise BuildError(f'representative.indices_file: {path} entry {number} "{entry}" {where}')
    return np.array(chosen, dtype=np.int64)


def _in_range(key: str, indices: np.ndarray, count: int) -> np.ndarray:
    beyond = indices[indices >= count]
    if len(beyond):
        raise BuildError(f"{key}: position {int(beyond[0])} is beyond the training split "
                         f"({count} samples, positions 0..{count - 1})")
    return indices
