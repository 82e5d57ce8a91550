"""Test builds in processes forked from one that has imported TensorFlow already.

Most integration tests run `python -m doit` or `python -m tflmake` on a temp project, and each
fresh interpreter paid TensorFlow's import (3-4 s, most of a small model's build). Here a
multiprocessing forkserver imports the heavy third-party packages once per test process; each
build is a child forked from it that runs the same module as `python -m` would, in the project
folder, with the request's environment, `sys.path` and argv, its output captured, its exit code
returned. tflmake itself is never preloaded: each build imports it afresh, as a new process does.

A build goes to a fresh interpreter instead when the parent could not stand in for one: Python
options (`-X importtime`), an environment that changes what is decided at interpreter start or
import time (PYTHON*, TF_*, KERAS*, ... variables), the warm build worker on (its client decides
by what its own process has imported), or `TFLMAKE_TEST_FRESH=1` (for the whole run).
tests/integration/test_warm_builds.py checks that a build here and one in a fresh interpreter
write the same bytes.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

# Imported once by the forkserver: what a build imports that takes seconds.
PRELOAD = ("tensorflow", "keras", "ai_edge_litert.interpreter", "tflite_micro", "doit", "numpy",
           "sklearn.datasets", "PIL.Image", "jsonschema", "tests.warmfreeze")

# Read at interpreter start or when a preloaded package is imported: a build whose environment
# differs here from the forkserver's runs in a fresh interpreter.
IMPORT_TIME_PREFIXES = ("PYTHON", "TF_", "KERAS", "XLA_", "OMP_", "MKL_", "CUDA_", "LD_")

# What tflmake sets before importing TensorFlow (ml/tensorflow.py), so the forkserver imports it alike.
TENSORFLOW_DEFAULTS = {"TF_CPP_MIN_LOG_LEVEL": "2"}

FRESH_ENV = "TFLMAKE_TEST_FRESH"
# The environment the forkserver starts with: the test run's own, taken before any test patches it
# (a forkserver started inside a test that put a sitecustomize.py on PYTHONPATH would carry it).
RUN_ENVIRONMENT = dict(os.environ)
WORKER_ENV = "TFLMAKE_WORKER"  # tflmake.engine.workerlink.WORKER_ENV (tflmake is not imported here)


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def run_module(module: str, args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Finished | None:
    """`python -m module args` in `cwd` with `env`, forked warm; None when it must run in a fresh interpreter."""
    server = _server()
    if server is None or _import_time_view(env) != server.import_time_view or env.get(WORKER_ENV) != "0":
        return None
    with tempfile.TemporaryDirectory(prefix="warmbuild-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        child = server.context.Process(
            target=_run_as_main,
            args=(module, args, str(cwd), env, server.fresh_path, server.fresh_start_method, str(out), str(err)))
        child.start()
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired([sys.executable, "-m", module, *args], timeout,
                                            _read(out), _read(err))
        return Finished(child.exitcode if child.exitcode is not None else -1, _read(out), _read(err))


@dataclass(frozen=True)
class _Server:
    context: multiprocessing.context.ForkServerContext
    import_time_view: dict[str, str]
    fresh_path: list[str]  # sys.path[1:] of a fresh interpreter in this environment
    fresh_start_method: str  # its multiprocessing start method (`doit -n` starts its task processes so)


_started: list[_Server | None] = []


def _server() -> _Server | None:
    if os.environ.get(FRESH_ENV) == "1":
        return None
    if not _started:
        _started.append(_start())
    return _started[0]


def _start() -> _Server:
    environment = {**RUN_ENVIRONMENT, "PYTHONHASHSEED": "0", **TENSORFLOW_DEFAULTS}
    fresh = json.loads(subprocess.run(
        [sys.executable, "-c", "import json, multiprocessing, sys; "
         "print(json.dumps([sys.path[1:], multiprocessing.get_start_method()]))"],
        env=environment, capture_output=True, text=True, check=True).stdout)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment)  # the forkserver starts with this environment (hash seed 0 as in support.Project)
    try:
        context.Process(target=_nothing).start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return _Server(context, _import_time_view(environment), *fresh)


def _nothing() -> None:
    """Started once so the forkserver imports PRELOAD before the first build waits on it."""


def _import_time_view(env: dict[str, str]) -> dict[str, str]:
    view = {**TENSORFLOW_DEFAULTS, **env}
    return {name: value for name, value in view.items() if name.startswith(IMPORT_TIME_PREFIXES)}


def _run_as_main(module: str, args: list[str], cwd: str, env: dict[str, str], fresh_path: list[str],
                 start_method: str, out: str, err: str) -> None:
    """In the forked child: become `python -m module args` and exit as it would."""
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = [os.getcwd(), *fresh_path]
    multiprocessing.set_start_method(start_method, force=True)  # not the forkserver's, which the child inherits
    sys.argv = [module, *args]
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = _exit_status(exit_.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    for thread in threading.enumerate():  # as the interpreter does at exit: wait for non-daemon threads
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
