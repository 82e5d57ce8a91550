"""doit's console output, plus what a person wants: durations, one-line failures, a summary.

Lines keep doit's `.  task` (executed) and `-- task` (up to date) prefixes so
scripts that read doit's output keep working; our own lines are indented.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from doit.exceptions import BaseFail, UnmetDependency
from doit.reporter import ConsoleReporter

from tflmake.cache import RESTORED, SETTINGS_ENV
from tflmake.console import TRACEBACK_ENV
from tflmake.engine import noop
from tflmake.engine.lastrun import PROJECT_META, invalid_specs_of, model_of, project_of, save_failures
from tflmake.engine.statedb import keep_blocked_state


class TflmakeReporter(ConsoleReporter):
    """The reporter of every tflmake run (`doit` in a repo and the `tflmake` command)."""

    desc = "tflmake: task durations, one-line failures, a summary"

    def __init__(self, outstream: TextIO, options: dict[str, Any]) -> None:
        super().__init__(outstream, options)
        self.show_traceback = bool(os.environ.get(TRACEBACK_ENV)) or self.failure_verbosity > 0
        self.run_started = time.perf_counter()
        self.task_started: dict[str, float] = {}
        self.counts = {"built": 0, "restored from cache": 0, "up to date": 0, "failed": 0, "blocked": 0}
        # Counts shown even when zero (the cache's only while a shared one is configured).
        self.always_shown = {"built", "up to date", "failed"} | (
            {"restored from cache"} if _shared_cache_configured() else set())
        self.up_to_date_lines: list[str] = []
        self.project: tuple[list[Any], Any] | None = None
        self.invalid_specs: dict[str, str] = {}
        self.failed: dict[str, str] = {}  # task -> one-line cause (see lastrun)
        self.blocked: set[str] = set()
        self.succeeded: set[str] = set()
        self.tasks: dict[str, Any] = {}
        self.saved_targets: dict[str, tuple[int, int]] = {}  # (size, mtime_ns) of each target a task wrote

    def initialize(self, tasks: dict[str, Any], selected_tasks: list[str]) -> None:
        super().initialize(tasks, selected_tasks)
        self.tasks = tasks
        self.project = project_of(tasks)
        self.invalid_specs = invalid_specs_of(tasks)

    def write(self, text: str) -> None:
        """Up-to-date lines wait for the next line, so a no-op prints hundreds in one write."""
        if self.up_to_date_lines:
            super().write("".join(self.up_to_date_lines))
            self.up_to_date_lines.clear()
        super().write(text)

    def execute_task(self, task: Any) -> None:
        super().execute_task(task)
        self.task_started[task.name] = time.perf_counter()

    def add_success(self, task: Any) -> None:
        self.succeeded.add(task.name)
        for target, (size, mtime_ns, _) in (task.values.get("targets") or {}).items():
            self.saved_targets[target] = (size, mtime_ns)
        if is_artifact_task(task):
            how = RESTORED if task.result == RESTORED else "built"
            self.counts[how] += 1
            self.write(f"   {task.name} {how} in {self._elapsed(task)}\n")

    def skip_uptodate(self, task: Any) -> None:
        # Group tasks are up to date by themselves (graph); what they stand for is listed.
        if is_artifact_task(task):
            self.up_to_date_lines.append(f"-- {task.title()}\n")
            self.counts["up to date"] += 1

    def add_failure(self, task: Any, fail: BaseFail) -> None:
        """The task, then its one-line cause (model, variant, spec); tracebacks wait for the end."""
        if isinstance(fail, UnmetDependency):
            keep_blocked_state(task.name)  # it did not run: its inputs' content decides next time
        if not is_artifact_task(task):
            return
        if isinstance(fail, UnmetDependency):
            self.blocked.add(task.name)
            if self.project is not None and PROJECT_META in (task.meta or {}):
                return  # built from what exists at the end of the run, and said so then
            self.counts["blocked"] += 1
            self.write(f"   {task.name} not built: it needs {fail.message}, which failed\n")
            return
        self.counts["failed"] += 1
        self.failed[task.name] = _cause(fail, task.name)
        if not fail.report:
            return
        self.failures.append({"task": task, "exception": fail})
        took = f" after {self._elapsed(task)}" if task.name in self.task_started else ""
        # The message on lines of its own, as doit prints it, so it can be grepped whole.
        self.write(f"   {task.name} FAILED{took}\n{(fail.message or fail.get_name()).rstrip()}\n")

    def complete_run(self) -> None:
        if self.project is not None:
            self._record_the_run(*self.project)
        if self.show_traceback:
            self._write_details()
        elif any(result["exception"].traceback for result in self.failures):
            self.write("   (run with --traceback for the full error)\n")
        if self.runtime_errors:
            self.write("Execution aborted.\n" + "\n".join(self.runtime_errors) + "\n")
        if isinstance(sys.exc_info()[1], KeyboardInterrupt):
            return  # doit finishes the run on its way out of Ctrl-C; the CLI says the one line
        total = time.perf_counter() - self.run_started
        self.write(f"tflmake: {self._counts_text(self.counts)} ({_duration(total)})\n")
        if self.project is not None:
            self._record_noop(self.project[1])

    def _counts_text(self, counts: dict[str, int]) -> str:
        return ", ".join(f"{count} {what}" for what, count in counts.items() if count or what in self.always_shown)

    def _record_noop(self, layout: Any) -> None:
        """After a full build that built or found up to date every task: the no-op record (noop)."""
        artifacts = [task for task in self.tasks.values() if is_artifact_task(task)]
        # Every task built, restored or up to date: a failed, blocked or unselected one is none of these.
        done = self.counts["built"] + self.counts["restored from cache"] + self.counts["up to date"]
        if not noop.record_expected() or done != len(artifacts):
            return
        depends: set[str] = set()
        outputs: dict[str, tuple[int, int] | None] = {layout.dep_file: None}
        for task in artifacts:
            depends.update(task.file_dep)
            if task.name in self.succeeded:
                outputs.update({target: self.saved_targets.get(target) for target in task.targets})
            else:
                depends.update(task.targets)
        no_op = {what: 0 for what in self.counts} | {"up to date": len(artifacts)}
        noop.write_record(layout.build_dir, self._counts_text(no_op), depends, outputs)

    def _record_the_run(self, specs: list[Any], layout: Any) -> None:
        """Save what failed; when a failed model blocked the project report, build it from what exists."""
        save_failures(layout, self.failed, self.succeeded)
        if "summary" not in self.blocked:
            return
        from tflmake.engine.runner import run_project_step

        failed_models: dict[str, str] = dict(self.invalid_specs)  # each with its first error
        for name, cause in self.failed.items():
            failed_models.setdefault(model_of(name), cause)
        failure = run_project_step("summary", specs, layout, failed_models)
        if failure is not None:
            self.counts["failed"] += 1
            self.write(f"   summary FAILED\n{failure.message}\n")
            return
        self.counts["built"] += 1
        self.write(f"   summary built from what exists; failed: {', '.join(sorted(failed_models))}\n")

    def _write_details(self) -> None:
        for result in self.failures:
            task, fail = result["task"], result["exception"]
            captured = "".join((a.out or "") + (a.err or "") for a in task.actions)
            details = "".join(fail.traceback) + captured
            if details.strip():
                self.write(f"#### {task.name}\n{details.rstrip()}\n")

    def _elapsed(self, task: Any) -> str:
        now = time.perf_counter()
        return _duration(now - self.task_started.pop(task.name, now))


MODEL_GROUP = "tflmake_model_group"  # meta of the task named after a model (`tflmake <model>`)


def is_artifact_task(task: Any) -> bool:
    """A task that builds something: not a basename's or a model's group task, not a private one.

    `has_subtask`, not `task.actions`: reading the actions makes doit build them,
    ~13M instructions (a tenth of tflmake's own no-op work) at 50 specs.
    """
    return not task.has_subtask and not task.name.startswith("_") and MODEL_GROUP not in (task.meta or {})


def _cause(fail: BaseFail, task_name: str) -> str:
    """The last line of a failure's message: the one-line cause (a gate failure lists several)."""
    lines = (fail.message or fail.get_name() or "").strip().splitlines()
    return lines[-1] if lines else f"{task_name} failed"


def _duration(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def _shared_cache_configured() -> bool:
    """The tflmake command handed its build steps a shared cache to read or write (not just the local one)."""
    import json

    try:
        settings = json.loads(os.environ.get(SETTINGS_ENV) or "{}")
    except ValueError:
        return False
    return isinstance(settings, dict) and bool(settings.get("url")) and settings.get("mode") != "off"
