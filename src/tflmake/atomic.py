"""Atomic writes: a killed build never leaves a target that looks complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tflmake.errors import BuildError

# Temp files are created 0600 and temp dirs 0700; artifacts get the usual umask modes.
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then rename it over `path`."""
    with open_for_write(path) as handle:
        handle.write(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


@contextmanager
def open_for_write(path: str | os.PathLike[str]) -> Iterator[tempfile._TemporaryFileWrapper[bytes]]:
    """A binary file handle whose contents replace `path` only if the block succeeds."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(target)
        handle = tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False)
    except OSError as error:
        raise BuildError(f"cannot write {target.as_posix()}: {error.strerror or error}") from error
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o666 & ~_UMASK)
        os.replace(handle.name, target)
    except OSError as error:
        Path(handle.name).unlink(missing_ok=True)
        raise BuildError(f"cannot write {target.as_posix()}: {error.strerror or error}") from error
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


@contextmanager
def directory_for_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temp directory that replaces the directory `path` only if the block succeeds.

    Directories cannot be renamed over non-empty ones, so the old one is moved
    aside first; a kill between the two renames leaves no directory, never a
    half-written one.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(target)
        work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as error:
        raise BuildError(f"cannot write {target.as_posix()}: {error.strerror or error}") from error
    try:
        yield work
        os.chmod(work, 0o777 & ~_UMASK)
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
            os.replace(target, old / target.name)
            os.replace(work, target)
            shutil.rmtree(old)
        else:
            os.replace(work, target)
    except OSError as error:
        shutil.rmtree(work, ignore_errors=True)
        raise BuildError(f"cannot write {target.as_posix()}: {error.strerror or error}") from error
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _remove_leftovers(target: Path) -> None:
    """Delete temp files and directories a killed build left for this target.

    Safe because a build holds the build-directory lock: nobody else is writing them.
    """
    for leftover in [*target.parent.glob(f".{target.name}.*.tmp"), *target.parent.glob(f".{target.name}.*.old")]:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
