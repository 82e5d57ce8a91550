"""Write the variant `[select]` chose under stable names: `firmware/<model>_selected_*`.

The files are the chosen variant's own bundle with its names replaced (the model
array, arena, golden vector and op resolver are that bundle's, byte for byte), so
firmware that includes `<model>_selected_model_data.h` never changes when the choice does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tflmake import atomic
from tflmake.builders.frontend_bundle import front_end_prefix, has_front_end
from tflmake.console import progress
from tflmake.emit.rename import front_end_renames, model_renames, rename
from tflmake.errors import BuildError
from tflmake.paths import SELECTED, Layout
from tflmake.report.read import read_report
from tflmake.report.selection import Selection, choose
from tflmake.spec.load import ModelSpec


def build(spec: ModelSpec, layout: Layout) -> None:
    selection, firmware = select(spec, layout)
    if selection.chosen is None:
        # A bundle chosen before must not stay behind to be shipped while no variant passes.
        for path in layout.selected_bundle(spec.name, front_end=True):
            Path(path).unlink(missing_ok=True)
        raise BuildError(selection.failure())
    progress(f"    selected: {spec.name}.{selection.reason()}")
    write_selected(spec, layout, selection, firmware[selection.chosen])


def select(spec: ModelSpec, layout: Layout) -> tuple[Selection, dict[str, dict[str, Any]]]:
    """The selection from report.json and the exported variants' `_firmware.json`, with the latter."""
    assert spec.select is not None
    report = read_report(layout.report_json(spec.name))
    if report is None:
        raise BuildError(f"{layout.report_json(spec.name)} is missing or unreadable; run "
                         f"`tflmake evaluate:{spec.name}` first")
    exported = [variant.name for variant in spec.variants if variant.c_array]
    firmware = {name: read_firmware_facts(layout.firmware_manifest(spec.name, name)) for name in exported}
    return choose(report, firmware, spec.effective_gates(), exported, spec.select["minimize"]), firmware


def read_firmware_facts(path: str) -> dict[str, Any]:
    try:
        facts = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        raise BuildError(f"{path} is missing or unreadable; run its carray task first") from None
    if not isinstance(facts, dict):
        raise BuildError(f"{path} is not a JSON object; run its carray task again")
    return facts


def write_selected(spec: ModelSpec, layout: Layout, selection: Selection, facts: dict[str, Any]) -> None:
    """The chosen bundle's C files renamed, and its facts with the new names and the reason."""
    chosen = selection.chosen
    assert chosen is not None
    symbol = spec.selected_symbol()
    stem, new_stem = front_end_prefix(spec, chosen), front_end_prefix(spec, SELECTED)
    renames = model_renames(facts["symbol"], symbol, stem, new_stem)
    pairs = [(source, target, renames) for source, target in
             zip(layout.firmware_sources(spec.name, chosen), layout.firmware_sources(spec.name, SELECTED), strict=True)]
    if has_front_end(spec):
        pairs += [(source, target, front_end_renames(stem, new_stem)) for source, target in
                  zip(layout.frontend_sources(spec.name, chosen), layout.frontend_sources(spec.name, SELECTED),
                      strict=True)]
    for source, target, names in pairs:
        atomic.write_text(target, rename(Path(source).read_text("utf-8"), names))
    facts = facts | {"symbol": symbol, "selected": {
        "variant": chosen, "minimize": selection.minimize, "reason": selection.reason(),
        "candidates": [candidate.variant for candidate in selection.candidates],
        "passing": [candidate.variant for candidate in selection.passing]}}
    if facts.get("front_end"):
        facts["front_end"] = {"files": [Path(path).name for path in layout.frontend_sources(spec.name, SELECTED)],
                              "function": f"{front_end_prefix(spec, SELECTED)}_frontend"}
    atomic.write_text(layout.selected_firmware_manifest(spec.name), json.dumps(facts, indent=2) + "\n")
