"""The search for the fewest ops to keep in float so an int8 model meets an accuracy target. Pure.

How a candidate is converted and measured is the caller's (`builders/float_search`);
this module decides which candidates to try, in a fixed order, so the same
measurements always give the same choice:

1. plain int8 (no op in float); done if it meets the target;
2. each op alone in float: its sensitivity is that model's accuracy (higher means
   quantizing the op costs more), ties broken by the smaller mean absolute
   difference from the float outputs, then by the op's position;
3. the top 1, 2, ... ops of that ranking in float, until a candidate meets the target.

At most 2n + 1 conversions for n ops. If none meets the target, the most accurate
candidate (the fewer float ops on a tie) is chosen and the trace says it missed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Accuracies are fractions k/n; a drop equal to the target must count as meeting it.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Candidate:
    """One converted and measured model: which ops it keeps in float, its size and accuracy."""

    keep_float: tuple[str, ...]
    size_bytes: int
    accuracy: float
    mean_abs_diff: float  # from the float model's outputs
    model: bytes = field(default=b"", repr=False, compare=False)


Measure = Callable[[tuple[str, ...]], Candidate]


@dataclass(frozen=True)
class SearchResult:
    chosen: Candidate
    met: bool
    ranking: tuple[Candidate, ...]  # one op in float each, most sensitive first; empty if plain int8 met
    candidates: tuple[Candidate, ...]  # in the order tried: plain int8, then the ranking's prefixes


def search(ops: Sequence[str], measure: Measure, float_accuracy: float, max_drop: float) -> SearchResult:
    """The fewest of `ops` (output tensor names, in model order) to keep in float for `max_drop`."""
    measured: dict[tuple[str, ...], Candidate] = {}

    def tried(keep: tuple[str, ...]) -> Candidate:
        if keep not in measured:
            measured[keep] = measure(keep)
        return measured[keep]

    def meets(candidate: Candidate) -> bool:
        return float_accuracy - candidate.accuracy <= max_drop + TOLERANCE

    plain = tried(())
    if meets(plain):
        return SearchResult(plain, True, (), (plain,))
    position = {op: index for index, op in enumerate(ops)}
    ranking = sorted((tried((op,)) for op in ops),
                     key=lambda c: (-c.accuracy, c.mean_abs_diff, position[c.keep_float[0]]))
    candidates = [plain]
    for count in range(1, len(ops) + 1):
        keep = tuple(sorted((c.keep_float[0] for c in ranking[:count]), key=position.__getitem__))
        candidates.append(tried(keep))
        if meets(candidates[-1]):
            return SearchResult(candidates[-1], True, tuple(ranking), tuple(candidates))
    best = max(candidates, key=lambda c: (c.accuracy, -len(c.keep_float)))
    return SearchResult(best, False, tuple(ranking), tuple(candidates))


def trace(result: SearchResult, ops: Sequence[tuple[str, str]], float_accuracy: float, float_size: int,
          max_drop: float, split: str, samples: int) -> dict[str, Any]:
    """The search as JSON for `<variant>_float_search.json` and the report.

    Args:
        ops: (operator, output tensor name) of every op the search could keep in float.
    """
    kinds = dict((name, op) for op, name in ops)

    def described(candidate: Candidate) -> dict[str, Any]:
        return {"keep_float": list(candidate.keep_float), "size_bytes": candidate.size_bytes,
                "accuracy": candidate.accuracy, "accuracy_drop": float_accuracy - candidate.accuracy,
                "mean_abs_diff": candidate.mean_abs_diff,
                "meets": float_accuracy - candidate.accuracy <= max_drop + TOLERANCE}

    return {
        "max_accuracy_drop": max_drop, "split": split, "samples": samples,
        "float": {"accuracy": float_accuracy, "size_bytes": float_size},
        "ops": [{"op": op, "name": name} for op, name in ops],
        "ranking": [{"op": kinds[c.keep_float[0]], "name": c.keep_float[0], "accuracy": c.accuracy,
                     "mean_abs_diff": c.mean_abs_diff, "size_bytes": c.size_bytes} for c in result.ranking],
        "candidates": [described(c) for c in result.candidates],
        "chosen": described(result.chosen), "met": result.met,
    }
