"""Hand a step to the project's warm build worker (starting one if none serves), or say it cannot.

`run_step` asks this for every task kind whose builder imports TensorFlow
(`TASK_KINDS[...].tensorflow`). The worker writes the step's output straight to
this process's stdout and stderr (the descriptors travel with the request), and
answers with the step's outcome. Anything unexpected (the worker crashed, hangs,
or cannot start) costs one warning, and the rest of this process builds in
process: a worker never makes a build fail that would have passed without it.
"""

from __future__ import annotations

import errno
import fcntl
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tflmake.engine import workerlink
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec

NOT_SERVED = object()  # the step was not run: build it in process
# How long a step waits for a busy worker before building in process (importing TensorFlow there, on
# the core the worker leaves free). Measured (BENCHMARKS.md, issue 21 §4): waiting as long as the
# worker's warm-up took made two-model `-n 2` builds slower than this; a process that has imported
# TensorFlow already does not wait at all.
BUSY_WAIT_SECONDS = 2.0
ABORT_GRACE_SECONDS = 15.0  # after Ctrl-C, how long the worker may take to stop the step

_given_up = False  # set after a warning: this process builds in process from then on


def delegate(basename: str, spec: ModelSpec, layout: Layout, arguments: tuple[Any, ...], label: str) -> Any:
    """Run one step in the worker: None, doit's TaskFailed/TaskError, or NOT_SERVED (build it in process)."""
    global _given_up
    if _given_up or not workerlink.enabled():
        return NOT_SERVED
    address = workerlink.socket_address(layout)
    if address is None:
        return NOT_SERVED
    request = {"op": "step", **workerlink.project_of(layout), "identity": workerlink.identity(),
               "labelled": multiprocessing.parent_process() is not None, "label": label,
               "environment": {name: os.environ.get(name) for name in _STEP_ENVIRONMENT},
               "payload": (basename, spec, layout, arguments)}
    try:
        return _delegate(address, layout, request)
    except WorkerTrouble as trouble:
        _given_up = True
        print(f"tflmake: warning: warm worker: {trouble}; building in process "
              f"(see {layout.worker_log})", file=sys.__stderr__, flush=True)
        return NOT_SERVED


class WorkerTrouble(Exception):
    """The worker crashed, hangs, refused the project, or could not start."""


# Read by the steps themselves (console, reporter): the worker sets them as the client has them.
_STEP_ENVIRONMENT = ("TFLMAKE_VERBOSE", "TFLMAKE_TRACEBACK")


def _delegate(address: str, layout: Layout, request: dict[str, Any]) -> Any:
    busy_until: float | None = None
    restarted = False
    while True:
        connection = _connect_or_start(address, layout)
        answer = _send_request(connection, request)
        status = answer.get("status")
        if status == "accepted":
            return _await_outcome(connection, layout, int(answer["pid"]))
        connection.close()
        if status == "busy" and "tensorflow" in sys.modules:
            return NOT_SERVED  # this process has paid the import already (an earlier step built here)
        if status == "busy" and busy_until is None:
            busy_until = time.monotonic() + BUSY_WAIT_SECONDS
        if status == "busy" and time.monotonic() < (busy_until or 0.0):
            time.sleep(0.05)
            continue
        if status == "busy":
            return NOT_SERVED
        if status == "stale" and not restarted:
            # Another tflmake, TensorFlow or venv: that worker exits; start one that matches.
            _wait_for_exit(int(answer["pid"]), 10.0)
            restarted = True
            continue
        raise WorkerTrouble(str(answer.get("reason", f"unexpected answer {status!r}")))


def _send_request(connection: socket.socket, request: dict[str, Any]) -> dict[str, Any]:
    try:
        socket.send_fds(connection, [b"F"], [1, 2])
        workerlink.send(connection, request)
        return workerlink.receive(connection)
    except (OSError, ConnectionError, EOFError) as error:
        connection.close()
        raise WorkerTrouble(f"no answer to the request ({error})") from None


def _await_outcome(connection: socket.socket, layout: Layout, pid: int) -> Any:
    """Wait for the step's outcome; the worker sends a heartbeat every second while it works."""
    connection.settimeout(workerlink.seconds(workerlink.TIMEOUT_ENV, workerlink.DEFAULT_TIMEOUT_SECONDS))
    try:
        while True:
            try:
                message = workerlink.receive(connection)
            except TimeoutError:
                _kill(pid)
                raise WorkerTrouble(f"worker pid {pid} stopped answering; stopped it") from None
            except (OSError, ConnectionError, EOFError) as error:
                raise WorkerTrouble(f"worker pid {pid} ended during the step ({error})") from None
            if "outcome" in message:
                if message.get("interrupted"):
                    raise KeyboardInterrupt
                return message["outcome"]
    except KeyboardInterrupt:
        _abort(connection, pid)
        raise
    finally:
        connection.close()


def _abort(connection: socket.socket, pid: int) -> None:
    """Ctrl-C: ask the worker to stop the step, and wait until it did (no file is written after we exit)."""
    deadline = time.monotonic() + ABORT_GRACE_SECONDS
    try:
        workerlink.send(connection, {"op": "abort"})
        connection.settimeout(ABORT_GRACE_SECONDS)
        while time.monotonic() < deadline:
            if "outcome" in workerlink.receive(connection):
                return
    except (OSError, ConnectionError, EOFError, KeyboardInterrupt):
        pass
    _kill(pid)


def _connect_or_start(address: str, layout: Layout) -> socket.socket:
    connection = _connect(address)
    if connection is not None:
        return connection
    with _locked(layout.worker_lock):
        connection = _connect(address)
        if connection is not None:
            return connection
        return _start(address, layout)


def _connect(address: str) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(workerlink.seconds(workerlink.TIMEOUT_ENV, workerlink.DEFAULT_TIMEOUT_SECONDS))
    try:
        connection.connect(address)
    except OSError as error:
        connection.close()
        if error.errno in (errno.ENOENT, errno.ECONNREFUSED):
            return None
        raise WorkerTrouble(f"cannot reach the worker at {address} ({error})") from None
    return connection


def _start(address: str, layout: Layout) -> socket.socket:
    """Start a worker for this project in the background and wait until it listens."""
    if os.path.lexists(address):
        os.unlink(address)  # left by a worker that died; we hold the start lock
    os.makedirs(layout.build_dir, exist_ok=True)
    with open(layout.worker_log, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tflmake.worker", "--build-dir", layout.build_dir,
             "--idle", str(workerlink.seconds(workerlink.IDLE_ENV, workerlink.DEFAULT_IDLE_SECONDS)),
             "--max-rss-mb", str(workerlink.seconds(workerlink.MAX_RSS_ENV, workerlink.DEFAULT_MAX_RSS_MB))],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
            env={**os.environ, workerlink.WORKER_ENV: "0"})
    deadline = time.monotonic() + workerlink.START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise WorkerTrouble(f"the worker exited while starting (exit {process.returncode})")
        connection = _connect(address)
        if connection is not None:
            return connection
        time.sleep(0.05)
    process.kill()
    raise WorkerTrouble(f"the worker did not listen within {workerlink.START_TIMEOUT_SECONDS:.0f}s")


@contextmanager
def _locked(path: str) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.05)
    return False


def ask(layout: Layout, op: str) -> dict[str, Any] | None:
    """The worker's answer to `status` or `stop`, or None when no worker serves the project."""
    address = workerlink.socket_address(layout)
    if address is None or not os.path.exists(address):
        return None
    try:
        connection = _connect(address)
    except WorkerTrouble:
        return None
    if connection is None:
        return None
    with connection:
        try:
            socket.send_fds(connection, [b"F"], [])
            workerlink.send(connection, {"op": op, **workerlink.project_of(layout)})
            return workerlink.receive(connection)
        except (OSError, ConnectionError, EOFError):
            return None


def stop(layout: Layout, timeout: float = 30.0) -> int | None:
    """Stop the project's worker (after the step it is running); its pid, or None when none served."""
    answer = ask(layout, "stop")
    record = workerlink.read_record(layout)
    pid = int(answer["pid"]) if answer else (int(record["pid"]) if record else None)
    if pid is None:
        return None
    if not answer and not _is_worker(pid):
        return None
    if not _wait_for_exit(pid, timeout):
        _kill(pid)
        _wait_for_exit(pid, 5.0)
    return pid


def _is_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return b"tflmake.worker" in file.read()
    except OSError:
        return False
