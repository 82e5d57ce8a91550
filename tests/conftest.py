"""Shared fixtures (the helpers they use live in tests/support.py)."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.s3server import S3Server, start_s3_server
from tests.scheduling import (  # noqa: F401 (hooks pytest finds here)
    pytest_cmdline_main,
    pytest_collection_modifyitems,
    pytest_xdist_make_scheduler,
)
from tests.support import (
    CNN_FIRMWARE,
    FAR_FROM_FLOAT,
    SPECS,
    TINY_SPEC,
    CacheLocation,
    Project,
    make_project,
)
from tests.twentymodels import build_serially
from tflmake.cache.config import LOCAL_DIR_ENV, LOCAL_ENV


@pytest.fixture(scope="session", autouse=True)
def session_local_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Builds of session fixtures use a local cache of the session's own, never the user's ~/.cache/tflmake."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LOCAL_DIR_ENV, tmp_path_factory.mktemp("session-local-cache").as_posix())
        patch.delenv(LOCAL_ENV, raising=False)
        yield


@pytest.fixture(scope="module", autouse=True)
def module_local_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Builds of a module's fixtures use a local cache of the module's own (never one another module filled)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LOCAL_DIR_ENV, tmp_path_factory.mktemp("module-local-cache").as_posix())
        yield


@pytest.fixture(autouse=True)
def local_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's builds use an empty local cache of its own (on, as by default): a rebuild one test
    expects is never a restore of what another test built."""
    folder = tmp_path_factory.mktemp("local-cache")
    monkeypatch.setenv(LOCAL_DIR_ENV, folder.as_posix())
    monkeypatch.delenv(LOCAL_ENV, raising=False)
    return folder

# Tests build in hundreds of temp projects: a warm worker (~600 MB, 15 minutes) for each would swamp
# the machine. The worker's own tests turn it on; TFLMAKE_TEST_WORKER=1 runs the whole suite with it.
if os.environ.get("TFLMAKE_TEST_WORKER") != "1":
    os.environ["TFLMAKE_WORKER"] = "0"
else:
    os.environ.setdefault("TFLMAKE_WORKER_IDLE", "30")


@pytest.fixture(autouse=True)
def no_firmware_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing and encryption keys come from the environment: a developer's own must not reach a test."""
    monkeypatch.delenv("TFLMAKE_SIGNING_KEY", raising=False)
    monkeypatch.delenv("TFLMAKE_ENCRYPTION_KEY", raising=False)


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


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Project]) -> Project:
    """`build(folder)` for a read-only session project, once per test run: under pytest-xdist each worker has a
    session of its own, so the first worker to ask builds it in the run's shared temp folder (under a lock) and
    the others wait for it and share it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (shared / "built-by").exists():
            return Project(shared / "project")
        for stale in shared.iterdir():  # a build that failed on another worker: build afresh (and fail alike)
            if stale.name != "lock":
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        built = build(shared)
        (shared / "built-by").write_text(worker)
        return built


def _build_mlp(folder: Path) -> Project:
    built = make_project(folder / "project", "digits_mlp")
    run = built.doit()
    assert run.returncode == 0, run.output
    return built


@pytest.fixture(scope="session")
def built_mlp(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """digits_mlp built once for the session; tests must not modify it."""
    return built_once(tmp_path_factory, "built", _build_mlp)


@pytest.fixture(scope="session")
def serial_twenty(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The twenty specs of tests/twentymodels.py built serially, once for the run; tests must not modify it."""
    return built_once(tmp_path_factory, "twenty", build_serially)


@pytest.fixture
def copy_of_built(built_mlp: Project, tmp_path: Path) -> Project:
    """A private copy of the built digits_mlp project (targets, timestamps, doit's state DB)."""
    root = tmp_path / "copy"
    shutil.copytree(built_mlp.root, root, symlinks=True)
    return Project(root)


@pytest.fixture(scope="session")
def built_tiny(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """TINY_SPEC built once for the session (with `tflmake`, no dodo.py); tests must not modify it."""
    def build(folder: Path) -> Project:
        built = make_project(folder / "project", dodo=False)
        built.add_spec("tiny", TINY_SPEC)
        run = built.tflmake()
        assert run.returncode == 0, run.output
        return built

    return built_once(tmp_path_factory, "tiny", build)


@pytest.fixture
def copy_of_tiny(built_tiny: Project, tmp_path: Path) -> Project:
    """A private copy of the built tiny project (targets, timestamps, doit's state DB)."""
    root = tmp_path / "tiny"
    shutil.copytree(built_tiny.root, root, symlinks=True)
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


@pytest.fixture(scope="session")
def built_pair(built_mlp: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of built_mlp plus far_from_float and digits_cnn (both CNN variants exported), built
    once for the session on top of the built MLP; tests must not modify it."""
    def build(folder: Path) -> Project:
        root = folder / "project"
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

    return built_once(tmp_path_factory, "pair", build)
