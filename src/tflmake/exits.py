"""How every `tflmake` command ends: a small, stable set of exit codes and one clean last line.

CI scripts tell "a gate or build failed" from "the spec or command line is wrong"
by the exit code alone, so the codes are few and documented (docs/cli.md, "Exit codes").
A closed pipe (`tflmake list | head`) and Ctrl-C end quietly instead of with a
traceback.

Every Ctrl-C ends a command with 130, even one whose KeyboardInterrupt is lost: Python
prints a KeyboardInterrupt raised in a finalizer or weakref callback as "Exception
ignored" and goes on (TensorFlow runs many while it converts; seen in 3 of 3 builds
interrupted 0.4 s after training), so the handler remembers the press and the build
checks it between steps and at the end.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: every command imports this module
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
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


_ctrl_c_pressed = False


def ctrl_c_pressed() -> bool:
    """Whether Ctrl-C was pressed inside `ctrl_c_remembered` (its KeyboardInterrupt may have been lost)."""
    return _ctrl_c_pressed


def note_ctrl_c() -> None:
    """Remember a press that a SIGINT handler of its own (training's) took."""
    global _ctrl_c_pressed
    _ctrl_c_pressed = True


def forget_ctrl_c() -> None:
    """Forget a remembered press once it has ended what it interrupted (the warm worker's next step)."""
    global _ctrl_c_pressed
    _ctrl_c_pressed = False


def interrupt(signum: int, frame: Any) -> None:
    """The SIGINT handler inside `ctrl_c_remembered`: Python's own (raise KeyboardInterrupt), remembering the press."""
    note_ctrl_c()
    raise KeyboardInterrupt


def raise_if_ctrl_c_pressed() -> None:
    """KeyboardInterrupt if Ctrl-C was pressed, even if the first one was lost on the way."""
    if _ctrl_c_pressed:
        raise KeyboardInterrupt


def pythons_to_handle() -> bool:
    """Whether a SIGINT raises KeyboardInterrupt here: the main thread, Python's handler or `interrupt`.

    An ignored SIGINT (a background job) stays ignored.
    """
    return (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) in (signal.default_int_handler, interrupt))


@contextmanager
def ctrl_c_remembered(afterwards: Callable[[int, Any], None] | None = None) -> Iterator[None]:
    """`interrupt` handles SIGINT in the block; then `afterwards` (default: Python's own handler)."""
    global _ctrl_c_pressed
    if not pythons_to_handle():
        yield
        return
    _ctrl_c_pressed = False
    signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, afterwards or signal.default_int_handler)


def exit_interrupted(signum: int, frame: Any) -> None:
    """A SIGINT handler for a process whose command has finished: exit 130 at once, nothing left to stop.

    Otherwise a press between the last line and the interpreter's exit raised a
    KeyboardInterrupt no one catches, and the process died by the signal.
    """
    os._exit(INTERRUPTED)
