"""`tflmake status`: each target up to date or stale, and why, from doit's own state DB.

doit decides (`Dependency.get_status`, as `doit info` does); this module only
turns its reasons into words a model author recognises: which spec key, input
file or tool version changed. It never runs a task, so TensorFlow is not imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from doit.cmd_base import DoitCmdBase, check_tasks_exist
from doit.dependency import DependencyStatus

from tflmake.commands.orphans import orphan_dirs
from tflmake.engine.fingerprint import key_and_targets_unchanged
from tflmake.engine.fragment import FRAGMENT_VALUE, fragment_changed, fragment_differences, saved_fragment
from tflmake.engine.lastrun import load_failures, model_of, project_of
from tflmake.engine.reporter import is_artifact_task

UP_TO_DATE, STALE, PENDING, INVALID = "up to date", "stale", "pending", "invalid"


@dataclass(frozen=True)
class TargetStatus:
    """One task's state and the reasons behind it."""

    task: str
    state: str
    reasons: tuple[str, ...] = ()


class Status(DoitCmdBase):  # type: ignore[misc]
    """The doit command behind `tflmake status`."""

    name = "status"
    doc_purpose = "show which targets are up to date or stale, and why"
    doc_usage = "[TASK ...]"
    doc_description = (
        "States: up to date; stale (will rebuild, with the reasons); pending (its own\n"
        "inputs are unchanged but an upstream task is stale); invalid (the spec does not\n"
        "validate). Exit code 0 when everything selected is up to date, else 1.")
    cmd_options = ()

    def _execute(self, pos_args: list[str] | None = None) -> int:
        tasks = {task.name: task for task in self.task_list}
        check_tasks_exist(tasks, pos_args)
        project = project_of(tasks)
        failures = load_failures(project[1]) if project else {}
        try:
            statuses = target_statuses(self.task_list, self.dep_manager, failures)
        finally:
            self.dep_manager.close()
        if pos_args:
            wanted = set(pos_args)
            statuses = [s for s in statuses
                        if s.task in wanted or s.task.split(":")[0] in wanted or model_of(s.task) in wanted]
        self.outstream.write(format_statuses(statuses))
        if project and not pos_args:
            models = {model_of(task.name) for task in self.task_list}
            for folder in orphan_dirs(project[1], models, [spec.spec_path for spec in project[0]]):
                self.outstream.write(f"orphan: {folder.as_posix()}/ has no spec; "
                                     "`tflmake clean --orphans` removes it\n")
        if project and not pos_args:
            self.outstream.write(worker_line(project[1]) + "\n")
        return 0 if all(s.state == UP_TO_DATE for s in statuses) else 1


def worker_line(layout: Any) -> str:
    """Which warm workers serve the project, a line each (it never starts one)."""
    from tflmake.commands.worker import describe
    from tflmake.engine import workerclient, workerlink

    if not workerlink.enabled():
        return "worker: off (--no-worker or TFLMAKE_WORKER=0)"
    answers = workerclient.statuses(layout)
    if answers:
        return "\n".join(describe(answer) for answer in answers)
    return "worker: none serves this project (the next build that runs a TensorFlow step starts one)"


def target_statuses(task_list: Iterable[Any], dep_manager: Any,
                    failures: Mapping[str, str] | None = None) -> list[TargetStatus]:
    """The status of every task that builds something, in build order.

    `failures`: task -> cause, for tasks whose last run failed (see lastrun).
    """
    tasks = {task.name: task for task in task_list}
    producer = {target: task.name for task in tasks.values() for target in task.targets}
    statuses: list[TargetStatus] = []
    not_current: set[str] = set()
    for task in tasks.values():
        if not is_artifact_task(task):
            continue
        status = _status_of(task, tasks, dep_manager, producer, not_current, failures or {})
        if status.state != UP_TO_DATE:
            not_current.add(task.name)
        statuses.append(status)
    return statuses


def _status_of(task: Any, tasks: dict[str, Any], dep_manager: Any, producer: dict[str, str],
               not_current: set[str], failures: Mapping[str, str]) -> TargetStatus:
    if task.name.startswith("spec:"):
        return TargetStatus(task.name, INVALID, ("the spec does not validate (tflmake validate)",))
    values = dep_manager.get_values(task.name)
    if not values and task.name in failures:
        return TargetStatus(task.name, STALE, (f"failed last time: {failures[task.name]}",))
    if not values:
        built_before = all(dep_manager.checker.exists(target) for target in task.targets)
        return TargetStatus(task.name, STALE, ("no build record (forgotten?)" if built_before
                                               else "never built",))
    result: DependencyStatus = dep_manager.get_status(task, tasks, get_log=True)
    if result.status != "up-to-date":
        return TargetStatus(task.name, STALE, tuple(explain(result.reasons, values, producer)))
    upstream = sorted({producer[dep] for dep in task.file_dep
                       if producer.get(dep) in not_current})
    if upstream:
        return TargetStatus(task.name, PENDING, tuple(f"after {name} rebuilds, if its output "
                                                      "changes" for name in upstream))
    return TargetStatus(task.name, UP_TO_DATE)


def explain(reasons: dict[str, Any], values: dict[str, Any],
            producer: dict[str, str]) -> list[str]:
    """doit's reasons (see `doit info`) as spec keys, files and tool versions."""
    lines: list[str] = []
    for checker, _args, _kwargs in reasons.get("uptodate_false", []):
        if isinstance(checker, fragment_changed) and FRAGMENT_VALUE in values:
            current = json.loads(json.dumps(checker.config))
            differences = fragment_differences(saved_fragment(values), current)
            if differences:
                lines.extend(differences)
            elif isinstance(checker, key_and_targets_unchanged):
                lines.append("an output changed since it was built (edited by hand?)")
            else:
                lines.append("spec fragment changed")
        else:
            lines.append("settings changed since the last build")
    for target in reasons.get("missing_target", []):
        lines.append(f"missing output {target}")
    added = set(reasons.get("added_file_dep", []))
    # doit also counts a new input as changed (it has no saved state): say it once, as new.
    for dep in (dep for dep in reasons.get("changed_file_dep", []) if dep not in added):
        made_by = f" (rebuilt by {producer[dep]})" if dep in producer else ""
        lines.append(f"input changed: {dep}{made_by}")
    for dep in reasons.get("missing_file_dep", []):
        lines.append(f"waits for {producer[dep]}" if dep in producer else f"input missing: {dep}")
    lines.extend(f"new input: {dep}" for dep in reasons.get("added_file_dep", []))
    lines.extend(f"input no longer used: {dep}" for dep in reasons.get("removed_file_dep", []))
    if reasons.get("checker_changed"):
        lines.append("doit's file checker changed")
    return lines


def format_statuses(statuses: list[TargetStatus]) -> str:
    """One line per target: state, task, reasons; a count at the end."""
    if not statuses:
        return "no targets (no specs found)\n"
    width = max(len(s.task) for s in statuses)
    lines = []
    for status in statuses:
        line = f"{status.state:<11} {status.task:<{width}}"
        if status.reasons:
            line += "  " + "; ".join(status.reasons)
        lines.append(line.rstrip())
    current = sum(s.state == UP_TO_DATE for s in statuses)
    lines.append(f"{current} of {len(statuses)} targets up to date")
    return "\n".join(lines) + "\n"
