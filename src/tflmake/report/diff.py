"""What moved between two report.json documents of one model. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tflmake.kinds import METRICS

# Metrics a diff compares, in the order it lists them.
COMPARED = tuple(name for name, metric in METRICS.items() if metric.compared)
# Host timings wobble run to run (more so on a shared machine); smaller relative moves than
# this are noise, not news.
LATENCY_NOISE = 0.25
# Shares of the test set: shown as percent, their changes in percentage points (a drop from
# 95 % to 94 % is 1 point, not "-1.1 %").
FRACTIONS = frozenset({"accuracy", "agreement"})


@dataclass(frozen=True)
class Change:
    """One number that moved, or a variant that appeared or disappeared (metric "variant")."""

    variant: str
    metric: str
    before: Any
    after: Any

    def describe(self) -> str:
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


def diff_reports(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
    """Every compared metric that changed, variant by variant, in the current report's order."""
    before, after = previous.get("variants", {}), current.get("variants", {})
    changes = [Change(name, "variant", None, "added") for name in after if name not in before]
    changes += [Change(name, "variant", "removed", None) for name in before if name not in after]
    for name, measured in after.items():
        if name in before:
            changes += [Change(name, metric, before[name].get(metric), measured.get(metric))
                        for metric in COMPARED if _moved(metric, before[name].get(metric),
                                                         measured.get(metric))]
    return changes


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
