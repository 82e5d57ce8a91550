"""The warm worker's process: listen on the project's socket, run one step at a time, exit when told or idle.

A project has one worker per slot (`.worker.sock`, `.worker-1.sock`, ...; `-n N`
builds start up to N, see engine.workerclient); each holds its slot's lock file
from its start to its exit. One thread accepts connections and answers `status` and `stop` at once, and
`busy` to a step while another runs; the main thread runs the steps (TensorFlow
and Ctrl-C handling want the main thread). While a step runs, a watcher thread
sends the client a heartbeat every second and turns the client's `abort` (or its
hang-up) into SIGINT, which stops the step as Ctrl-C stops an in-process one.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tflmake import atomic, console
from tflmake.engine import workerlink
from tflmake.engine.runner import build_step
from tflmake.paths import Layout
from tflmake.worker import isolation

INTERRUPT_GRACE_SECONDS = 10.0  # a step that ignores the abort this long ends the worker
CODE_CHECK_SECONDS = 10.0  # how often an idle worker checks that tflmake's code is still its own


@dataclass
class Worker:
    """What the worker knows about itself (its `status` answer), and the steps waiting for the main thread."""

    layout: Layout
    slot: int
    root: str
    build_dir: str
    identity: dict[str, str]
    idle_seconds: float
    max_rss_mb: float
    started: float = field(default_factory=time.time)
    last_request: float = field(default_factory=time.monotonic)
    tasks: int = 0
    warm_up_seconds: float = 0.0  # what importing TensorFlow and the builders took: a cold step's extra cost
    owner: int = 0  # a process whose exit ends the worker (workerlink.OWNER_ENV), or 0
    busy: bool = False
    model: str = ""  # the model whose step runs (told to a step that finds this worker busy)
    stopping: str = ""  # why the worker exits once the running step is done
    steps: queue.Queue[tuple[socket.socket, list[int], dict[str, Any]]] = field(default_factory=queue.Queue)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "slot": self.slot, "started": self.started, "uptime": time.time() - self.started,
                "rss_mb": rss_mb(), "tasks": self.tasks, "busy": self.busy,
                "warm_up_seconds": self.warm_up_seconds, "root": self.root,
                "build_dir": self.build_dir, "idle_seconds": self.idle_seconds, "max_rss_mb": self.max_rss_mb,
                "tensorflow": self.identity["tensorflow"], "python": self.identity["python"]}


def serve(build_dir: str, idle_seconds: float, max_rss_mb: float, slot: int = 0, lock_descriptor: int = -1) -> int:
    """Warm up, listen, and run steps until idle, stopped, stale or too large; the exit code.

    `lock_descriptor`: the slot's lock file, locked by the client that started this worker (held until
    exit); -1: lock it here.
    """
    layout = Layout(build_dir)
    address = workerlink.socket_address(layout, slot)
    if address is None:
        log(f"the socket path {layout.worker_socket(slot)} is too long for AF_UNIX")
        return 2
    if lock_descriptor < 0 and not hold_lock(layout.worker_lock(slot)):
        log(f"another worker holds slot {slot} ({layout.worker_lock(slot)})")
        return 2
    identity = workerlink.identity()  # before warming up, which sets TensorFlow's variables
    warming = time.monotonic()
    baseline = isolation.warm_up()
    worker = Worker(layout, slot, os.path.realpath(os.getcwd()), os.path.realpath(build_dir), identity,
                    idle_seconds, max_rss_mb, warm_up_seconds=time.monotonic() - warming, owner=_owner())
    listener = listen(address)
    inode = os.stat(address).st_ino
    atomic.write_text(layout.worker_record(slot), json.dumps(
        {"pid": os.getpid(), "started": worker.started, "identity": worker.identity}, sort_keys=True) + "\n")
    log(f"serving {worker.root} in slot {slot} (TensorFlow {worker.identity['tensorflow']}, idle exit after "
        f"{idle_seconds:.0f}s)")
    threading.Thread(target=accept_loop, args=(worker, listener), daemon=True).start()
    try:
        reason = main_loop(worker, baseline)
    finally:
        _remove_if_ours(address, listener, inode)
        _remove_record(layout, slot)
    log(f"exiting: {reason} (served {worker.tasks} steps)")
    return 0


def listen(address: str) -> socket.socket:
    """The listening socket, mode 0600 from the start (umask), so no other user can ever connect."""
    if os.path.lexists(address):
        os.unlink(address)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o177)
    try:
        listener.bind(address)
    finally:
        os.umask(umask)
    os.chmod(address, 0o600)
    listener.listen(8)
    listener.settimeout(1.0)
    return listener


def main_loop(worker: Worker, baseline: isolation.Baseline) -> str:
    """Run queued steps; the reason to exit."""
    last_check = time.monotonic()
    while True:
        if worker.stopping:
            return worker.stopping
        try:
            connection, descriptors, request = worker.steps.get(timeout=0.5)
        except queue.Empty:
            if time.monotonic() - worker.last_request > worker.idle_seconds:
                return f"idle for {worker.idle_seconds:.0f}s"
            if worker.owner and not alive(worker.owner):
                return f"its owner (pid {worker.owner}, a cluster worker) exited"
            if time.monotonic() - last_check > CODE_CHECK_SECONDS:
                last_check = time.monotonic()
                if code_changed(worker):
                    return "tflmake's code changed"
            continue
        try:
            run_request(worker, baseline, connection, descriptors, request)
        except Exception as error:  # noqa: BLE001 - the client builds in process after one warning
            return f"a step broke the worker: {type(error).__name__}: {error}"
        finally:
            for descriptor in descriptors:
                os.close(descriptor)
            connection.close()
            with worker.lock:
                worker.busy = False
                worker.last_request = time.monotonic()
        if rss_mb() > worker.max_rss_mb:
            return f"resident memory {rss_mb():.0f} MB is past the bound of {worker.max_rss_mb:.0f} MB"


def accept_loop(worker: Worker, listener: socket.socket) -> None:
    while True:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        try:
            answer(worker, connection)
        except (OSError, ConnectionError, EOFError, ValueError) as error:
            log(f"dropped a connection: {error}")
            connection.close()


def answer(worker: Worker, connection: socket.socket) -> None:
    """Read one request and answer it; a step the main thread can take is queued, with the connection."""
    connection.settimeout(10.0)
    if workerlink.peer_uid(connection) != os.getuid():
        log("refused a connection from another user")
        connection.close()
        return
    _, descriptors, _, _ = socket.recv_fds(connection, 1, 2)
    request = workerlink.receive(connection)
    reply = _refusal(worker, request)
    if reply is None and request.get("op") == "status":
        reply = {"status": "ok", **worker.status()}
    elif reply is None and request.get("op") == "stop":
        worker.stopping = "stopped by `tflmake worker stop`"
        reply = {"status": "stopping", "pid": os.getpid()}
    elif reply is None and request.get("op") == "step":
        with worker.lock:
            reply = {"status": "busy", "pid": os.getpid(), "model": worker.model} \
                if worker.busy or worker.stopping else None
            if reply is None:
                worker.busy = True
                worker.model = str(request.get("model", ""))
                worker.last_request = time.monotonic()
                worker.steps.put((connection, descriptors, request))
                return
    if reply is None:
        reply = {"status": "refused", "reason": f"unknown request {request.get('op')!r}"}
    for descriptor in descriptors:
        os.close(descriptor)
    workerlink.send(connection, reply)
    connection.close()


def _refusal(worker: Worker, request: dict[str, Any]) -> dict[str, Any] | None:
    """Why this worker does not serve the request (another project, or it is stale), or None."""
    if (request.get("root"), request.get("build_dir")) != (worker.root, worker.build_dir):
        log(f"refused a request for another project: {request.get('root')}")
        return {"status": "refused", "pid": os.getpid(),
                "reason": f"the worker at {worker.layout.worker_socket(worker.slot)} serves {worker.root}, "
                          f"not {request.get('root')}"}
    if request.get("op") == "step" and request.get("identity") != worker.identity:
        differences = sorted(key for key, value in worker.identity.items()
                             if (request.get("identity") or {}).get(key) != value)
        worker.stopping = f"a client with another {', '.join(differences)}"
        return {"status": "stale", "pid": os.getpid(), "reason": worker.stopping}
    return None


def run_request(worker: Worker, baseline: isolation.Baseline, connection: socket.socket, descriptors: list[int],
                request: dict[str, Any]) -> None:
    """Run the step with the client's stdout and stderr, then send its outcome."""
    sending = threading.Lock()
    with sending:
        workerlink.send(connection, {"status": "accepted", "pid": os.getpid()})
    done = threading.Event()
    threading.Thread(target=watch, args=(connection, sending, done), daemon=True).start()
    basename, spec, layout, arguments = request["payload"]
    reply: dict[str, Any]
    try:
        try:
            with client_streams(descriptors), console.labelled(request["labelled"]), \
                    isolation.isolated_step(baseline, request["environment"]):
                reply = {"outcome": build_step(basename, spec, layout, *arguments)}
        finally:
            with sending:  # the watcher interrupts only while `done` is unset, under this lock
                done.set()
    except KeyboardInterrupt:
        reply = {"outcome": None, "interrupted": True}
    worker.tasks += 1
    with sending:
        try:
            workerlink.send(connection, reply)
        except OSError:
            pass  # the client is gone (killed): its run ends anyway


def watch(connection: socket.socket, sending: threading.Lock, done: threading.Event) -> None:
    """Heartbeats to the client while the step runs; its abort or hang-up interrupts the step."""
    connection.settimeout(workerlink.HEARTBEAT_SECONDS)
    while not done.is_set():
        try:
            if workerlink.receive(connection).get("op") != "abort":
                continue
        except TimeoutError:
            with sending:
                if not done.is_set():
                    _send_quietly(connection, {"heartbeat": time.time()})
            continue
        except (OSError, ConnectionError, EOFError):
            pass  # hang-up: the client was interrupted or killed (or, the step done, it read the outcome)
        if done.is_set():
            return
        log("the client interrupted the step")
        _interrupt(sending, done)
        return


def _interrupt(sending: threading.Lock, done: threading.Event) -> None:
    """SIGINT to the step, as Ctrl-C: training stops at the next batch; a second one after 2s stops at once;
    a step that still runs after the grace period ends the worker."""
    started = time.monotonic()
    for _ in range(2):
        with sending:
            if done.is_set():
                return
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        done.wait(2.0)
    if not done.wait(max(0.0, INTERRUPT_GRACE_SECONDS - (time.monotonic() - started))):
        log("a step ignored the interrupt; exiting")
        os._exit(3)


def _send_quietly(connection: socket.socket, message: dict[str, Any]) -> None:
    try:
        workerlink.send(connection, message)
    except OSError:
        pass


@contextmanager
def client_streams(descriptors: list[int]) -> Iterator[None]:
    """The client's stdout and stderr as this process's descriptors 1 and 2 for the step."""
    if len(descriptors) != 2:
        yield
        return
    with console.descriptors_redirected(descriptors[0], descriptors[1]):
        yield


def code_changed(worker: Worker) -> bool:
    """Whether tflmake's files differ from those the worker started with (new code on disk)."""
    from tflmake.cache.key import code_digest_on_disk

    return code_digest_on_disk() != worker.identity["code"]


def _owner() -> int:
    try:
        return max(0, int(os.environ.get(workerlink.OWNER_ENV, "")))
    except ValueError:
        return 0


def hold_lock(path: str) -> bool:
    """Lock `path` for the rest of this process, unless another process holds it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return False
    return True  # the descriptor stays open: the lock is released when the process exits


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, another user's
    return True


def rss_mb() -> float:
    """This process's resident set size in MB (Linux /proc)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def log(line: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} tflmake worker (pid {os.getpid()}): {line}", file=sys.stderr,
          flush=True)


def _remove_if_ours(address: str, listener: socket.socket, inode: int) -> None:
    """Close and remove the socket, unless a newer worker has already put its own in its place."""
    listener.close()
    try:
        if os.stat(address).st_ino == inode:
            os.unlink(address)
    except OSError:
        pass


def _remove_record(layout: Layout, slot: int) -> None:
    record = workerlink.read_record(layout, slot)
    if record is not None and record.get("pid") == os.getpid():
        try:
            os.unlink(layout.worker_record(slot))
        except OSError:
            pass
