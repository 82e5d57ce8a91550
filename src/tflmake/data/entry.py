"""`python` data sets: a function in the spec's folder returns the arrays, for data no other type reads."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from tflmake.errors import BuildError
from tflmake.spec.load import ModelSpec
from tflmake.spec.python_entry import entry_parts, isolated_import

Arrays = dict[str, np.ndarray]
ACCEPTED = ({"x", "y"}, {"x_train", "y_train", "x_test", "y_test"})
# Inputs 2, 3, ... of a model with more than one input: x1, x2, ... (or x1_train, x1_test, ...).
EXTRA_INPUT = re.compile(r"x[1-9]\d*(_train|_test)?")


def load_python_entry(spec: ModelSpec) -> Arrays:
    """Call `entry`; it must return a mapping with x and y (or both splits) and optionally labels.

    Imported in isolation (spec.python_entry), so two specs whose folders both hold a
    `helper.py` each get their own.
    """
    assert spec.dataset is not None
    entry = spec.dataset["entry"]
    module_name, function_name = entry_parts(entry)
    with _users_code(f'importing "{module_name}"'), isolated_import(spec.folder, module_name) as module:
        function = getattr(module, function_name, None)
        if not callable(function):
            raise BuildError(f'dataset.entry: module "{module_name}" has no function "{function_name}"')
        with _users_code(f'"{entry}" raised'):
            returned = function()
    return _arrays(entry, returned)


@contextmanager
def _users_code(what: str) -> Iterator[None]:
    """The user's code failed: one line naming what ran and the error, not a traceback."""
    try:
        yield
    except BuildError:
        raise
    except Exception as error:  # noqa: BLE001 (any failure of the user's code is reported the same way)
        raise BuildError(f"dataset.entry: {what}: {type(error).__name__}: {error}") from None


def _arrays(entry: str, returned: Any) -> Arrays:
    if not isinstance(returned, Mapping):
        raise BuildError(f'dataset.entry: "{entry}" returned {type(returned).__name__}; expected a dict '
                         "with x and y (or x_train, y_train, x_test, y_test)")
    keys = {key for key in returned if key != "labels" and not EXTRA_INPUT.fullmatch(str(key))}
    if keys not in ACCEPTED:
        raise BuildError(f'dataset.entry: "{entry}" returned keys {", ".join(sorted(returned))}; expected '
                         "x and y, or x_train, y_train, x_test and y_test (and optionally labels, and "
                         "x1, x2, ... for a model's further inputs)")
    arrays = {key: np.asarray(value) for key, value in returned.items()}
    if "labels" in arrays:
        arrays["labels"] = arrays["labels"].astype(str)
    for x_key in (key for key in arrays if key.startswith("x")):
        y_key = "y" + x_key.lstrip("x0123456789")
        if len(arrays[x_key]) != len(arrays[y_key]):
            raise BuildError(f'dataset.entry: "{entry}" returned {len(arrays[x_key])} {x_key} but '
                             f"{len(arrays[y_key])} {y_key}; they must match")
    return arrays
