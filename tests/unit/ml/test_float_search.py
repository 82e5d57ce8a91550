"""The float search's order of candidates and its choice, on made-up measurements (no TensorFlow)."""

from __future__ import annotations

import pytest

from tflmake.ml.float_search import Candidate, search, trace

OPS = ["a", "b", "c", "d"]
FLOAT = 0.95


def measuring(accuracy: dict[tuple[str, ...], float], diff: dict[tuple[str, ...], float] | None = None):  # type: ignore[no-untyped-def]
    """A measure function returning the given accuracy per kept set, recording every call."""
    calls: list[tuple[str, ...]] = []

    def measure(keep: tuple[str, ...]) -> Candidate:
        calls.append(keep)
        return Candidate(keep, 100 + 10 * len(keep), accuracy.get(keep, 0.1), (diff or {}).get(keep, 0.5),
                         model=repr(keep).encode())
    return measure, calls


def test_plain_int8_meeting_the_target_is_chosen_without_a_ranking() -> None:
    measure, calls = measuring({(): 0.945})
    result = search(OPS, measure, FLOAT, 0.01)
    assert result.met and result.chosen.keep_float == () and result.ranking == () and calls == [()]


def test_ops_are_ranked_by_the_accuracy_with_only_them_in_float_and_kept_in_that_order() -> None:
    """c recovers most, then a: {a, c} (in model order) is the first candidate meeting the target."""
    measure, calls = measuring({("c",): 0.90, ("a",): 0.80, ("a", "c"): 0.945})
    result = search(OPS, measure, FLOAT, 0.01)
    assert [c.keep_float[0] for c in result.ranking] == ["c", "a", "b", "d"]
    assert [c.keep_float for c in result.candidates] == [(), ("c",), ("a", "c")]
    assert result.met and result.chosen.keep_float == ("a", "c") and result.chosen.model == b"('a', 'c')"
    # Plain int8 and four single ops, then only the pair: the top-1 candidate is not converted again.
    assert calls == [(), ("a",), ("b",), ("c",), ("d",), ("a", "c")]


def test_equal_accuracies_rank_by_output_difference_then_position() -> None:
    measure, _ = measuring({}, {("d",): 0.1, ("b",): 0.3, ("a",): 0.3, ("c",): 0.3})
    assert [c.keep_float[0] for c in search(OPS, measure, FLOAT, 0.01).ranking] == ["d", "a", "b", "c"]


def test_a_drop_equal_to_the_target_meets_it() -> None:
    measure, _ = measuring({(): 0.94})
    assert search(OPS, measure, 0.95, 0.01).met


def test_when_no_candidate_meets_the_target_the_most_accurate_is_chosen_and_the_search_says_it_missed() -> None:
    """All four candidates are tried; the best accuracy wins, with fewer float ops on a tie."""
    measure, _ = measuring({("a",): 0.5, ("a", "b"): 0.7, ("a", "b", "c"): 0.7, ("a", "b", "c", "d"): 0.6})
    result = search(OPS, measure, FLOAT, 0.01)
    assert not result.met and len(result.candidates) == 5
    assert result.chosen.keep_float == ("a", "b")


def test_the_trace_names_every_candidate_the_ranking_and_the_choice() -> None:
    measure, _ = measuring({("c",): 0.95})
    ops = [("FULLY_CONNECTED", "a"), ("FULLY_CONNECTED", "b"), ("CONV_2D", "c"), ("SOFTMAX", "d")]
    found = trace(search(OPS, measure, FLOAT, 0.01), ops, FLOAT, 400, 0.01, "test", 360)
    assert found["met"] and found["split"] == "test" and found["samples"] == 360
    assert found["max_accuracy_drop"] == 0.01 and found["float"] == {"accuracy": FLOAT, "size_bytes": 400}
    assert found["ranking"][0] == {"op": "CONV_2D", "name": "c", "accuracy": 0.95, "mean_abs_diff": 0.5,
                                   "size_bytes": 110}
    assert [c["keep_float"] for c in found["candidates"]] == [[], ["c"]]
    assert [c["meets"] for c in found["candidates"]] == [False, True]
    assert found["candidates"][0]["accuracy_drop"] == pytest.approx(0.85)
    assert found["chosen"]["keep_float"] == ["c"]
