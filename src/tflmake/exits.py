"""How every `tflmake` command ends: a small, stable set of exit codes and one clean last line.

CI scripts tell "a gate or build failed" from "the spec or command line is wrong"
by the exit code alone, so the codes are few and documented (README, "Exit codes").
A closed pipe (`tflmake list | head`) and Ctrl-C end quietly instead of with a
traceback.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: every command imports this module
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, TextIO

OK = 0
FAILED = 1  # a build step or a quality gate failed (or: not everything is up to date, for status)
INVALID = 2  # an invalid spec, or a wrong command line / [tool.tflmake]
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)
READER_GONE = 141  # the reader of stdout went away (128 + SIGPIPE, as shells report it)

INTERRUPTED_MESSAGE = "tflmake: interrupted; rerun to continue — finished targets are kept"


class ReaderGone(BaseException):
    """stdout's reader closed the pipe.

    A BaseException, so doit's `except Exception` (which prints a traceback)
    lets it through to `tflmake.cli.main`.
    """


class GuardedStream:
    """A text stream whose writes turn a broken pipe into ReaderGone; everything else is the stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise ReaderGone from None

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise ReaderGone from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def guarded_stdout() -> Iterator[None]:
    """sys.stdout as a GuardedStream for the block."""
    saved = sys.stdout
    sys.stdout = GuardedStream(saved)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = saved


def silence_stdout() -> None:
    """Point fd 1 at /dev/null, so what is still buffered cannot fail again at interpreter exit."""
    try:
        descriptor = sys.__stdout__.fileno() if sys.__stdout__ else -1
    except (OSError, ValueError):
        return
    if descriptor < 0:
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)
