"""Model summaries -> one self-contained HTML page (styles inline, plots as data: URIs)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape

from tflmake.emit.report_md import STALE_NOTE, change_lines
from tflmake.report.summary import (
    FLOAT_SEARCH_NOTE,
    FRONT_END_NOTE,
    HOST_LATENCY_NOTE,
    NPU_NOTE,
    SIGNING_NOTE,
    ModelSummary,
)

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #ddd; text-align: right; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
td.best { font-weight: bold; background: #e8f5e9; }
.fail { color: #b71c1c; font-weight: bold; } .pass { color: #1b5e20; }
section { border-top: 2px solid #ccc; margin-top: 2rem; }
img { max-width: 100%; } .note { color: #666; font-size: .9em; }
"""


def render_page(summaries: Sequence[ModelSummary], plots: Mapping[str, bytes],
                failed: Mapping[str, str] | None = None) -> str:
    """The whole project: failed builds, an index with each model's gate verdict, then one section per model."""
    failed = failed or {}
    shown = {s.model for s in summaries}
    failures = "".join(
        f'<li><span class="fail">build FAILED</span> {escape(model)}: {escape(cause)}'
        f"{escape(STALE_NOTE) if model in shown else ''}</li>" for model, cause in sorted(failed.items()))
    index = (f"<ul>{failures}</ul>" if failures else "") + "<ul>" + ("".join(
        f'<li><a href="#{escape(s.model)}">{escape(s.model)}</a>: {len(s.rows)} variants, '
        + ('<span class="fail">build FAILED</span>, last successful build: ' if s.model in failed else "")
        + ('<span class="pass">all gates pass</span>' if s.gates_passed
           else '<span class="fail">gates FAILED</span>') + "</li>"
        for s in summaries) or "<li>No model has been evaluated yet.</li>") + "</ul>"
    sections = "".join(_section(s, plots.get(s.model)) for s in summaries)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>tflmake report</title>"
            f"<style>{_STYLE}</style></head><body><h1>tflmake report</h1>{index}"
            f"{sections}</body></html>\n")


def _section(summary: ModelSummary, plot: bytes | None) -> str:
    reference = f"float reference: <code>{escape(summary.reference)}</code>" \
        if summary.reference else "no float variant, so no agreement or accuracy drop"
    tools = ", ".join(f"{name} {version}" for name, version in summary.tools.items())
    head = "".join(f"<th>{escape(title)}</th>" for title in summary.header)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=best" if c.best else ""}>{escape(c.text)}</td>'
                         for c in row) + "</tr>" for row in summary.rows)
    image = (f'<img alt="{escape(summary.model)}: size vs accuracy" '
             f'src="data:image/png;base64,{base64.b64encode(plot).decode("ascii")}">'
             if plot else "")
    per_class = f"<h3>Per-class accuracy</h3>{_list(summary.per_class)}" if summary.per_class else ""
    return (f'<section id="{escape(summary.model)}"><h2>{escape(summary.model)}</h2>'
            + "".join(f'<p class="fail">Warning: {escape(warning)}</p>' for warning in summary.warnings)
            + f"<p>{summary.test_samples} test samples; {reference}.</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f'<p class="note">Best value of each column highlighted. {HOST_LATENCY_NOTE}</p>'
            f"{_list(summary.sentences)}{per_class}"
            f"<h3>Quality gates</h3>{_gate_list(summary)}"
            f"<h3>Changes since the previous build</h3>{_list(change_lines(summary))}"
            f"{_optional_section('Input front end (C)', summary.front_end, FRONT_END_NOTE)}"
            f"{_optional_section('Float layer search (keep_float_search)', summary.float_search, FLOAT_SEARCH_NOTE)}"
            f"{_optional_section('Ethos-U NPU (Vela estimates)', summary.npu, NPU_NOTE)}"
            f"{_optional_section('Firmware bundle: signature and encryption', summary.firmware_crypto)}"
            f"{_optional_section('Signing', summary.signing, SIGNING_NOTE)}"
            f"{image}<h3>Operators</h3>{_list(summary.operators)}"
            f'<p class="note">Tools: {escape(tools)}</p></section>')


def _optional_section(title: str, lines: tuple[str, ...], note: str = "") -> str:
    """An h3 section listing `lines` with its note below, or nothing when there are no lines."""
    if not lines:
        return ""
    return f"<h3>{escape(title)}</h3>{_list(lines)}" + (f'<p class="note">{escape(note)}</p>' if note else "")


def _gate_list(summary: ModelSummary) -> str:
    if not summary.gates:
        return "<ul><li>No gates set.</li></ul>"
    items = "".join(
        f'<li class="{"pass" if r.passed else "fail"}">'
        f'{("✓" if r.passed else "✗") if r.checked else "–"} {escape(r.describe())}</li>'
        for r in summary.gates)
    return f"<ul>{items}</ul>"


def _list(lines: Sequence[str]) -> str:
    items = "".join(f"<li>{escape(line.removeprefix('- '))}</li>" for line in lines)
    return f"<ul>{items}</ul>"
