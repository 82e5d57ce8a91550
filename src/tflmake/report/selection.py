"""The variant to ship (`[select]`): among the exported variants that pass every gate, the one with the
least of the chosen measurement. Pure, no I/O: the select and report tasks both ask it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tflmake.kinds import SELECT_CRITERIA, SelectCriterion
from tflmake.report.gates import GateResult, check_gates, show


@dataclass(frozen=True)
class Candidate:
    """An exported variant: its value of the criterion (None: not measured) and the gates it broke."""

    variant: str
    value: float | None
    failed: tuple[GateResult, ...]

    @property
    def passes(self) -> bool:
        return not self.failed and self.value is not None


@dataclass(frozen=True)
class Selection:
    """Which variant to ship and why; `chosen` is None when no exported variant passes every gate."""

    minimize: str
    candidates: tuple[Candidate, ...]  # the variants with c_array = true, in spec order
    not_exported: tuple[str, ...]  # variants without a firmware bundle, never shipped
    chosen: str | None

    @property
    def criterion(self) -> SelectCriterion:
        return SELECT_CRITERIA[self.minimize]

    @property
    def passing(self) -> tuple[Candidate, ...]:
        return tuple(candidate for candidate in self.candidates if candidate.passes)

    def reason(self) -> str:
        """One line: "int8: smallest flash (15152 B) among 2 passing variants; int16x8 failed max_size_bytes"."""
        if self.chosen is None:
            return self.failure()
        winner = next(candidate for candidate in self.candidates if candidate.variant == self.chosen)
        count = len(self.passing)
        assert winner.value is not None
        value = self._show(winner.value)
        parts = [f"{self.chosen}: {self.criterion.words} ({value}) among {count} passing variants" if count > 1
                 else f"{self.chosen}: the only passing variant ({self.minimize} {value})"]
        parts += [self._excluded(candidate, detail=False) for candidate in self.candidates if not candidate.passes]
        return "; ".join(parts + self._not_exported())

    def failure(self) -> str:
        """One line naming each exported variant's broken gate (with the numbers)."""
        parts = [self._excluded(candidate, detail=True) for candidate in self.candidates]
        return "no variant to ship passes every gate: " + "; ".join(parts + self._not_exported())

    def _excluded(self, candidate: Candidate, detail: bool) -> str:
        if candidate.failed:
            gates = [_broken(result) if detail else result.gate.key for result in candidate.failed]
            return f"{candidate.variant} failed {' and '.join(gates)}"
        return f"{candidate.variant}: {self.criterion.key} not measured"

    def _not_exported(self) -> list[str]:
        if not self.not_exported:
            return []
        return [f"not shipped without c_array = true: {', '.join(self.not_exported)}"]

    def _show(self, value: float) -> str:
        return f"{int(value)} B" if self.criterion.unit == "bytes" else f"{value:.3f} {self.criterion.unit}"


def choose(report: Mapping[str, Any], firmware: Mapping[str, Mapping[str, Any]],
           gates: Mapping[str, Mapping[str, Any]], exported: Sequence[str], minimize: str) -> Selection:
    """The variant to ship: least `minimize` among the exported variants passing every gate; ties go to
    the one listed first.

    Args:
        report: a report.json document.
        firmware: each exported variant's `<variant>_firmware.json`.
        gates: variant name -> its effective gates.
        exported: the variants with c_array = true, in spec order.
        minimize: a `SELECT_CRITERIA` key.
    """
    criterion = SELECT_CRITERIA[minimize]
    broken: dict[str, list[GateResult]] = {}
    for result in check_gates(report, gates):
        if not result.passed:
            broken.setdefault(result.variant, []).append(result)
    candidates = tuple(Candidate(name, _value(criterion, report, firmware, name), tuple(broken.get(name, ())))
                       for name in exported)
    passing = [(candidate.value, index, candidate.variant) for index, candidate in enumerate(candidates)
               if candidate.passes]
    return Selection(minimize, candidates,
                     tuple(name for name in report["variants"] if name not in exported),
                     min(passing)[2] if passing else None)


def _value(criterion: SelectCriterion, report: Mapping[str, Any], firmware: Mapping[str, Mapping[str, Any]],
           variant: str) -> float | None:
    sources = {"firmware": firmware.get(variant, {}), "report": report["variants"].get(variant, {})}
    value = sources[criterion.source].get(criterion.key)
    return None if value is None else float(value)


def _broken(result: GateResult) -> str:
    assert result.measured is not None
    return (f"{result.gate.key} ({result.gate.metric} {show(result.gate.metric, result.measured)}, "
            f"limit {show(result.gate.metric, result.limit)})")
