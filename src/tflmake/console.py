"""What a build prints: our progress lines stay visible, TensorFlow's native log noise does not."""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

VERBOSE_ENV = "TFLMAKE_VERBOSE"
TRACEBACK_ENV = "TFLMAKE_TRACEBACK"  # show the full traceback of a failed task (the reporter reads it)
_progress: TextIO | None = None


_task = ""  # the task whose step is running, for progress lines of parallel builds
_labelled: bool | None = None  # set by the warm worker: whether its client labels lines (None: ask multiprocessing)


def progress(line: str) -> None:
    """A line for the person watching the build (epochs, steps), even while output is captured.

    In a worker process of `-n N`, lines of several tasks interleave, so each starts
    with its task: `    [savedmodel:digits_mlp] epoch 1/5: ...`.
    """
    labelled = multiprocessing.parent_process() is not None if _labelled is None else _labelled
    if _task and labelled:
        stripped = line.lstrip(" ")
        line = f"{line[:len(line) - len(stripped)]}[{_task}] {stripped}"
    print(line, file=_progress or sys.stderr, flush=True)


@contextmanager
def task_label(task: str) -> Iterator[None]:
    """Name the task whose progress lines follow (see progress)."""
    global _task
    saved, _task = _task, task
    try:
        yield
    finally:
        _task = saved


@contextmanager
def labelled(on: bool) -> Iterator[None]:
    """Label progress lines with their task as the client process would (the warm worker runs `-n` steps)."""
    global _labelled
    saved, _labelled = _labelled, on
    try:
        yield
    finally:
        _labelled = saved


@contextmanager
def native_output_captured() -> Iterator[TextIO | None]:
    """Send what C++ and Python write to fds 1 and 2 into a temp file for the block.

    TensorFlow's C++ logs ignore TF_CPP_MIN_LOG_LEVEL for several messages and
    write straight to the file descriptors, so only a descriptor-level redirect
    silences them. Yields the capture (to replay on failure); with
    TFLMAKE_VERBOSE=1 nothing is captured and it yields None.
    """
    global _progress
    if os.environ.get(VERBOSE_ENV):
        yield None
        return
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as capture:
        with descriptors_redirected(capture.fileno(), capture.fileno()) as saved_stderr:
            _progress = os.fdopen(os.dup(saved_stderr), "w")
            try:
                yield capture
            finally:
                _progress.close()
                _progress = None


@contextmanager
def descriptors_redirected(stdout: int, stderr: int) -> Iterator[int]:
    """File descriptors 1 and 2 pointed at `stdout` and `stderr` for the block (Python's streams flushed
    around it); yields a duplicate of the original descriptor 2, valid inside the block."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    try:
        yield saved[1]
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for descriptor in saved:
            os.close(descriptor)


def replay_tail(capture: TextIO | None, lines: int = 40) -> None:
    """Show the end of a capture, for a step that failed in a way we did not foresee."""
    text = captured_tail(capture, lines)
    if text:
        progress(text)


def captured_tail(capture: TextIO | None, lines: int = 40) -> str:
    """The end of a capture under a header, or "" when nothing was captured."""
    if capture is None:
        return ""
    capture.flush()
    capture.seek(0)
    tail = capture.read().splitlines()[-lines:]
    return "---- last lines of TensorFlow's output ----\n" + "\n".join(tail) if tail else ""


def release_captured_streams() -> None:
    """Point absl's log handler at the real stderr if it was created while doit captured sys.stderr.

    absl binds its handler to the sys.stderr of the moment `absl.logging` is first
    imported. Imported inside a doit action (the LiteRT Quantizer does), that is
    doit's Writer, which has no close(): `logging.shutdown` at interpreter exit
    then printed an AttributeError traceback after every such build.
    """
    absl_logging = sys.modules.get("absl.logging")
    if absl_logging is None:
        return
    handler = absl_logging.get_absl_handler().python_handler
    if not callable(getattr(handler.stream, "close", None)):
        handler.setStream(sys.__stderr__)
