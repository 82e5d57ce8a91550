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
from tflmake.exits import raise_if_ctrl_c_pressed
from tflmake.kinds import TASK_KINDS
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec

# Each model's task dicts, as the project loaded them: the cache looks a model's tasks up together.
_model_tasks: dict[str, list[dict[str, Any]]] = {}


def remember_model_tasks(models: dict[str, list[dict[str, Any]]]) -> None:
    """Keep each model's task dicts for this run (`doit -n` workers inherit them by fork)."""
    _model_tasks.clear()
    _model_tasks.update(models)


def run_step(basename: str, spec: ModelSpec, layout: Layout, *arguments: Any, task: Any) -> Any:
    """Build one artifact with `tflmake.builders.<basename>.build(spec, layout, *arguments)`, or restore
    it from the local or the shared cache.

    Module-level so `doit -n` can pickle it; the builder module (and TensorFlow)
    is imported only when a task actually runs. A per-variant task's first
    argument is its variant. The targets' fingerprints are saved by the task's
    up-to-date checker (see fingerprint). `task` is doit's (doit passes it by
    name): the cache keys and restores a task by its file_dep and targets.
    """
    if TASK_KINDS[basename].cached:
        # Only here, for a stale cacheable task: a no-op never imports the cache code.
        from tflmake.cache.action import run_cached
        from tflmake.cache.config import for_build_steps
        from tflmake.cache.key import facts_from_task

        try:
            config = for_build_steps()
            if config.active:
                layout.check_inside(spec.name)
        except TflmakeError as error:
            return TaskFailed(f"{task.name} ({spec.spec_path}): {error}")
        if config.active:
            facts = facts_from_task(task, layout.build_dir, spec.folder, spec.name)

            def siblings() -> list[Any]:
                return [facts_from_task(sibling, layout.build_dir, spec.folder, spec.name)
                        for sibling in _model_tasks.get(spec.name, []) if TASK_KINDS[sibling["basename"]].cached]

            return run_cached(facts, config, lambda: build_step(basename, spec, layout, *arguments), siblings)
    return build_step(basename, spec, layout, *arguments)


def build_step(basename: str, spec: ModelSpec, layout: Layout, *arguments: Any) -> Any:
    """Run the builder of one artifact; a failure comes back as doit's TaskFailed/TaskError."""
    where = f"{spec.name}.{arguments[0]}" if TASK_KINDS[basename].arity == "variant" else spec.name
    if TASK_KINDS[basename].tensorflow:
        # The project's warm worker has TensorFlow imported already (see engine.workerclient); imported
        # here, for a stale step, so task loading and a no-op never import the socket code.
        from tflmake.engine.workerclient import NOT_SERVED, delegate

        outcome = delegate(basename, spec, layout, arguments, f"{basename}:{where}")
        if outcome is not NOT_SERVED:
            return outcome
    builder = importlib.import_module(f"tflmake.builders.{basename}")
    raise_if_ctrl_c_pressed()  # a press lost between steps: start no other
    with task_label(f"{basename}:{where}"), native_output_captured() as capture:
        try:
            layout.check_inside(spec.name)
            builder.build(spec, layout, *arguments)
            # A press lost inside the step (see exits): the step is not recorded as built.
            raise_if_ctrl_c_pressed()
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


def run_project_step(step: str, specs: list[ModelSpec], layout: Layout, *arguments: Any) -> Any:
    """Build one project-wide artifact with `tflmake.builders.<step>.build(specs, layout, *arguments)`."""
    builder = importlib.import_module(f"tflmake.builders.{step}")
    try:
        builder.build(specs, layout, *arguments)
    except TflmakeError as error:
        return TaskFailed(f"{step}: {error}")
    return None


def fail_spec(message: str) -> TaskFailed:
    """The action of a broken spec's task: fail with the spec's own message."""
    return TaskFailed(message)
