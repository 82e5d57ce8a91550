"""Model summaries -> Markdown: each model's report.md and the project's build/report.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tflmake.report.summary import (
    FLOAT_SEARCH_NOTE,
    FRONT_END_NOTE,
    HOST_LATENCY_NOTE,
    NPU_NOTE,
    SIGNING_NOTE,
    Cell,
    ModelSummary,
)

STALE_NOTE = " (the numbers below are from its last successful build)"


def render_model(summary: ModelSummary, level: int = 1) -> str:
    """One model's report; `level` is its heading depth (2 inside the project report)."""
    head = "#" * level
    lines = [f"{head} {summary.model}", ""]
    lines += [f"**Warning:** {warning}" for warning in summary.warnings] + ([""] if summary.warnings else [])
    reference = f"float reference: `{summary.reference}`" if summary.reference else \
        "no float variant (quantize = \"none\"), so no agreement or accuracy drop"
    lines += [f"{summary.test_samples} test samples; {reference}.", "",
              _table(summary.header, summary.rows), "",
              f"Best value of each column in **bold**. {HOST_LATENCY_NOTE}", ""]
    lines += [f"- {line}" for line in summary.sentences] + [""]
    if summary.per_class:
        lines += [f"{head}# Per-class accuracy", "", *(f"- {line}" for line in summary.per_class), ""]
    if summary.front_end:
        lines += [f"{head}# Input front end (C)", "", FRONT_END_NOTE, "",
                  *(f"- {line}" for line in summary.front_end), ""]
    lines += [f"{head}# Quality gates", "", *gate_lines(summary), ""]
    if summary.selection:
        lines += [f"{head}# Variant to ship", "", *(f"- {line}" for line in summary.selection), ""]
    lines += [f"{head}# Changes since the previous build", "", *change_lines(summary), ""]
    if summary.float_search:
        lines += [f"{head}# Float layer search (keep_float_search)", "",
                  *(f"- {line}" for line in summary.float_search), "", FLOAT_SEARCH_NOTE, ""]
    if summary.npu:
        lines += [f"{head}# Ethos-U NPU (Vela estimates)", "", *(f"- {line}" for line in summary.npu), "",
                  NPU_NOTE, ""]
    if summary.firmware_crypto:
        lines += [f"{head}# Firmware bundle: signature and encryption", "",
                  *(f"- {line}" for line in summary.firmware_crypto), ""]
    if summary.signing:
        lines += [f"{head}# Signing", "", *(f"- {line}" for line in summary.signing), "", SIGNING_NOTE, ""]
    lines += [f"{head}# Operators", "", *(f"- {line}" for line in summary.operators), ""]
    tools = ", ".join(f"{name} {version}" for name, version in summary.tools.items())
    lines += [f"Tools: {tools}.", ""]
    return "\n".join(lines)


def render_project(summaries: Sequence[ModelSummary], failed: Mapping[str, str] | None = None) -> str:
    """Every model on one page, with a one-line verdict per model at the top.

    `failed` (model -> cause): models whose last build failed; their numbers, if
    shown, are from their last successful build.
    """
    lines = ["# tflmake report", ""]
    failed = failed or {}
    if failed:
        lines += ["**Build FAILED** for:", ""]
        lines += [f"- {model}: {cause}{STALE_NOTE if model in {s.model for s in summaries} else ''}"
                  for model, cause in sorted(failed.items())] + [""]
    if not summaries:
        return "\n".join([*lines, "No model has been evaluated yet.", ""])
    for summary in summaries:
        verdict = "all gates pass" if summary.gates_passed else "**gates FAILED**"
        if summary.model in failed:
            verdict = "**build FAILED** (" + verdict.replace("**", "") + " in its last successful build)"
        lines.append(f"- [{summary.model}](#{summary.model}): {len(summary.rows)} variants, "
                     f"{verdict}")
    lines.append("")
    for summary in summaries:
        lines += [render_model(summary, level=2), f"![{summary.model} size vs accuracy]"
                  f"({summary.model}/tradeoff.png)", ""]
    return "\n".join(lines)


def gate_lines(summary: ModelSummary) -> list[str]:
    if not summary.gates:
        return ["No gates set."]
    marks = {True: "✓", False: "✗"}
    return [f"- {marks[result.passed] if result.checked else '–'} {result.describe()}"
            for result in summary.gates]


def change_lines(summary: ModelSummary) -> list[str]:
    if summary.changes is None:
        return ["No previous report to compare with."]
    if not summary.changes:
        return ["Nothing moved (host latency moves under 25 % are treated as noise)."]
    return [f"- {change.describe()}" for change in summary.changes]


def _table(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if index < 2 else "---:" for index in range(len(header))) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(f"**{c.text}**" if c.best else c.text for c in row) + " |")
    return "\n".join(lines)
