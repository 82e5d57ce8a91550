"""A cluster job, run on a worker: fetch one model's spec and files, build its cacheable tasks, report.

The build runs in a `python -m tflmake` child process, never in the worker
itself: the child gets the driver's hash seed and thread settings, and keeps
TensorFlow's global seed and Keras' session (process-wide, see ml/private_random)
to itself instead of sharing them with the worker's threads. The child publishes
to the cache in read-write mode, as any CI build does. A job never raises: every
failure comes back as one line, and the driver then builds the model locally.

Every job of one cluster worker process builds in the same project folder, the
worker's own (`worker_folder`, emptied before each job but for the warm worker's
files), so the warm build worker (`tflmake.worker`) that the first job's child
starts there serves the TensorFlow steps of every later job: TensorFlow is
imported once per cluster worker, not once per job, and each step gets the warm
worker's per-step isolation. A job that finds the folder taken (a cluster worker
running two jobs at once) builds in a temporary folder without a warm worker.
TensorFlow's thread pools follow the cluster worker's share of the cores
(`thread_share`).
"""

from __future__ import annotations

import fcntl
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tflmake.cache import SETTINGS_ENV
from tflmake.cache.config import LOCAL_DIR_ENV, LOCAL_ENV, MODE_ENV, RUN_ENV, URL_ENV, CacheConfig
from tflmake.cache.store import Store
from tflmake.cluster.identity import build_identity, difference
from tflmake.digest import sha256_file
from tflmake.engine.workerlink import IDLE_ENV, OWNER_ENV, WORKER_ENV
from tflmake.errors import TflmakeError
from tflmake.ml.tensorflow import THREADS_ENV
from tflmake.paths import Layout

# A Dask nanny sets these for its worker process (a hash seed of its own, one OpenMP/BLAS thread).
# The build child gets the driver's values instead (unset where the driver has none): a build should
# see the numeric settings a serial build on the driver would (TensorFlow's SavedModel bytes moved
# with them, measured), not the worker's.
DRIVER_ENVIRONMENT = ("PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                      "MALLOC_TRIM_THRESHOLD_")

# The build folder of a job's temporary project (keys never name it).
BUILD_DIR = "build"
# A job's warm worker exits after this long without a step, unless the cluster worker's environment says.
CLUSTER_IDLE_SECONDS = 300.0
# "0" on a cluster worker: every job builds in a fresh temporary folder and process, as before issue 21.
WARM_ENV = "TFLMAKE_CLUSTER_WARM"


class JobError(TflmakeError):
    """A job could not fetch its files or its build failed."""


def run_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Build one model's cacheable tasks into the cache; `{"ok", "message", "started", "seconds", "worker"}`."""
    started = time.time()
    try:
        mismatch = difference(build_identity(), payload["driver"])
        if mismatch is not None:
            raise JobError(mismatch)
        config = CacheConfig(**payload["cache"])
        with job_project() as (project, warm):
            fetch(Store(config.url or "", config.storage_options), payload["files"], project)
            message = build(payload, config, project, warm)
        ok = True
    except Exception as error:  # a job reports, never raises: the driver builds the model locally instead
        ok, message = False, str(error) if isinstance(error, TflmakeError) else f"{type(error).__name__}: {error}"
    return {"model": payload["model"], "ok": ok, "message": message.splitlines()[0] if message else "",
            "submitted": payload.get("submitted", started), "started": started,
            "seconds": time.time() - started, "worker": f"{platform.node()}:{os.getpid()}"}


def worker_folder() -> Path:
    """This cluster worker process's own folder (one per user and process, private to the user)."""
    return Path(tempfile.gettempdir(), f"tflmake-cluster-{os.getuid()}-{os.getpid()}")


@contextmanager
def job_project() -> Iterator[tuple[str, bool]]:
    """The folder to build the job in and whether a warm worker serves it: this cluster worker's own
    project folder, emptied but for the warm worker's files; a temporary one when another job holds it."""
    if os.environ.get(WARM_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        with tempfile.TemporaryDirectory(prefix="tflmake-job-") as temporary:
            yield temporary, False
        return
    folder = worker_folder()
    sweep(folder.parent)
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.stat().st_uid != os.getuid():  # someone else's folder: never build (or connect) there
        raise JobError(f"{folder} belongs to another user")
    descriptor = os.open(folder / ".job.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with tempfile.TemporaryDirectory(prefix="tflmake-job-") as temporary:
                yield temporary, False
            return
        project = folder / "project"
        empty_but_warm(project)
        try:
            yield str(project), True
        finally:
            empty_but_warm(project)
    finally:
        os.close(descriptor)


def sweep(parent: Path) -> None:
    """Remove the folders of this user's cluster worker processes that have exited."""
    for folder in parent.glob(f"tflmake-cluster-{os.getuid()}-*"):
        try:
            os.kill(int(folder.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):
            pass


def empty_but_warm(project: Path) -> None:
    """Remove everything in `project` except the warm worker's files in its build folder."""
    project.mkdir(exist_ok=True)
    for entry in project.iterdir():
        if entry.name == BUILD_DIR and entry.is_dir() and not entry.is_symlink():
            for inner in entry.iterdir():
                if not Layout(BUILD_DIR).is_worker_file(inner.name):  # kept between one cluster worker's jobs
                    _remove(inner)
        else:
            _remove(entry)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def thread_share() -> int:
    """The cores this cluster worker may use: its engine's threads (Dask) or CPUs (Ray), at most the
    cores this process may run on; all of them when the engine does not say."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = 0.0
    try:
        from distributed import get_worker

        share = float(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        try:
            import ray

            if ray.is_initialized():
                share = float(ray.get_runtime_context().get_assigned_resources().get("CPU", 0.0))
        except (ImportError, AttributeError, RuntimeError):
            pass
    return max(1, min(cores, round(share))) if share else cores


def fetch(store: Store, files: dict[str, str], project: str) -> None:
    """Download each file (project-relative path -> sha256) into `project`, checking its sha256."""
    for relative, digest in sorted(files.items()):
        local = Path(project, relative)
        local.parent.mkdir(parents=True, exist_ok=True)
        if not store.read_blob(digest, str(local)):
            raise JobError(f"{relative}: blob {digest[:12]} is not in the cache {store.url}")
        if sha256_file(str(local)) != digest:
            raise JobError(f"{relative}: blob {digest[:12]} in the cache {store.url} is corrupt")


def build(payload: dict[str, Any], config: CacheConfig, project: str, warm: bool = False) -> str:
    """Run `python -m tflmake TASKS` in `project` with the cache in read-write mode; its summary line.
    `warm`: its TensorFlow steps go to the warm worker serving `project` (started if none does)."""
    import tomli_w

    # No local cache: a job's outputs go to the shared cache, and a worker's cache folder is not the user's.
    table = {"url": config.url, "mode": "read-write", "namespace": config.namespace,
             "storage-options": config.storage_options, "max-blob-mb": config.max_blob_mb, "local": False}
    Path(project, "pyproject.toml").write_text(tomli_w.dumps({"tool": {"tflmake": {"cache": table}}}))
    # The driver's settings travel in pyproject.toml; the worker's own cache variables must not win.
    environment = {name: value for name, value in os.environ.items()
                   if name not in (URL_ENV, MODE_ENV, LOCAL_ENV, LOCAL_DIR_ENV, SETTINGS_ENV, RUN_ENV,
                                   *DRIVER_ENVIRONMENT)}
    environment |= {name: value for name, value in payload.get("environment", {}).items() if value is not None}
    environment[WORKER_ENV] = "1" if warm else "0"
    environment.setdefault(IDLE_ENV, str(CLUSTER_IDLE_SECONDS))
    environment[OWNER_ENV] = str(os.getpid())  # the warm worker ends with this cluster worker
    environment.setdefault(THREADS_ENV, str(thread_share()))
    command = [sys.executable, "-m", "tflmake", "--specs", payload["specs"], "--build-dir", BUILD_DIR,
               *payload["tasks"]]
    result = subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, check=False)
    output = (result.stdout + result.stderr).splitlines()
    if result.returncode != 0:
        raise JobError(f"build on the worker failed: {failure_line(output)}")
    warnings = [line for line in output if line.startswith("tflmake: warning:")]
    if warnings:  # e.g. the cache unreachable from this worker: nothing was published
        raise JobError(warnings[0].removeprefix("tflmake: warning: "))
    return next((line.removeprefix("tflmake: ") for line in reversed(output) if " built, " in line), "built")


def failure_line(output: list[str]) -> str:
    """The failed task and its one-line message from a build's output (else its last line)."""
    for number, line in enumerate(output):
        if line.rstrip().endswith(" FAILED") or " FAILED after " in line:  # the reporter's failure line
            detail = output[number + 1].strip() if number + 1 < len(output) else ""
            return f"{line.strip()}: {detail}" if detail else line.strip()
    return next((line.strip() for line in reversed(output) if line.strip()), "no output")
