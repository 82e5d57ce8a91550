"""Python sources end to end: local imports rebuild the model, each spec gets its own modules."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from tests.support import DoitRun, Project, make_project

pytestmark = pytest.mark.integration

# Reference code often keeps `keras_model.py` beside its training script and imports it
# by putting its own folder on sys.path: two such folders hold modules of the same name.
NET = """
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
import keras_model

def build():
    return keras_model.model()
"""
KERAS_MODEL = """
import keras
from helpers import UNITS

def model():
    return keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten()] +
                            [keras.layers.Dense(units, activation="relu") for units in UNITS] +
                            [keras.layers.Dense(10, activation="softmax")])
"""
SPEC = """
[model.source]
type = "python"
entry = "{name}.net:build"

[dataset]
type = "digits"
scale = 16.0
shape = [8, 8]

[train]
epochs = 1

[[variant]]
name = "float32"
"""
UNITS = {"kws": [16], "anomaly": [24, 12]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, DoitRun]:
    """Two specs whose entries each import their own `keras_model` and `helpers`, built in one process."""
    project = make_project(tmp_path_factory.mktemp("python") / "project", dodo=False)
    for name, units in UNITS.items():
        folder = project.specs / name
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        (folder / "net.py").write_text(textwrap.dedent(NET))
        (folder / "keras_model.py").write_text(textwrap.dedent(KERAS_MODEL))
        (folder / "helpers.py").write_text(f"UNITS = {units}\n")
        project.add_spec(name, SPEC.format(name=name))
    return project, project.tflmake()


def dense_layers(project: Project, model: str) -> int:
    stamp = json.loads((project.build / model / "saved_model" / "tflmake_stamp.json").read_text())
    return sum(layer.startswith("Dense") for layer in stamp["keras_layers"])


def test_each_spec_builds_the_model_of_its_own_modules(built: tuple[Project, DoitRun]) -> None:
    """The second spec must not get the first one's `keras_model` from sys.modules."""
    project, run = built
    assert run.returncode == 0, run.output
    assert dense_layers(project, "kws") == 2
    assert dense_layers(project, "anomaly") == 3


def test_editing_an_imported_helper_makes_only_its_model_stale(
        built: tuple[Project, DoitRun], tmp_path: Path) -> None:
    """helpers.py is imported by keras_model.py, which net.py imports: editing it rebuilds that model."""
    project = Project(Path(shutil.copytree(built[0].root, tmp_path / "copy")))
    (project.specs / "kws" / "helpers.py").write_text("UNITS = [20, 20]\n")
    status = project.tflmake("status", "savedmodel")
    assert status.returncode == 1, status.output
    line = next(line for line in status.output.splitlines() if "savedmodel:kws" in line)
    assert line.startswith("stale") and "kws/helpers.py" in line
    rebuilt = project.tflmake("savedmodel")
    assert rebuilt.executed == ["savedmodel:kws"], rebuilt.output
    assert dense_layers(project, "kws") == 3
