"""A no-op proven from one small record, before doit's task machinery or the task graph loads.

A full build (`tflmake` or `doit`, no arguments) that ends with every task built
or up to date writes `<build>/.noop-record`: a digest of its context (front end,
command line, working directory, interpreter, sys.path, `TFLMAKE_*`/`DOIT_*`
variables) and the stat (inode, size, mtime, ctime) of every path it depended
on: the specs folder and files, each task's file_dep and targets, the folders
whose listing decides a task's inputs, pyproject.toml, doit.cfg, the dodo file,
tflmake's own files, the package folders on sys.path (tool versions) and doit's
state file. The next full build with the same context stats those paths; all
equal (and no build holding the lock) means doit would find every task up to
date, so it says so in one line and stops. Any doubt falls through to the normal
path, which removes the record as soon as it holds the build lock (every build,
clean or forget) and writes it again only after such a run.

A stat proves "unchanged" only once it is older than the file system's clock
tick: a change within the same tick can leave size and times equal. So a path
the run did not write must be unchanged since a tick before the run started,
and the record is taken a tick after the newest file the run wrote.

Imported first by `tflmake` and by the dodo.py shim: standard library modules
only, and the cheapest of them.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

from tflmake.engine.lock import try_build_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

STARTED_NS = time.time_ns()  # the run's start (import, or start_run): paths it read must be older
_STARTED = time.perf_counter()

RECORD_NAME = ".noop-record"
DEFAULT_BUILD_DIR = "build"  # Settings().build_dir, checked before `tflmake` parses its settings
# Set: doit checks every task. A run with it writes no record, and no record answers it (a TFLMAKE_
# variable, it is part of the context).
CHECK_ALL_ENV = "TFLMAKE_CHECK_ALL"
FORMAT = 1
TICK_NS = 20_000_000  # Linux stamps files from a clock that ticks every 1-10 ms
COARSE_TICK_NS = 2_000_000_000  # whole-second stamps: FAT, ext3, HFS+
LONGEST_WAIT_NS = 50_000_000  # waiting for a tick to pass after a build; longer: no record this time
ENV_PREFIXES = ("TFLMAKE_", "DOIT_")
NOTHING_CHANGED = "nothing changed since the last build"

Key = tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns

# The full build this process runs, if it may write the record: (context, build dir, optional files).
_expected: tuple[str, str, tuple[str, ...]] | None = None
_inputs: list[str] = []  # specs folder and files and the folders read, noted by the task graph


def record_path(build_dir: str) -> str:
    return os.path.join(build_dir, RECORD_NAME)


def tflmake_context(argv: list[str]) -> str:
    """The context of `tflmake ARGV` here: what besides the recorded files decides what it builds."""
    return _context("tflmake", argv, ())


def doit_context(dodo: str, specs_dir: str, build_dir: str) -> str:
    """The context of `doit` (no arguments) with the dodo.py shim `dodo`."""
    return _context("doit", sys.argv[1:], (os.path.abspath(dodo), specs_dir, build_dir))


def _context(front: str, argv: list[str], extra: tuple[str, ...]) -> str:
    variables = sorted((name, value) for name, value in os.environ.items() if name.startswith(ENV_PREFIXES))
    values = (FORMAT, front, tuple(argv), extra, os.getcwd(), os.path.realpath(sys.executable), sys.prefix, sys.version,
              tuple(_package_dirs()), tuple(variables))
    # A digest: the variables may hold a cache URL, and the record need not.
    return _sha256_hex(repr(values).encode())


def _sha256_hex(data: bytes) -> str:
    try:  # the hash alone, without hashlib's OpenSSL import (2-3 ms)
        from _sha2 import sha256  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256
        except ImportError:
            from hashlib import sha256
    digest: str = sha256(data).hexdigest()
    return digest


def _package_dirs() -> list[str]:
    """sys.path's folders, without the running script's and the working one (as toolversions does)."""
    started_from = {os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv else "", os.getcwd()}
    folders = (os.path.abspath(entry) for entry in sys.path)
    return [folder for folder in folders if folder not in started_from]


def nothing_to_do(context: str, build_dir: str) -> str | None:
    """The one line to print when the record in `build_dir` proves a build in `context` has nothing
    to do; None when anything is in doubt (then the normal path decides)."""
    try:
        with open(record_path(build_dir), "rb") as file:
            version, recorded, summary, paths, keys = marshal.load(file)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if version != FORMAT or recorded != context:
        return None
    lock = try_build_lock(build_dir)
    if lock is None:  # a build is running (or locks are unavailable): wait for it the normal way
        return None
    try:
        if not _unchanged(paths, keys):
            return None
    except (TypeError, ValueError):  # a damaged record: the normal path writes a new one
        return None
    finally:
        os.close(lock)
    return f"tflmake: {summary} ({time.perf_counter() - _STARTED:.1f}s, {NOTHING_CHANGED})"


def _unchanged(paths: list[str], keys: list[Key | None]) -> bool:
    stat = os.stat
    for path, key in zip(paths, keys, strict=True):
        try:
            found = stat(path)
        except OSError:
            if key is None:
                continue
            return False
        if key != (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns):
            return False
    return True


def exit_if_nothing_changed(dodo: str, specs_dir: str, build_dir: str) -> None:
    """For the dodo.py shim: when plain `doit` has nothing to do, say so and exit 0 before any task loads.

    Only when doit itself runs with no arguments, never in a program that uses
    doit as a library (it would exit that program).
    """
    program = sys.argv[0] if sys.argv else ""
    if sys.argv[1:] or not (os.path.basename(program) == "doit" or
                            program.endswith(os.path.join("doit", "__main__.py"))):
        return
    context = doit_context(dodo, specs_dir, build_dir)
    line = nothing_to_do(context, build_dir)
    if line is None:
        expect_record(context, build_dir, dodo)
        return
    print(line, flush=True)
    raise SystemExit(0)


def start_run() -> None:
    """A command starts in this process (tests run several): no full build is expected yet."""
    global _expected, STARTED_NS, _STARTED
    _expected = None
    _inputs.clear()
    STARTED_NS, _STARTED = time.time_ns(), time.perf_counter()


def expect_record(context: str, build_dir: str, *files: str) -> None:
    """This process runs a full build in `context`: write the record if it succeeds.

    `files`: paths besides pyproject.toml and doit.cfg whose absence or stat is part of the context.
    """
    global _expected
    _expected = None if os.environ.get(CHECK_ALL_ENV) else (context, build_dir, ("pyproject.toml", "doit.cfg", *files))
    _inputs.clear()


def record_expected() -> bool:
    return _expected is not None


def note_inputs(paths: Iterable[str]) -> None:
    """Paths the run depends on that no task names: the specs folder and files, folders it lists."""
    _inputs.extend(paths)


def remove_record(build_dir: str) -> None:
    """A run that may change the build starts (it holds the build lock): the record no longer proves anything."""
    try:
        os.unlink(record_path(build_dir))
    except FileNotFoundError:
        pass


def write_record(build_dir: str, summary: str, depends: Iterable[str],
                 outputs: Mapping[str, tuple[int, int] | None]) -> bool:
    """After a full build that built or found up to date every task: write the record; whether it did.

    Args:
        summary: the counts of a no-op, as the reporter prints them.
        depends: every path the run read and did not write (it must be unchanged since the run began).
        outputs: every path the run wrote, with the (size, mtime_ns) doit saved for it, or None
            when doit saved none (the file must still have them).
    """
    global _expected
    if _expected is None or _expected[1] != build_dir:
        return False
    context, _, optional = _expected
    _expected = None
    # Paths that may be missing (then they must stay missing): settings files and sys.path entries.
    optional = tuple(sorted({*optional, *_package_dirs()} - set(outputs)))
    depends = sorted({*depends, *_inputs, *_own_files()} - set(outputs) - set(optional))
    optional_keys = _unchanged_keys(optional, missing_ok=True)
    depends_keys = _unchanged_keys(depends, missing_ok=False)
    written = sorted(outputs)
    written_keys = _written_keys(written, outputs)
    if optional_keys is None or depends_keys is None or written_keys is None:
        return False
    record = (FORMAT, context, summary, [*optional, *depends, *written],
              [*optional_keys, *depends_keys, *written_keys])
    from tflmake import atomic

    atomic.write_bytes(record_path(build_dir), marshal.dumps(record))
    return True


def _unchanged_keys(paths: Iterable[str], missing_ok: bool) -> list[Key | None] | None:
    """Each path's key, or None when one is missing (unless `missing_ok`) or changed since a tick
    before the run began."""
    keys = []
    for path in paths:
        key = _key(path)
        if key is None and not missing_ok or key is not None and _newest(key) >= STARTED_NS - _tick(key):
            return None
        keys.append(key)
    return keys


def _written_keys(paths: list[str], saved: Mapping[str, tuple[int, int] | None]) -> list[Key | None] | None:
    """Each written path's key once a tick has passed since the newest of them; None when one is
    missing or differs from what doit saved (edited after its task), or the tick is too long to wait."""
    for _ in range(2):
        keys = [_key(path) for path in paths]
        if any(key is None or saved[path] not in (None, key[1:3]) for path, key in zip(paths, keys, strict=True)):
            return None
        found = [key for key in keys if key is not None]
        wait = max((_newest(key) + _tick(key) for key in found), default=0) - time.time_ns()
        if wait <= 0:
            return list(keys)
        if wait > LONGEST_WAIT_NS:
            return None
        time.sleep(wait / 1e9)
    return None


def _key(path: str) -> Key | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns


def _newest(key: Key) -> int:
    return max(key[2], key[3])


def _tick(key: Key) -> int:
    return COARSE_TICK_NS if key[2] % 1_000_000_000 == 0 and key[3] % 1_000_000_000 == 0 else TICK_NS


def _own_files() -> list[str]:
    """Every file and folder of the tflmake package (bytecode aside): editing tflmake may change any task."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        found.append(folder)
        found += [os.path.join(folder, name) for name in files]
    return found
