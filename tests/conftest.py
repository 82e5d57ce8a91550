"""Shared fixtures: temp projects with their own modelspecs/ and a doit runner."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.s3server import S3Server, start_s3_server

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
               "see README, System requirements)")
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

    def doit(self, *args: str, timeout: float = 600) -> DoitRun:
        return self._run([sys.executable, "-m", "doit", *args], timeout)

    def tflmake(self, *args: str, timeout: float = 600, python_options: tuple[str, ...] = ()) -> DoitRun:
        """`tflmake ARGS` in a subprocess (as `python [python_options] -m tflmake`)."""
        return self._run([sys.executable, *python_options, "-m", "tflmake", *args], timeout)

    def _run(self, command: list[str], timeout: float) -> DoitRun:
        result = subprocess.run(
            command, cwd=self.root, capture_output=True,
            text=True, timeout=timeout, env={**os.environ, "PYTHONHASHSEED": "0"})
        return DoitRun(result.returncode, result.stdout + result.stderr)


def make_project(root: Path, *spec_names: str, dodo: bool = True) -> Project:
    """A project under `root` holding copies of the fixture specs in tests/data/specs (and the dodo.py shim)."""
    (root / "modelspecs").mkdir(parents=True)
    if dodo:
        (root / "dodo.py").write_text(DODO_SHIM)
    for name in spec_names:
        shutil.copy(SPECS / f"{name}.toml", root / "modelspecs")
    return Project(root)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """An empty project (no specs yet)."""
    return make_project(tmp_path / "project")


@pytest.fixture
def cli_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """An empty project without dodo.py, made the working directory (as `tflmake` expects)."""
    project = make_project(tmp_path / "project", dodo=False)
    monkeypatch.chdir(project.root)
    return project


@pytest.fixture(scope="session")
def built_mlp(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """digits_mlp built once for the session; tests must not modify it."""
    built = make_project(tmp_path_factory.mktemp("built") / "project", "digits_mlp")
    run = built.doit()
    assert run.returncode == 0, run.output
    return built


@pytest.fixture
def copy_of_built(built_mlp: Project, tmp_path: Path) -> Project:
    """A private copy of the built digits_mlp project (targets, timestamps, doit's state DB)."""
    root = tmp_path / "copy"
    shutil.copytree(built_mlp.root, root, symlinks=True)
    return Project(root)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 server (SeaweedFS) on loopback for the session."""
    server = start_s3_server(tmp_path_factory.mktemp("s3server"))
    yield server
    server.stop()


@pytest.fixture(params=["folder", "s3"])
def cache_store(request: pytest.FixtureRequest, tmp_path: Path) -> CacheLocation:
    """An empty cache: a folder, or a fresh bucket on the S3 server."""
    if request.param == "folder":
        return CacheLocation((tmp_path / "cache").as_posix(), {})
    server: S3Server = request.getfixturevalue("s3_server")
    return CacheLocation(f"s3://{server.new_bucket()}", server.storage_options)


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


@pytest.fixture(scope="session")
def built_pair(built_mlp: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of built_mlp plus far_from_float and digits_cnn (both CNN variants exported), built
    once for the session on top of the built MLP; tests must not modify it."""
    root = tmp_path_factory.mktemp("pair") / "project"
    shutil.copytree(built_mlp.root, root, symlinks=True)
    built = Project(root)
    mlp = built.specs / "digits_mlp.toml"
    mlp.write_text(mlp.read_text() + FAR_FROM_FLOAT)
    shutil.copy(SPECS / "digits_cnn.toml", built.specs)
    cnn = built.specs / "digits_cnn.toml"
    cnn.write_text(cnn.read_text().replace('quantize = "none"', 'quantize = "none"\nc_array = true')
                   + CNN_FIRMWARE)
    run = built.doit()
    assert run.returncode == 0, run.output
    return built
