"""What tests share besides fixtures: temp projects, spec helpers, system tools, fixture specs.

A module of its own (conftest.py keeps only the fixtures), so tests import from here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import warmbuild
from tflmake.graph.tasks import creators, model_tasks
from tflmake.paths import Layout
from tflmake.spec.load import load_specs

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
# The tests' own copies of the example specs: a user editing modelspecs/ must not break the tests.
SPECS = DATA / "specs"
DODO_SHIM = (REPO / "dodo.py").read_text()

# The smallest valid spec: the base that spec tests edit one key of.
MINIMAL_SPEC = """
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [{ type = "Flatten" }, { type = "Dense", units = 10 }]

[dataset]
type = "digits"

[[variant]]
name = "float32"
"""


# System tools some integration tests run on real outputs, with the Debian package that has each.
SYSTEM_TOOLS = {
    "chromium": "chromium",
    "gcc": "gcc",
    "g++": "g++",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi",
}


def require_tool(name: str) -> str:
    """The path of system tool `name`; skips the test when it is missing, but fails it under CI.

    CI (the environment variable CI set to anything but "" or "false") must run every test,
    so a missing tool there is a broken CI image, not a reason to skip.
    """
    found = shutil.which(name)
    if found:
        return found
    message = (f"{name} is not installed (Debian/Ubuntu: sudo apt-get install {SYSTEM_TOOLS[name]}; "
               "see docs/getting-started.md, System requirements)")
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{message}; CI is set, so tests that need it must run", pytrace=False)
    pytest.skip(message)


def write_spec(folder: Path, text: str, name: str = "demo") -> Path:
    """`text` saved as `<folder>/<name>.toml`."""
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def spec_problems(folder: Path, text: str, name: str = "demo") -> list[str]:
    """The problems load_spec reports for `text` (which must be invalid)."""
    from tflmake.errors import SpecError
    from tflmake.spec.load import load_spec

    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(folder, text, name))
    return caught.value.problems


@dataclass
class DoitRun:
    """One `doit` invocation: exit code, output, and which tasks executed."""

    returncode: int
    output: str

    @property
    def executed(self) -> list[str]:
        return re.findall(r"^\.  (\S+)", self.output, flags=re.MULTILINE)

    @property
    def skipped(self) -> list[str]:
        return re.findall(r"^-- (\S+)", self.output, flags=re.MULTILINE)


@dataclass
class Project:
    """A temp project: modelspecs/, dodo.py (the repo's shim), build/."""

    root: Path

    @property
    def specs(self) -> Path:
        return self.root / "modelspecs"

    @property
    def build(self) -> Path:
        return self.root / "build"

    def add_spec(self, name: str, text: str) -> Path:
        path = self.specs / f"{name}.toml"
        path.write_text(text)
        return path

    def doit(self, *args: str, timeout: float = 600, python_options: tuple[str, ...] = (),
             env: dict[str, str] | None = None) -> DoitRun:
        """`doit ARGS` as `python [python_options] -m doit` would run it, `env` added to the environment."""
        return self._run("doit", list(args), python_options, timeout, env)

    def tflmake(self, *args: str, timeout: float = 600, python_options: tuple[str, ...] = (),
                env: dict[str, str] | None = None) -> DoitRun:
        """`tflmake ARGS` as `python [python_options] -m tflmake` would run it."""
        return self._run("tflmake", list(args), python_options, timeout, env)

    def _run(self, module: str, args: list[str], python_options: tuple[str, ...], timeout: float,
             env: dict[str, str] | None) -> DoitRun:
        """Forked from a process with TensorFlow imported (tests/warmbuild.py), or a fresh interpreter
        when Python options are given or the warm one could not stand in for it."""
        environment = {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}
        warm = None if python_options else warmbuild.run_module(module, args, self.root, environment, timeout)
        if warm is not None:
            return DoitRun(warm.returncode, warm.stdout + warm.stderr)
        result = subprocess.run(
            [sys.executable, *python_options, "-m", module, *args], cwd=self.root, capture_output=True,
            text=True, timeout=timeout, env=environment)
        return DoitRun(result.returncode, result.stdout + result.stderr)



def make_project(root: Path, *spec_names: str, dodo: bool = True) -> Project:
    """A project under `root` holding copies of the fixture specs in tests/data/specs (and the dodo.py shim)."""
    (root / "modelspecs").mkdir(parents=True)
    if dodo:
        (root / "dodo.py").write_text(DODO_SHIM)
    for name in spec_names:
        shutil.copy(SPECS / f"{name}.toml", root / "modelspecs")
    return Project(root)


# The cheapest model that trains: one Dense layer, 2 epochs, one float32 variant.
TINY_SPEC = """
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [{ type = "Flatten" }, { type = "Dense", units = 10, activation = "softmax" }]

[dataset]
type = "digits"
scale = 16.0
shape = [8, 8]

[train]
epochs = 2
batch_size = 32
loss = "sparse_categorical_crossentropy"
seed = 0

[[variant]]
name = "float32"
quantize = "none"
"""


@dataclass
class CacheLocation:
    """Where a test's cache is: the URL and the fsspec options to reach it."""

    url: str
    storage_options: dict[str, Any]


# The CNN is exported twice (float32 and int8) to cover float tolerance, a symbol
# template and a linker section (test_firmware).


CNN_FIRMWARE = """
[c_array]
symbol = "g_{model}_{variant}"
section = ".rodata.model"
"""

# A variant that disagrees with its float model on some test samples whatever training and
# calibration happen to give (test_report's gates): 95 % of the weights pruned away, which
# 1 epoch of fine-tuning cannot win back.
FAR_FROM_FLOAT = """
[[variant]]
name = "far_from_float"
quantize = "none"
prune = { sparsity = 0.95, schedule = "constant", epochs = 1 }
"""


# The task graph of one spec, for tests that compare what an edit changes.
MLP = (SPECS / "digits_mlp.toml").read_text()


def tasks_of(tmp_path: Path, text: str = MLP) -> dict[str, dict[str, Any]]:
    """All task dicts of one spec, keyed `basename:name`."""
    path = tmp_path / "digits_mlp.toml"
    path.write_text(text)
    specs, errors = load_specs([path])
    return {f"{task['basename']}:{task['name']}": task for task in all_tasks(specs, errors) if task.get("name")}


def all_tasks(specs: list[Any], errors: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Every task dict the project's creators yield."""
    layout = Layout("build")
    models = [(spec, model_tasks(spec, layout)) for spec in specs]
    return [task for creator in creators(models, list(errors), layout).values() for task in creator()]


def fingerprints(tasks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What doit compares to decide up-to-date: config hashes, file deps, targets."""
    return {name: ([u._calc_digest() for u in task.get("uptodate", []) if hasattr(u, "_calc_digest")],
                   task.get("file_dep"), task.get("targets"))
            for name, task in tasks.items()}


def changed_tasks(tmp_path: Path, edit: tuple[str, str]) -> set[str]:
    before = fingerprints(tasks_of(tmp_path))
    after = fingerprints(tasks_of(tmp_path, MLP.replace(*edit)))
    assert MLP.replace(*edit) != MLP, "the edit must change the spec"
    return {name for name in before if before[name] != after.get(name)}


# A loaded model file: tests that build data sets only, whatever shape their samples have
# (a "layers" model would have its input_shape checked against them).
DATA_SET_SPEC_HEAD = """
[model.source]
type = "keras_file"
path = "model.keras"

[[variant]]
name = "float32"
"""


def data_set_spec(folder: Path, dataset_table: str) -> Path:
    """A spec of DATA_SET_SPEC_HEAD plus `dataset_table` in `folder`, beside the (never loaded) model file."""
    (folder / "model.keras").write_bytes(b"")
    return write_spec(folder, DATA_SET_SPEC_HEAD + dataset_table)
