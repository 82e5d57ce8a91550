"""The variant to ship: least of the criterion among exported variants passing every gate, explained."""

from __future__ import annotations

from typing import Any

import pytest

from tflmake.kinds import SELECT_CRITERIA
from tflmake.report.selection import choose

# flash, arena and latency each favour another variant; int16x8 is the most accurate.
MEASURED = {
    "float32": {"size_bytes": 21000, "arena_bytes": 3000, "latency_ms_median": 0.010, "accuracy": 0.95,
                "accuracy_drop": 0.0},
    "int8": {"size_bytes": 9000, "arena_bytes": 5000, "latency_ms_median": 0.030, "accuracy": 0.94,
             "accuracy_drop": 0.01},
    "int16x8": {"size_bytes": 9500, "arena_bytes": 4000, "latency_ms_median": 0.020, "accuracy": 0.90,
                "accuracy_drop": 0.05},
    "float16": {"size_bytes": 11000, "arena_bytes": None, "latency_ms_median": 0.001, "accuracy": 0.95,
                "accuracy_drop": 0.0},
}
EXPORTED = ["float32", "int8", "int16x8"]  # float16 has no c_array: never shipped
# The bundles' model bytes (flash): the .tflite bytes but for an accelerator's Vela model.
FIRMWARE = {"float32": {"model_bytes": 21000}, "int8": {"model_bytes": 9000}, "int16x8": {"model_bytes": 9500}}


def report(measured: dict[str, dict[str, Any]] = MEASURED) -> dict[str, Any]:
    return {"model": "m", "variants": measured}


def gates(**limits: float) -> dict[str, dict[str, float]]:
    return {name: dict(limits) for name in MEASURED}


@pytest.mark.parametrize(("minimize", "winner"), [("flash", "int8"), ("arena", "float32"),
                                                  ("latency", "float32")])
def test_each_criterion_picks_the_least_among_passing_variants(minimize: str, winner: str) -> None:
    """Without gates every exported variant passes: the least of the criterion wins, float16 never."""
    assert choose(report(), FIRMWARE, {}, EXPORTED, minimize).chosen == winner


def test_a_broken_gate_takes_a_variant_out_and_the_next_wins() -> None:
    """int8 is smallest, but breaks max_accuracy_drop: int16x8 breaks it too, so float32 ships."""
    selection = choose(report(), FIRMWARE, gates(max_accuracy_drop=0.005), EXPORTED, "flash")
    assert selection.chosen == "float32"
    assert [c.variant for c in selection.passing] == ["float32"]


def test_the_reason_names_the_winner_the_count_and_each_loser_s_gate() -> None:
    """As the issue asks: "int8: smallest flash among 2 passing variants; int16x8 failed max_accuracy_drop"."""
    selection = choose(report(), FIRMWARE, gates(max_accuracy_drop=0.02), EXPORTED, "flash")
    assert selection.reason() == ("int8: smallest flash (9000 B) among 2 passing variants; "
                                  "int16x8 failed max_accuracy_drop; "
                                  "not shipped without c_array = true: float16")


def test_a_single_passing_variant_is_called_the_only_one() -> None:
    selection = choose(report(), FIRMWARE, gates(max_accuracy_drop=0.005), EXPORTED, "latency")
    assert selection.reason().startswith("float32: the only passing variant (latency 0.010 ms); ")


def test_ties_go_to_the_variant_listed_first() -> None:
    """Equal values: spec order decides, whichever way the variants are listed."""
    tied = {name: {"model_bytes": 100} for name in EXPORTED}
    assert choose(report(), tied, {}, EXPORTED, "flash").chosen == "float32"
    assert choose(report(), tied, {}, list(reversed(EXPORTED)), "flash").chosen == "int16x8"


def test_flash_is_the_bundle_s_model_bytes_not_the_tflite_size() -> None:
    """An accelerator's bundle carries Vela's model: its bytes are what flash holds."""
    vela = FIRMWARE | {"int16x8": {"model_bytes": 4000}}
    assert choose(report(), vela, {}, EXPORTED, "flash").chosen == "int16x8"


def test_a_variant_without_the_measurement_is_not_shipped() -> None:
    """No number, no comparison: the variant is left out and the reason says why."""
    measured = MEASURED | {"float32": MEASURED["float32"] | {"arena_bytes": None}}
    selection = choose(report(measured), FIRMWARE, {}, EXPORTED, "arena")
    assert selection.chosen == "int16x8"
    assert "float32: arena_bytes not measured" in selection.reason()


def test_no_passing_variant_names_each_variant_s_broken_gate_with_its_numbers() -> None:
    """The select task's one-line failure: every exported variant, each broken gate, measured vs limit."""
    limits = gates(max_accuracy_drop=0.005) | {"float32": {"max_size_bytes": 20000}}
    selection = choose(report(), FIRMWARE, limits, EXPORTED, "flash")
    assert selection.chosen is None
    message = selection.failure()
    assert "\n" not in message
    assert message == (
        "no variant to ship passes every gate: "
        "float32 failed max_size_bytes (size_bytes 21000 B, limit 20000 B); "
        "int8 failed max_accuracy_drop (accuracy_drop 1.00 pt, limit 0.50 pt); "
        "int16x8 failed max_accuracy_drop (accuracy_drop 5.00 pt, limit 0.50 pt); "
        "not shipped without c_array = true: float16")
    assert selection.reason() == message


def test_a_non_exported_variant_s_gates_do_not_matter() -> None:
    """float16 breaking a gate changes nothing: it is never a candidate."""
    selection = choose(report(), FIRMWARE, {"float16": {"max_size_bytes": 1}}, EXPORTED, "flash")
    assert selection.chosen == "int8" and "float16 failed" not in selection.reason()


@pytest.mark.parametrize("minimize", list(SELECT_CRITERIA))
def test_every_criterion_reads_a_number_the_build_writes(minimize: str) -> None:
    """Each record names a key of the bundle's facts or of a report entry, in a unit the reason shows."""
    criterion = SELECT_CRITERIA[minimize]
    written = {"firmware": {"model_bytes", "arena_bytes"}, "report": set(MEASURED["int8"])}
    assert criterion.key in written[criterion.source]
    assert criterion.unit in ("bytes", "ms")
