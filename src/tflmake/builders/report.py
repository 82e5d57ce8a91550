"""Build `report.md` and check the quality gates: fail with one line per violated gate.

With `[select]` a broken gate only keeps its variant from being shipped: the report says
which variant ships and why, and the select task fails when none can.
"""

from __future__ import annotations

from dataclasses import replace

from tflmake import atomic
from tflmake.builders.select import select
from tflmake.console import progress
from tflmake.emit.report_md import render_model
from tflmake.errors import BuildError
from tflmake.paths import Layout
from tflmake.report.read import load_summary
from tflmake.spec.load import ModelSpec


def build(spec: ModelSpec, layout: Layout) -> None:
    summary = load_summary(layout, spec.name, spec.effective_gates())
    if summary is None:
        raise BuildError(f"{layout.report_json(spec.name)} is missing or unreadable; run "
                         f"`tflmake evaluate:{spec.name}` first")
    if spec.select:
        summary = replace(summary, selection=selection_lines(spec, layout))
    # Written before the verdict: a failing build leaves the report there to read.
    atomic.write_text(layout.report_md(spec.name), render_model(summary))
    for warning in summary.warnings:
        progress(f"    warning: {spec.name}.{warning}")
    failed = [result for result in summary.gates if not result.passed]
    if failed and spec.select:
        for result in failed:
            progress(f"    warning: {result.describe()} (not shipped)")
    elif failed:
        raise BuildError(f"{len(failed)} quality gate{'s' if len(failed) > 1 else ''} failed "
                         f"(see {layout.report_md(spec.name)}):\n"
                         + "\n".join(result.describe() for result in failed))


def selection_lines(spec: ModelSpec, layout: Layout) -> tuple[str, ...]:
    """What report.md says about `[select]`: the choice and its reason, and where the bundle is."""
    assert spec.select is not None
    selection, _ = select(spec, layout)
    files = layout.selected_files(spec.name)
    if selection.chosen is None:
        return (selection.failure(), f"Nothing is shipped: the select task fails and removes `{files}`.")
    return (selection.reason(),
            f"Shipped as `{files}` (C symbol `{spec.selected_symbol()}`), "
            f"names that stay the same whichever variant wins; `[select] minimize = \"{selection.minimize}\"`.")
