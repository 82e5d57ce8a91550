"""What moved between two report.json documents of one model. Pure, no I/O.

Figures measured on the test split (METRICS records with `depends_on_test_set`)
are compared only when both reports record the same test set digest; otherwise
the diff says the test set changed instead of printing differences that would
compare two different test sets. Sizes, arenas and latencies are still compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tflmake.kinds import METRICS

# Metrics a diff compares, in the order it lists them.
COMPARED = tuple(name for name, metric in METRICS.items() if metric.compared)
# Those it compares when the test set changed.
COMPARED_ACROSS_TEST_SETS = tuple(name for name in COMPARED if not METRICS[name].depends_on_test_set)
# Host timings wobble run to run (more so on a shared machine); smaller relative moves than
# this are noise, not news.
LATENCY_NOISE = 0.25
# Shares of the test set: shown as percent, their changes in percentage points (a drop from
# 95 % to 94 % is 1 point, not "-1.1 %").
FRACTIONS = frozenset({"accuracy", "agreement"})


@dataclass(frozen=True)
class Change:
    """One number that moved, a variant that appeared or disappeared (metric "variant"), or a
    test set that differs (metric "test_set", or "test_set_unrecorded" when the previous report
    has no digest; before/after are sample counts)."""

    variant: str
    metric: str
    before: Any
    after: Any

    def describe(self) -> str:
        if self.metric in TEST_SET_NOTES:
            return TEST_SET_NOTES[self.metric].format(before=_text(self.before), after=_text(self.after))
        if self.metric == "variant":
            return f"{self.variant}: {'added' if self.before is None else 'removed'}"
        if self.before is None or self.after is None:
            return f"{self.variant}: {self.metric} {_text(self.before)} -> {_text(self.after)}"
        delta = self.after - self.before
        if self.metric in FRACTIONS:
            return (f"{self.variant}: {self.metric} {self.before:.2%} -> {self.after:.2%} "
                    f"({delta * 100:+.2f} pt)").replace("%", " %")
        relative = f", {delta / self.before:+.1%}" if self.before else ""
        return (f"{self.variant}: {self.metric} {_text(self.before)} -> {_text(self.after)} "
                f"({_signed(delta)}{relative})")


TEST_SET_NOTES = {
    "test_set": "the test set changed ({before} → {after} samples): figures measured on it are not compared",
    "test_set_unrecorded": "the previous report records no test set digest ({before} → {after} samples): "
                           "figures measured on the test set are not compared",
}


def diff_reports(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
    """Every compared metric that changed, variant by variant, in the current report's order.

    A different test set comes first, and then only metrics that do not depend on it are compared.
    """
    test_set = test_set_change(previous, current)
    compared = COMPARED if test_set is None else COMPARED_ACROSS_TEST_SETS
    before, after = previous.get("variants", {}), current.get("variants", {})
    changes = [] if test_set is None else [test_set]
    changes += [Change(name, "variant", None, "added") for name in after if name not in before]
    changes += [Change(name, "variant", "removed", None) for name in before if name not in after]
    for name, measured in after.items():
        if name in before:
            changes += [Change(name, metric, before[name].get(metric), measured.get(metric))
                        for metric in compared if _moved(metric, before[name].get(metric),
                                                         measured.get(metric))]
    return changes


def test_set_change(previous: Mapping[str, Any], current: Mapping[str, Any]) -> Change | None:
    """None when both reports were measured on the same test set (equal digests)."""
    old, new = previous.get("test_set"), current.get("test_set")
    if old is not None and new is not None and old.get("sha256") == new.get("sha256"):
        return None
    samples = [(record or {}).get("samples", report.get("test_samples"))
               for record, report in ((old, previous), (new, current))]
    return Change("", "test_set" if old is not None else "test_set_unrecorded", *samples)


def _moved(metric: str, before: Any, after: Any) -> bool:
    if before is None or after is None:
        return before is not after
    if metric.startswith("latency_"):
        return abs(after - before) > LATENCY_NOISE * abs(before)
    return bool(before != after)


def _text(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _signed(value: float) -> str:
    return f"{value:+.4g}" if isinstance(value, float) else f"{value:+d}"
