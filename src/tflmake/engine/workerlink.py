"""The warm build worker's wire: its settings, its socket, framed messages and what a worker must match.

Both ends use it: the client (`engine.workerclient`, inside `run_step`) and the
worker (`tflmake.worker`). Messages are pickled (a request carries the task's
ModelSpec and Layout, as `doit -n` pickles them), framed by a 4-byte length; the
socket is mode 0600 and the worker checks the peer's uid (SO_PEERCRED), so only
the owner's own processes ever send it one.
"""

from __future__ import annotations

import os
import struct
import sys
from typing import TYPE_CHECKING, Any

from tflmake.paths import Layout

if TYPE_CHECKING:
    import socket

# socket, pickle and hashlib are imported where used: `tflmake` reads WORKER_ENV on every run, a no-op too.

WORKER_ENV = "TFLMAKE_WORKER"  # "0" (or --no-worker) builds every step in process
IDLE_ENV = "TFLMAKE_WORKER_IDLE"  # seconds without a request before the worker exits
MAX_RSS_ENV = "TFLMAKE_WORKER_MAX_RSS_MB"  # the worker exits after a step that leaves it larger
OWNER_ENV = "TFLMAKE_WORKER_OWNER"  # a pid: the worker exits once that process has (a cluster worker's)
TIMEOUT_ENV = "TFLMAKE_WORKER_TIMEOUT"  # seconds of silence (no heartbeat) after which a worker counts as hung
DEFAULT_IDLE_SECONDS = 900.0
DEFAULT_MAX_RSS_MB = 3072.0
DEFAULT_TIMEOUT_SECONDS = 30.0
START_TIMEOUT_SECONDS = 120.0  # importing TensorFlow on a loaded machine
HEARTBEAT_SECONDS = 1.0
# Environment variables that may change what a step builds: a worker started under others is stale.
_BUILD_ENVIRONMENT_PREFIXES = ("TF_", "KERAS_", "CUDA_", "OMP_", "MKL_", "PYTHONHASHSEED", "PYTHONPATH",
                               "LD_LIBRARY_PATH", "TFLMAKE_TF_THREADS")
# Log levels change no byte (and tflmake sets TF_CPP_MIN_LOG_LEVEL itself when it imports TensorFlow).
_QUIET_VARIABLES = ("TF_CPP_MIN_LOG_LEVEL", "TF_CPP_MAX_VLOG_LEVEL", "TF_CPP_VMODULE")
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux
_HEADER = struct.Struct("!I")


def enabled() -> bool:
    """Whether steps may go to a warm worker: not turned off, and a platform with AF_UNIX and SO_PEERCRED."""
    if os.environ.get(WORKER_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    import socket

    return hasattr(socket, "AF_UNIX") and hasattr(socket, "SO_PEERCRED")


def seconds(name: str, default: float) -> float:
    """A positive number of seconds (or MB) from the environment, else `default`."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def pool_size() -> int:
    """How many warm workers a project may have: one per core (`-n N` starts up to N, one at a time)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores)


def socket_address(layout: Layout, slot: int = 0) -> str | None:
    """Worker `slot`'s socket path as this process reaches it (relative when shorter), or None when too long."""
    path = layout.worker_socket(slot)
    if len(path) > _MAX_SOCKET_PATH:
        path = os.path.relpath(path)
    return path if len(path) <= _MAX_SOCKET_PATH else None


def project_of(layout: Layout) -> dict[str, str]:
    """What a request names as its project: the working directory and the build directory, resolved."""
    return {"root": os.path.realpath(os.getcwd()), "build_dir": os.path.realpath(layout.build_dir)}


def identity() -> dict[str, str]:
    """What a worker must share with its client: tflmake's code, TensorFlow and Keras, the venv, the build
    environment. A worker whose identity differs from a client's is stale and exits."""
    import hashlib
    import json

    from tflmake.cache.key import code_digest
    from tflmake.engine.toolversions import tool_version

    environment = {name: value for name, value in os.environ.items()
                   if name.startswith(_BUILD_ENVIRONMENT_PREFIXES) and name not in _QUIET_VARIABLES}
    return {"code": code_digest(), "tensorflow": tool_version("tensorflow"), "keras": tool_version("keras"),
            "python": sys.executable, "prefix": sys.prefix,
            "environment": hashlib.sha256(json.dumps(environment, sort_keys=True).encode()).hexdigest()}


def send(connection: socket.socket, message: dict[str, Any]) -> None:
    import pickle

    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    connection.sendall(_HEADER.pack(len(data)) + data)


def receive(connection: socket.socket) -> dict[str, Any]:
    """The next message; ConnectionError when the other end closed the connection."""
    import pickle

    (length,) = _HEADER.unpack(_read_exactly(connection, _HEADER.size))
    message = pickle.loads(_read_exactly(connection, length))
    if not isinstance(message, dict):
        raise ConnectionError("not a tflmake worker message")
    return message


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = connection.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("the other end closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def peer_uid(connection: socket.socket) -> int:
    """The uid of the process at the other end of a connected AF_UNIX socket (Linux SO_PEERCRED)."""
    import socket

    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


def read_record(layout: Layout, slot: int = 0) -> dict[str, Any] | None:
    """Worker `slot`'s record (pid, start time, identity), or None."""
    import json

    try:
        with open(layout.worker_record(slot), encoding="utf-8") as file:
            record = json.load(file)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("pid"), int) else None
