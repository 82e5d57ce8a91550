"""Build `build/report.md` and `build/report.html`: every evaluated model on one page."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tflmake import atomic
from tflmake.emit.report_html import render_page
from tflmake.emit.report_md import render_project
from tflmake.paths import Layout
from tflmake.report.read import load_summary
from tflmake.spec.load import ModelSpec


def build(specs: list[ModelSpec], layout: Layout, failed: Mapping[str, str] | None = None) -> None:
    """Both pages; `failed` (model -> cause) marks models whose build failed in this run."""
    failed = dict(failed or {})
    summaries = []
    plots: dict[str, bytes] = {}
    for spec in specs:
        summary = load_summary(layout, spec.name, spec.effective_gates())
        if summary is None:
            continue
        summaries.append(summary)
        plot = Path(layout.tradeoff_png(spec.name))
        if plot.is_file():
            plots[spec.name] = plot.read_bytes()
    atomic.write_text(layout.project_report_md, render_project(summaries, failed))
    atomic.write_text(layout.project_report_html, render_page(summaries, plots, failed))
