"""Reading a build's report.json files into summaries: shared by the report tasks and the CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tflmake.paths import Layout
from tflmake.report.diff import diff_reports
from tflmake.report.gates import check_gates
from tflmake.report.summary import ModelSummary, summarise

GatesByVariant = Mapping[str, Mapping[str, Any]]


def read_report(path: str) -> dict[str, Any] | None:
    """A report.json document, or None if there is none (or it is unreadable)."""
    try:
        document = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def load_summary(layout: Layout, model: str, gates: GatesByVariant | None = None) -> \
        ModelSummary | None:
    """A model's summary with gates checked and the diff against the previous report."""
    report = read_report(layout.report_json(model))
    if report is None:
        return None
    previous = read_report(layout.previous_report_json(model))
    return summarise(report, check_gates(report, gates or {}),
                     None if previous is None else diff_reports(previous, report))


def evaluated_models(layout: Layout) -> list[str]:
    """Models with a report.json under the build folder, by name."""
    root = Path(layout.build_dir)
    return sorted(path.parent.name for path in root.glob("*/report.json")) if root.is_dir() else []
