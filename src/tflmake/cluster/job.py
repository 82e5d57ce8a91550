"""A cluster job, run on a worker: fetch one model's spec and files, build its cacheable tasks, report.

The build runs in a `python -m tflmake` child process, never in the worker
itself: the child gets the driver's hash seed and thread settings, and keeps
TensorFlow's global seed and Keras' session (process-wide, see ml/private_random)
to itself instead of sharing them with the worker's threads. The child publishes
to the cache in read-write mode, as any CI build does. A job never raises: every
failure comes back as one line, and the driver then builds the model locally.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tflmake.cache import SETTINGS_ENV
from tflmake.cache.config import LOCAL_DIR_ENV, LOCAL_ENV, MODE_ENV, RUN_ENV, URL_ENV, CacheConfig
from tflmake.cache.store import Store
from tflmake.cluster.identity import build_identity, difference
from tflmake.digest import sha256_file
from tflmake.errors import TflmakeError

# A Dask nanny sets these for its worker process (a hash seed of its own, one OpenMP/BLAS thread).
# The build child gets the driver's values instead (unset where the driver has none): a build should
# see the numeric settings a serial build on the driver would (TensorFlow's SavedModel bytes moved
# with them, measured), not the worker's.
DRIVER_ENVIRONMENT = ("PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                      "MALLOC_TRIM_THRESHOLD_")

# The build folder of a job's temporary project (keys never name it).
BUILD_DIR = "build"


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
        with tempfile.TemporaryDirectory(prefix="tflmake-job-") as project:
            fetch(Store(config.url or "", config.storage_options), payload["files"], project)
            message = build(payload, config, project)
        ok = True
    except Exception as error:  # a job reports, never raises: the driver builds the model locally instead
        ok, message = False, str(error) if isinstance(error, TflmakeError) else f"{type(error).__name__}: {error}"
    return {"model": payload["model"], "ok": ok, "message": message.splitlines()[0] if message else "",
            "submitted": payload.get("submitted", started), "started": started,
            "seconds": time.time() - started, "worker": f"{platform.node()}:{os.getpid()}"}


def fetch(store: Store, files: dict[str, str], project: str) -> None:
    """Download each file (project-relative path -> sha256) into `project`, checking its sha256."""
    for relative, digest in sorted(files.items()):
        local = Path(project, relative)
        local.parent.mkdir(parents=True, exist_ok=True)
        if not store.read_blob(digest, str(local)):
            raise JobError(f"{relative}: blob {digest[:12]} is not in the cache {store.url}")
        if sha256_file(str(local)) != digest:
            raise JobError(f"{relative}: blob {digest[:12]} in the cache {store.url} is corrupt")


def build(payload: dict[str, Any], config: CacheConfig, project: str) -> str:
    """Run `python -m tflmake TASKS` in `project` with the cache in read-write mode; its summary line."""
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
