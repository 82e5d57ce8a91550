"""Quality gates: compare a report's measurements with the spec's limits. Pure, no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tflmake.kinds import METRICS


@dataclass(frozen=True)
class Gate:
    """One spec key: which measurement it limits and from which side."""

    key: str
    metric: str
    is_minimum: bool


GATES = tuple(Gate(metric.gate, name, metric.gate_is_minimum) for name, metric in METRICS.items() if metric.gate)
GATES_BY_KEY = {gate.key: gate for gate in GATES}


@dataclass(frozen=True)
class GateResult:
    """One gate checked on one variant; `measured` is None when the metric was not measured."""

    model: str
    variant: str
    gate: Gate
    limit: float
    measured: float | None

    @property
    def checked(self) -> bool:
        return self.measured is not None

    @property
    def passed(self) -> bool:
        if self.measured is None:
            return True
        # Accuracy drops are differences of fractions: 0.95 - 0.947 is 0.0030000000000000027,
        # which must still meet a limit of 0.003.
        if math.isclose(self.measured, self.limit, rel_tol=1e-9, abs_tol=1e-12):
            return True
        return self.measured >= self.limit if self.gate.is_minimum else self.measured <= self.limit

    def describe(self) -> str:
        """One line naming model, variant, metric, limit and measured value."""
        where = f"{self.model}.{self.variant}"
        if self.measured is None:
            return (f"{where}: {self.gate.key} = {show(self.gate.metric, self.limit)} not checked: "
                    f"{self.gate.metric} was not measured")
        relation = "below" if self.gate.is_minimum else "above"
        verdict = "ok" if self.passed else f"FAILED, {relation} the limit"
        return (f"{where}: {self.gate.metric} {show(self.gate.metric, self.measured)} "
                f"vs {self.gate.key} = {show(self.gate.metric, self.limit)}: {verdict}")


def check_gates(report: Mapping[str, Any],
                gates: Mapping[str, Mapping[str, Any]]) -> list[GateResult]:
    """Every gate of every variant checked against `report`.

    Args:
        report: a report.json document.
        gates: variant name -> its effective gates (model gates with the variant's laid over).
    """
    results: list[GateResult] = []
    for variant, measured in report["variants"].items():
        for key, limit in sorted(gates.get(variant, {}).items(), key=lambda item: _order(item[0])):
            gate = GATES_BY_KEY[key]
            results.append(GateResult(report["model"], variant, gate, float(limit),
                                      measured.get(gate.metric)))
    return results


def violations(results: list[GateResult]) -> list[GateResult]:
    return [result for result in results if not result.passed]


def show(metric: str, value: float) -> str:
    """A gate value in the unit people read it in: percent for shares, bytes, milliseconds."""
    unit = METRICS[metric].unit
    if unit == "fraction":
        # A drop is a difference of two shares: percentage points.
        return f"{value * 100:.2f} {'pt' if metric.endswith('_drop') else '%'}"
    if unit == "bytes":
        return f"{int(value)} B"
    if unit == "ms":
        return f"{value:.3f} ms"
    return f"{value:.4f}"


def _order(key: str) -> int:
    return [gate.key for gate in GATES].index(key)
