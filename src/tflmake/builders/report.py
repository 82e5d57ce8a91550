"""Build `report.md` and check the quality gates: fail with one line per violated gate."""

from __future__ import annotations

from tflmake import atomic
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
    # Written before the verdict: a failing build leaves the report there to read.
    atomic.write_text(layout.report_md(spec.name), render_model(summary))
    for warning in summary.warnings:
        progress(f"    warning: {spec.name}.{warning}")
    failed = [result for result in summary.gates if not result.passed]
    if failed:
        raise BuildError(f"{len(failed)} quality gate{'s' if len(failed) > 1 else ''} failed "
                         f"(see {layout.report_md(spec.name)}):\n"
                         + "\n".join(result.describe() for result in failed))
