"""One build at a time per build directory: a second run waits instead of corrupting state."""

from __future__ import annotations

import os
import sys

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent runs are the user's to avoid
    fcntl = None  # type: ignore[assignment]

_held: dict[str, int] = {}

# doit commands that only read the project: they never wait behind a running build.
READ_ONLY_COMMANDS = frozenset({"list", "info", "help", "status", "dumpdb", "tabcompletion"})


def needs_build_lock(argv: list[str]) -> bool:
    """Whether the doit command line `argv` (without the program) may build, clean or forget."""
    return not argv or argv[0] not in READ_ONLY_COMMANDS


def hold_build_lock(build_dir: str) -> None:
    """Lock `build_dir/.lock` for the rest of this process, waiting if another run holds it.

    doit writes its state database once, at the end of a run, and artifacts are
    replaced by rename; two runs at once could each redo work and the last one to
    finish would overwrite the other's state. Holding the lock from task loading
    to exit serialises them: the second run waits, then finds everything up to date.
    """
    path = _lock_path(build_dir)
    if fcntl is None or path in _held:
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
        print(f"tflmake: another build is running in {build_dir} (pid {holder}); "
              "waiting for it to finish...", file=sys.stderr, flush=True)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    _held[path] = descriptor


def try_build_lock(build_dir: str) -> int | None:
    """Lock `build_dir/.lock` without waiting: the descriptor holding it (closing it releases the lock),
    or None when another run holds it, no build made the lock file yet, or locks are unavailable."""
    if fcntl is None:
        return None
    try:
        descriptor = os.open(_lock_path(build_dir), os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


def _lock_path(build_dir: str) -> str:
    return os.path.abspath(os.path.join(build_dir, ".lock"))
