"""`csv` data sets: sensor time series, one time step per row, cut into fixed-length windows.

A window never spans a change of label (so a sample has exactly one label):
each run of rows with the same label is windowed on its own, and a run shorter
than the window gives no sample. Without `test_path`, a window's split is the hash
of its own values (`splits.hashed_split`), so appending rows never moves an
existing window between train and test. Overlapping windows (stride < window)
that land in different splits share rows; give a separate `test_path` for a
clean test set.
"""

from __future__ import annotations

import csv

import numpy as np

from tflmake.data.splits import hashed_split
from tflmake.errors import BuildError
from tflmake.spec.load import ModelSpec
from tflmake.spec.sections import DatasetSection

Arrays = dict[str, np.ndarray]


def load_csv_windows(spec: ModelSpec) -> Arrays:
    """x (windows, window, columns) float32 and y; labels when the label column holds names."""
    assert spec.dataset is not None
    options = spec.dataset
    series = {key: read_series(spec.resolve(options[key]), options) for key in ("path", "test_path")
              if key in options}
    names = sorted({label for _, labels in series.values() for label in labels})
    numeric = all(_is_integer(label) for label in names)
    index = {name: (int(name) if numeric else position) for position, name in enumerate(names)}
    arrays: Arrays = {} if numeric else {"labels": np.array(names)}
    for key, (values, labels) in series.items():
        x, y = windows(values, np.array([index[label] for label in labels], dtype=np.int64), options)
        if len(x) == 0:
            raise BuildError(f"dataset.window: {spec.resolve(options[key])} has no run of {options['window']} "
                             "rows with one label, so it gives no sample")
        if "test_path" in options:
            suffix = {"path": "_train", "test_path": "_test"}[key]
            arrays |= {f"x{suffix}": x, f"y{suffix}": y}
        else:
            arrays |= split_windows(x, y, options)
    return arrays


def split_windows(x: np.ndarray, y: np.ndarray, options: DatasetSection) -> Arrays:
    """x/y of both splits, each window placed by the hash of its values (as read, before `scale`)."""
    train, test = hashed_split([window.astype("<f4").tobytes() for window in x], options)
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}


def read_series(path: str, options: DatasetSection) -> tuple[np.ndarray, list[str]]:
    """(rows x columns float32, the label of each row) from a CSV file with a header."""
    wanted = [*options["columns"], options["label_column"]]
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in wanted if name not in (reader.fieldnames or [])]
            if missing:
                raise BuildError(f'dataset.columns: {path} has no column "{missing[0]}" '
                                 f"(it has: {', '.join(reader.fieldnames or []) or 'no header'})")
            rows = [[row[name] for name in wanted] for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise BuildError(f"dataset.path: cannot read {path}: {error}") from None
    values = np.empty((len(rows), len(options["columns"])), dtype=np.float32)
    for number, row in enumerate(rows):
        try:
            values[number] = [float(value) for value in row[:-1]]
        except (TypeError, ValueError):
            raise BuildError(f"dataset.columns: {path} row {number + 2}: expected numbers in "
                             f"{', '.join(options['columns'])}; got {row[:-1]}") from None
    return values, [str(row[-1]).strip() for row in rows]


def windows(values: np.ndarray, labels: np.ndarray, options: DatasetSection) -> tuple[np.ndarray, np.ndarray]:
    """Every window of `window` rows, `stride` apart, inside each run of one label."""
    size, stride = options["window"], options.get("stride", options["window"])
    starts: list[int] = []
    run_starts = [0, *(np.flatnonzero(labels[1:] != labels[:-1]) + 1).tolist(), len(labels)]
    for begin, end in zip(run_starts[:-1], run_starts[1:], strict=True):
        starts += range(begin, end - size + 1, stride)
    x = np.stack([values[start:start + size] for start in starts]) if starts else \
        np.zeros((0, size, values.shape[1]), np.float32)
    return x, labels[np.array(starts, dtype=np.int64)]


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
