"""Twenty small, different specs, and one serial build of them that every test comparing another way of
building (the warm worker, Dask and Ray clusters, `-n 2`) takes its reference bytes from.

Built once per test run (`serial_twenty` in conftest.py): each such test used to build its own serial
reference of the same kind, 20 models at ~3-4 s each (issue 24 §5).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import Project, make_project
from tflmake.cache.config import LOCAL_ENV

# An MLP on the digits set: float32 and int8 variants, the int8 one with a C array. Per model: dataset,
# savedmodel, representative, two tflite and one carray task are cacheable.
SPEC = """
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [{{ type = "Flatten" }}, {{ type = "Dense", units = {units}, activation = "relu" }},
          {{ type = "Dense", units = 10, activation = "softmax" }}]

[dataset]
type = "digits"
scale = 16.0
shape = [8, 8]
seed = {seed}

[train]
epochs = {epochs}
batch_size = 64
seed = {seed}

[representative]
samples = 50

[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"
io_type = "int8"
c_array = true
"""
CACHED_PER_MODEL = 6

# Widths, epochs and seeds vary: a build that leaked one model's state into the next would differ.
UNITS = {f"mlp{units}": units for units in range(12, 32)}


def spec_text(name: str) -> str:
    """The spec of model `name` (one of UNITS)."""
    index = UNITS[name] - 12
    return mlp_spec(UNITS[name], epochs=1 + index % 2, seed=index)


def mlp_spec(units: int = 8, epochs: int = 1, seed: int = 0) -> str:
    """The spec above with any width, epochs and seed (the worker's tests build such tiny models too)."""
    return SPEC.format(units=units, epochs=epochs, seed=seed)


def build_serially(folder: Path) -> Project:
    """Every spec in one serial build, in process: no warm worker, no local cache (every step built)."""
    project = make_project(folder / "project", dodo=False)
    for name in UNITS:
        project.add_spec(name, spec_text(name))
    run = project.tflmake("--no-worker", env={LOCAL_ENV: "0"})
    assert run.returncode == 0, run.output
    assert re.search(r"^tflmake: \d+ built, 0 up to date, 0 failed", run.output, re.MULTILINE), run.output
    assert not (project.build / ".worker.sock").exists()
    return project
