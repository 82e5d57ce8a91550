"""`python` data sets: a function in the spec's folder returns the arrays, for data no other type reads."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from tflmake.data.files import entry_file
from tflmake.errors import BuildError
from tflmake.spec import ModelSpec

Arrays = dict[str, np.ndarray]
ACCEPTED = ({"x", "y"}, {"x_train", "y_train", "x_test", "y_test"})
# Inputs 2, 3, ... of a model with more than one input: x1, x2, ... (or x1_train, x1_test, ...).
EXTRA_INPUT = re.compile(r"x[1-9]\d*(_train|_test)?")


def load_python_entry(spec: ModelSpec) -> Arrays:
    """Call `entry`; it must return a mapping with x and y (or both splits) and optionally labels."""
    assert spec.dataset is not None
    entry = spec.dataset["entry"]
    with _own_imports(spec.folder):
        function = _entry_function(spec, entry)
        try:
            returned = function()
        except Exception as error:  # the user's code: any failure is theirs, reported in one line
            raise BuildError(f'dataset.entry: "{entry}" raised {type(error).__name__}: {error}') from None
    return _arrays(entry, returned)


@contextmanager
def _own_imports(folder: str) -> Iterator[None]:
    """The spec's folder first on sys.path, and the modules imported from it forgotten afterwards.

    Two specs whose folders both hold a `helper.py` must each get their own: a
    module left in sys.modules would be handed to the next spec's entry.
    """
    root = os.path.abspath(folder)
    before = set(sys.modules)
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.path.remove(folder)
        for name in set(sys.modules) - before:
            path = getattr(sys.modules[name], "__file__", None) or ""
            if os.path.abspath(path).startswith(root + os.sep):
                del sys.modules[name]


def _entry_function(spec: ModelSpec, entry: str) -> Any:
    """The entry's function, its module imported from the spec's folder under a name of its own."""
    module_name, function_name = entry.split(":")
    relative = entry_file(spec.folder, entry)
    if relative is None:
        raise BuildError(f'dataset.entry: no module "{module_name}" in {spec.folder}')
    unique = f"_tflmake_data_{spec.name}_{module_name.replace('.', '_')}"
    loader_spec = importlib.util.spec_from_file_location(unique, spec.resolve(relative))
    assert loader_spec is not None and loader_spec.loader is not None
    module = importlib.util.module_from_spec(loader_spec)
    try:
        loader_spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 (the user's module: report it in one line)
        raise BuildError(f'dataset.entry: importing "{module_name}" failed: {type(error).__name__}: {error}') from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise BuildError(f'dataset.entry: module "{module_name}" has no function "{function_name}"')
    return function


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
