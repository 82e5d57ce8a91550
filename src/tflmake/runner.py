"""The one action every task runs: import the builder lazily, turn project errors into one line."""

from __future__ import annotations

import importlib
from typing import Any

from doit.exceptions import TaskError, TaskFailed

from tflmake.console import (
    captured_tail,
    native_output_captured,
    release_captured_streams,
    replay_tail,
    task_label,
)
from tflmake.errors import TflmakeError
from tflmake.paths import Layout
from tflmake.spec import ModelSpec


def run_step(step: str, spec: ModelSpec, layout: Layout, variant: str | None = None) -> Any:
    """Build one artifact with `tflmake.builders.<step>.build`.

    Module-level so `doit -n` can pickle it; the builder module (and TensorFlow)
    is imported only when a task actually runs. The targets' fingerprints are
    saved by the task's up-to-date checker (see fingerprint).
    """
    where = f"{spec.name}.{variant}" if variant else spec.name
    builder = importlib.import_module(f"tflmake.builders.{step}")
    with task_label(f"{step}:{where}"), native_output_captured() as capture:
        try:
            layout.check_inside(spec.name)
            builder.build(spec, layout, variant) if variant else builder.build(spec, layout)
        except TflmakeError as error:
            return TaskFailed(f"{where} ({spec.spec_path}): {error}")
        except Exception as error:
            # A bug or a TensorFlow surprise: one line first; the traceback and
            # TensorFlow's last words only with --traceback.
            cause = f"{type(error).__name__}: {error}".splitlines()[0]
            failure = TaskError(f"{where} ({spec.spec_path}): unexpected {cause}", error)
            failure.traceback = [*failure.traceback, captured_tail(capture)]
            return failure
        except KeyboardInterrupt:
            raise  # Ctrl-C: the CLI prints one line; TensorFlow's last words would bury it
        except BaseException:
            replay_tail(capture)
            raise
        finally:
            release_captured_streams()
    return None


def run_project_step(step: str, specs: list[ModelSpec], layout: Layout) -> Any:
    """Build one project-wide artifact with `tflmake.builders.<step>.build(specs, layout)`."""
    builder = importlib.import_module(f"tflmake.builders.{step}")
    try:
        builder.build(specs, layout)
    except TflmakeError as error:
        return TaskFailed(f"{step}: {error}")
    return None


def fail_spec(message: str) -> TaskFailed:
    """The action of a broken spec's task: fail with the spec's own message."""
    return TaskFailed(message)
