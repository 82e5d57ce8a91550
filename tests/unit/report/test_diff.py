"""Report diffs compare figures measured on the test set only when both reports share its digest."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tflmake.emit.report_md import render_model
from tflmake.kinds import METRICS
from tflmake.report.diff import COMPARED_ACROSS_TEST_SETS, diff_reports
from tflmake.report.summary import summarise

REPORT = json.loads((Path(__file__).parents[2] / "data" / "report_toy.json").read_text())


def moved(current: dict) -> dict:
    """The toy report with int8's size and accuracy changed and its test set as given."""
    current["variants"]["int8"]["size_bytes"] = 12000
    current["variants"]["int8"]["accuracy"] = 0.95
    current["variants"]["int8"]["agreement"] = 0.99
    return current


def test_equal_test_set_digests_compare_accuracy() -> None:
    """The same test set: accuracy, agreement and size moves are all listed, with no test set line."""
    lines = [change.describe() for change in diff_reports(REPORT, moved(copy.deepcopy(REPORT)))]
    assert lines == ["int8: size_bytes 11364 -> 12000 (+636, +5.6%)",
                     "int8: accuracy 94.70 % -> 95.00 % (+0.30 pt)",
                     "int8: agreement 99.40 % -> 99.00 % (-0.40 pt)"]


def test_a_changed_test_set_is_said_instead_of_accuracy_differences() -> None:
    """Another digest: the test set line comes first, accuracy and agreement are not compared, size still is."""
    current = moved(copy.deepcopy(REPORT))
    current["test_set"] = {"samples": 505, "sha256": "0" * 64}
    current["test_samples"] = 505
    lines = [change.describe() for change in diff_reports(REPORT, current)]
    assert lines == ["the test set changed (500 → 505 samples): figures measured on it are not compared",
                     "int8: size_bytes 11364 -> 12000 (+636, +5.6%)"]
    text = render_model(summarise(current, changes=diff_reports(REPORT, current)))
    assert "- the test set changed (500 → 505 samples)" in text and "accuracy 94.70 %" not in text


def test_same_sample_count_but_other_samples_is_a_changed_test_set() -> None:
    """Equal counts are not enough: a different digest with 500 samples still stops accuracy comparisons."""
    current = moved(copy.deepcopy(REPORT))
    current["test_set"] = {"samples": 500, "sha256": "1" * 64}
    metrics = [change.metric for change in diff_reports(REPORT, current)]
    assert metrics == ["test_set", "size_bytes"]


def test_a_previous_report_without_a_digest_compares_no_test_set_figures() -> None:
    """A report written before digests existed cannot vouch for its test set: say so, compare only sizes."""
    previous = copy.deepcopy(REPORT)
    del previous["test_set"]
    [note, size] = diff_reports(previous, moved(copy.deepcopy(REPORT)))
    assert note.describe().startswith("the previous report records no test set digest (500 → 500 samples)")
    assert size.metric == "size_bytes"


def test_only_test_set_independent_metrics_are_compared_across_test_sets() -> None:
    """Sizes, operators, arena and host latency are compared across test sets; quality figures are not."""
    assert set(COMPARED_ACROSS_TEST_SETS) == {"size_bytes", "gzip_bytes", "op_count", "arena_bytes",
                                              "latency_ms_median", "latency_ms_p90"}
    assert all(METRICS[name].depends_on_test_set for name in ("accuracy", "agreement", "mse", "auc"))
