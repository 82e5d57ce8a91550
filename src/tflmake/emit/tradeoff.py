"""report.json -> tradeoff.png: size against accuracy (or MSE), one labelled point a variant."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from tflmake.kinds import EVALUATION_TASKS


def render_tradeoff(report: Mapping[str, Any]) -> bytes:
    """The plot as PNG bytes, drawn off-screen (Agg) so it works without a display."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure


    task = EVALUATION_TASKS[report.get("task", "classification")]
    metric = task.headline
    label = f"{task.headline_label} ({'higher' if task.higher_is_better else 'lower'} is better)"
    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    axes = figure.subplots()
    points = sorted((entry["size_bytes"] / 1024, entry[metric], name)
                    for name, entry in report["variants"].items() if entry.get(metric) is not None)
    for index, (size, value, name) in enumerate(points):
        shown = value * 100 if task.as_percent else value
        axes.scatter(size, shown, s=40, zorder=3)
        # Quantized variants often tie on accuracy: alternate labels above and below the point.
        axes.annotate(name, (size, shown), textcoords="offset points", fontsize=9,
                      xytext=(4, 6 if index % 2 == 0 else -14))
    axes.set_xlabel(".tflite size (KiB)")
    axes.set_ylabel(label.replace("accuracy", "accuracy %"))
    axes.set_title(f"{report['model']}: size vs {metric} on {report['test_samples']} test samples",
                   fontsize=10)
    axes.grid(True, alpha=0.3)
    axes.margins(x=0.15, y=0.15)
    figure.tight_layout()
    buffer = io.BytesIO()
    # No "Software" stamp: the same numbers give the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
