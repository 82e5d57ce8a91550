"""Quality gates: limits from either side, per-variant overrides, unmeasured metrics."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tflmake.report.gates import check_gates, violations

REPORT = json.loads((Path(__file__).parents[2] / "data" / "report_toy.json").read_text())


def results_for(gates: dict[str, dict[str, float]], report: dict = REPORT) -> list:
    return check_gates(report, gates)


@pytest.mark.parametrize(("key", "passing", "failing"), [
    ("min_accuracy", 0.94, 0.95),
    ("max_accuracy_drop", 0.003, 0.002),
    ("min_agreement", 0.99, 0.995),
    ("max_size_bytes", 11364, 11363),
    ("max_arena_bytes", 6144, 6143),
    ("max_latency_ms", 0.125, 0.1),
])
def test_each_gate_passes_at_its_limit_and_fails_beyond_it(key: str, passing: float,
                                                            failing: float) -> None:
    """A measured value equal to the limit passes; one past it fails."""
    assert not violations(results_for({"int8": {key: passing}}))
    assert len(violations(results_for({"int8": {key: failing}}))) == 1


def test_violation_line_names_model_variant_metric_limit_and_value() -> None:
    """The failure message is one self-contained line."""
    [failed] = violations(results_for({"int8": {"min_accuracy": 0.95}}))
    assert failed.describe() == ("toy.int8: accuracy 94.70 % vs min_accuracy = 95.00 %: "
                                 "FAILED, below the limit")
    [failed] = violations(results_for({"int8": {"max_size_bytes": 10000}}))
    assert failed.describe() == ("toy.int8: size_bytes 11364 B vs max_size_bytes = 10000 B: "
                                 "FAILED, above the limit")


def test_unmeasured_metric_is_reported_as_not_checked_not_as_failed() -> None:
    """float32 has no arena measurement, so its arena gate cannot fail but says so."""
    [result] = results_for({"float32": {"max_arena_bytes": 1}})
    assert not result.checked and result.passed
    assert "not checked" in result.describe()


def test_gates_only_apply_to_the_variants_given() -> None:
    """A gate for int8 is not checked on float32."""
    results = results_for({"int8": {"min_accuracy": 0.5}})
    assert [r.variant for r in results] == ["int8"]


def test_latency_gate_reads_the_median() -> None:
    """max_latency_ms limits the median, not the p90."""
    report = copy.deepcopy(REPORT)
    report["variants"]["int8"]["latency_ms_p90"] = 99.0
    assert not violations(results_for({"int8": {"max_latency_ms": 0.2}}, report))
