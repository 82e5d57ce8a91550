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
from typing import Any, NamedTuple

from tflmake.engine import workerlink
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec

NOT_SERVED = object()  # the step was not run: build it in process
_UNTAKEN = object()  # no worker took the step (yet)
# A step that finds every worker of the project busy this long starts one more in the background, and
# takes whichever is free first (a worker answers busy for an instant after a step, while its client
# asks again: that must not grow the pool). Measured (BENCHMARKS.md, issue 21 §4): building in process
# instead (importing TensorFlow on the critical path, beside the worker) made two-model `-n 2` builds
# slower than serial ones.
GROW_AFTER_SECONDS = 0.3
# ...when every busy worker runs a step of another model. A step waiting behind a step of its own model
# (a variant's conversion behind its sibling's) waits this long first: within one model only the variants'
# short steps run side by side, and a new worker's warm-up (4-5 s of CPU on a 2-core machine) competed with
# them and ended up slower than one worker: a one-model first build with `-n 2` took 1.06-1.14x serial.
GROW_SAME_MODEL_AFTER_SECONDS = 5.0
POLL_SECONDS = 0.05
ABORT_GRACE_SECONDS = 15.0  # after Ctrl-C, how long the worker may take to stop the step

_given_up = False  # set after a warning: this process builds in process from then on
_started: list[subprocess.Popen[bytes]] = []  # workers this process started (kept: they outlive the step)


def delegate(basename: str, spec: ModelSpec, layout: Layout, arguments: tuple[Any, ...], label: str) -> Any:
    """Run one step in a worker: None, doit's TaskFailed/TaskError, or NOT_SERVED (build it in process)."""
    global _given_up
    if _given_up or not workerlink.enabled() or workerlink.socket_address(layout) is None:
        return NOT_SERVED
    request = {"op": "step", **workerlink.project_of(layout), "identity": workerlink.identity(),
               "labelled": multiprocessing.parent_process() is not None, "label": label, "model": spec.name,
               "environment": {name: os.environ.get(name) for name in _STEP_ENVIRONMENT},
               "payload": (basename, spec, layout, arguments)}
    try:
        return _delegate(layout, request)
    except WorkerTrouble as trouble:
        _given_up = True
        print(f"tflmake: warning: warm worker: {trouble}; building in process "
              f"(see {layout.worker_log})", file=sys.__stderr__, flush=True)
        return NOT_SERVED


class WorkerTrouble(Exception):
    """The worker crashed, hangs, refused the project, or could not start."""


# Read by the steps themselves (console, reporter): the worker sets them as the client has them.
_STEP_ENVIRONMENT = ("TFLMAKE_VERBOSE", "TFLMAKE_TRACEBACK")


def _delegate(layout: Layout, request: dict[str, Any]) -> Any:
    """Offer the step to the project's workers in slot order until one accepts it.

    The pool ends at the first slot without a listening worker: a step that finds
    every worker before it busy for GROW_AFTER_SECONDS (GROW_SAME_MODEL_AFTER_SECONDS
    while one of them runs a step of this step's model) starts one there (slot 0 at
    once), in the background, and keeps asking all of them. It never imports
    TensorFlow itself while a worker serves, unless this process has already.
    """
    busy_since: float | None = None
    starting: Starting | None = None  # the worker this step started
    stale: set[int] = set()
    while True:
        slot, outcome, busy_models = _offer(layout, request, stale)
        if outcome is not _UNTAKEN:
            return outcome
        now = time.monotonic()
        if slot > 0 and "tensorflow" in sys.modules:
            return NOT_SERVED  # this process has paid the import already (an earlier step built here)
        busy_since = now if busy_since is None and slot > 0 else busy_since
        grow_after = GROW_SAME_MODEL_AFTER_SECONDS if request.get("model") in busy_models else GROW_AFTER_SECONDS
        if starting is None and slot < workerlink.pool_size() and (
                slot == 0 or now - (busy_since or now) >= grow_after):
            starting = _start(layout, slot)
        if starting is not None:
            _check_start(starting)
        time.sleep(POLL_SECONDS)


def _offer(layout: Layout, request: dict[str, Any], stale: set[int]) -> tuple[int, Any, set[str]]:
    """(the first slot without a listening worker, _UNTAKEN, the models the busy workers before it build), or
    (its slot, the outcome, ...) once one took the step."""
    busy_models: set[str] = set()
    for slot in range(workerlink.pool_size()):
        address = workerlink.socket_address(layout, slot)
        connection = _connect(address) if address is not None else None
        if connection is None:
            return (slot if address is not None else workerlink.pool_size()), _UNTAKEN, busy_models
        answer = _send_request(connection, request)
        status = answer.get("status")
        if status == "accepted":
            return slot, _await_outcome(connection, layout, int(answer["pid"])), busy_models
        connection.close()
        if status == "stale" and slot not in stale:
            # Another tflmake, TensorFlow or venv: that worker exits; the next offer starts one that matches.
            _wait_for_exit(int(answer["pid"]), 10.0)
            stale.add(slot)
            return slot, _UNTAKEN, busy_models
        if status != "busy":
            raise WorkerTrouble(str(answer.get("reason", f"unexpected answer {status!r}")))
        busy_models.add(str(answer.get("model")))
    return workerlink.pool_size(), _UNTAKEN, busy_models


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


class Starting(NamedTuple):
    """A worker this step started, and when it must listen by."""

    process: subprocess.Popen[bytes]
    deadline: float


def _start(layout: Layout, slot: int) -> Starting | None:
    """Start worker `slot` in the background, or None when one holds the slot (it is starting or exiting).

    The slot's lock is taken here and handed to the worker, which holds it until it exits.
    """
    os.makedirs(layout.build_dir, exist_ok=True)
    descriptor = os.open(layout.worker_lock(slot), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    try:
        with open(layout.worker_log, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tflmake.worker", "--build-dir", layout.build_dir, "--slot", str(slot),
                 "--lock-descriptor", str(descriptor),
                 "--idle", str(workerlink.seconds(workerlink.IDLE_ENV, workerlink.DEFAULT_IDLE_SECONDS)),
                 "--max-rss-mb", str(workerlink.seconds(workerlink.MAX_RSS_ENV, workerlink.DEFAULT_MAX_RSS_MB))],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
                pass_fds=(descriptor,), env={**os.environ, workerlink.WORKER_ENV: "0"})
    finally:
        os.close(descriptor)  # the worker's copy keeps the lock
    _started.append(process)
    return Starting(process, time.monotonic() + workerlink.START_TIMEOUT_SECONDS)


def _check_start(starting: Starting) -> None:
    """WorkerTrouble when a worker this step started exited or did not listen in time."""
    if starting.process.poll() is not None:
        raise WorkerTrouble(f"the worker exited while starting (exit {starting.process.returncode})")
    if time.monotonic() > starting.deadline:
        starting.process.kill()
        raise WorkerTrouble(f"the worker did not listen within {workerlink.START_TIMEOUT_SECONDS:.0f}s")


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


def ask(layout: Layout, op: str, slot: int = 0) -> dict[str, Any] | None:
    """Worker `slot`'s answer to `status` or `stop`, or None when no worker serves there."""
    address = workerlink.socket_address(layout, slot)
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


def statuses(layout: Layout) -> list[dict[str, Any]]:
    """The `status` answers of the project's serving workers, by slot (it never starts one)."""
    answers = (ask(layout, "status", slot) for slot in range(workerlink.pool_size()))
    return [answer for answer in answers if answer and answer.get("status") == "ok"]


def stop(layout: Layout, timeout: float = 30.0) -> list[int]:
    """Stop the project's workers (each after the step it is running); their pids."""
    pids = [pid for pid in (_ask_to_stop(layout, slot) for slot in range(workerlink.pool_size())) if pid]
    for pid in pids:
        if not _wait_for_exit(pid, timeout):
            _kill(pid)
            _wait_for_exit(pid, 5.0)
    return pids


def _ask_to_stop(layout: Layout, slot: int) -> int | None:
    """The pid of worker `slot`, told to stop (or found by its record), or None when none serves there."""
    answer = ask(layout, "stop", slot)
    if answer:
        return int(answer["pid"])
    record = workerlink.read_record(layout, slot)
    return int(record["pid"]) if record and _is_worker(int(record["pid"])) else None


def _is_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return b"tflmake.worker" in file.read()
    except OSError:
        return False
