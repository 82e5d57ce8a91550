"""What the last build left failed, so later commands can say so.

doit forgets a task's state when it fails, so without this record `tflmake status`
could not tell "failed last time" from "forgotten", and the project report could
not show which model broke. The reporter (main process, also with `-n`) keeps
the record; it is a plain JSON file beside doit's state database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tflmake import atomic
from tflmake.paths import Layout

PROJECT_META = "tflmake_project"  # the summary task's meta: (specs, layout, invalid specs) of the project


def project_of(tasks: Mapping[str, Any]) -> tuple[list[Any], Layout] | None:
    """The (specs, layout) a run's summary task carries, or None outside a tflmake project."""
    summary = tasks.get("summary")
    meta = getattr(summary, "meta", None) or {}
    project = meta.get(PROJECT_META)
    return (list(project[0]), project[1]) if project else None


def invalid_specs_of(tasks: Mapping[str, Any]) -> dict[str, str]:
    """Spec file stem -> first error, for the specs that do not validate (as the summary task lists them)."""
    project = (getattr(tasks.get("summary"), "meta", None) or {}).get(PROJECT_META)
    return dict(project[2]) if project and len(project) > 2 else {}


def load_failures(layout: Layout) -> dict[str, str]:
    """Task name -> the one-line cause, for every task whose last run failed."""
    try:
        record = json.loads(Path(layout.failed_tasks).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in record.items()} if isinstance(record, dict) else {}


def save_failures(layout: Layout, failed: Mapping[str, str], succeeded: set[str]) -> None:
    """Update the record after a run: `failed` added, `succeeded` removed, others kept."""
    before = load_failures(layout)
    record = {name: cause for name, cause in before.items() if name not in succeeded}
    record.update(failed)
    if record != before:  # a no-op build writes nothing
        atomic.write_text(layout.failed_tasks, json.dumps(dict(sorted(record.items())), indent=1) + "\n")


def model_of(task_name: str) -> str:
    """`tflite:digits_mlp.int8` -> `digits_mlp` (a spec task gives its file's stem)."""
    return task_name.partition(":")[2].partition(".")[0]
