"""What each evaluation task measures: classification, regression and anomaly detection metrics."""

from __future__ import annotations

import numpy as np
import pytest

from tflmake.kinds import EVALUATION_TASKS as TASKS
from tflmake.report import metrics
from tflmake.report.diff import COMPARED, diff_reports
from tflmake.report.evaluation_tasks import MEASURED, measure
from tflmake.report.gates import GATES_BY_KEY, check_gates
from tflmake.spec.schema import spec_schema

OUTPUTS = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
LABELS = np.array([0, 1, 1, 2])


def test_schema_tasks_equal_the_table() -> None:
    """Every evaluation.task the schema allows has a record, and no record is unreachable."""
    assert spec_schema()["properties"]["evaluation"]["properties"]["task"]["enum"] == list(TASKS)


def test_classification_gives_top_k_per_class_and_confusion() -> None:
    """Top-1 0.5, top-2 0.75; confusion rows are true classes, columns predictions."""
    result = measure("classification", OUTPUTS, LABELS, np.zeros((4, 1)), {"top_k": 2})
    assert result["accuracy"] == 0.5 and result["top_k"] == 2 and result["top_k_accuracy"] == 0.75
    assert result["confusion_matrix"] == [[1, 0, 0], [0, 1, 1], [1, 0, 0]]
    assert result["per_class_accuracy"] == [1.0, 0.5, 0.0]
    assert result["auc"] is None and result["mse"] is None and set(result) == set(MEASURED)


def test_top_k_is_capped_at_the_number_of_classes() -> None:
    """The default k of 5 on a 3-class model measures top-3, which is always 1."""
    result = measure("classification", OUTPUTS, LABELS, np.zeros((4, 1)), {})
    assert result["top_k"] == 3 and result["top_k_accuracy"] == 1.0


def test_class_without_test_samples_has_no_accuracy() -> None:
    """A class absent from the test split gets None, not a made-up 0 or 1."""
    confusion = metrics.confusion_matrix(OUTPUTS[:2], LABELS[:2], 3)
    assert metrics.per_class_accuracy(confusion) == [1.0, 0.0, None]


def test_anomaly_auc_ranks_reconstruction_errors() -> None:
    """Anomalies reconstructed worse than every normal sample give AUC 1; reversed, 0."""
    x = np.zeros((4, 2))
    outputs = np.array([[0.1, 0.0], [0.0, 0.2], [1.0, 1.0], [0.5, 0.9]])
    assert measure("anomaly", outputs, np.array([0, 0, 1, 1]), x, {})["auc"] == 1.0
    assert measure("anomaly", outputs, np.array([1, 1, 0, 0]), x, {})["auc"] == 0.0
    half = measure("anomaly", outputs, np.array([0, 1, 1, 0]), x, {})  # 3 of 4 pairs ranked right
    assert half["auc"] == 0.75 and half["mse"] == pytest.approx(np.mean(np.mean(outputs**2, axis=1)))


def test_anomaly_needs_outputs_shaped_like_inputs() -> None:
    """A classifier evaluated as an anomaly detector is an error, not a meaningless AUC."""
    with pytest.raises(ValueError, match="must reconstruct its input"):
        measure("anomaly", OUTPUTS, LABELS, np.zeros((4, 2)), {})


def test_anomaly_auc_without_both_label_values_is_none() -> None:
    """A test split of normal samples only has no ROC curve."""
    assert metrics.roc_auc(np.array([0.1, 0.2]), np.array([0, 0])) is None


def test_min_auc_gate_and_diff() -> None:
    """min_auc gates the measured AUC; the report diff lists an AUC that moved."""
    assert "min_auc" in spec_schema()["$defs"]["gates"]["properties"] and "min_auc" in GATES_BY_KEY
    test_set = {"samples": 40, "sha256": "ab" * 32}
    report = {"model": "ae", "test_set": test_set, "variants": {"int8": {"auc": 0.81}}}
    [result] = check_gates(report, {"int8": {"min_auc": 0.9}})
    assert not result.passed and "auc 0.8100 vs min_auc = 0.9000: FAILED" in result.describe()
    previous = {"test_set": test_set, "variants": {"int8": {"auc": 0.85}}}
    assert [change.metric for change in diff_reports(previous, report)] == ["auc"]
    assert "auc" in COMPARED and "top_k_accuracy" in COMPARED


def test_anomaly_report_renders_auc_not_accuracy() -> None:
    """An anomaly model's report shows ROC AUC in the table and sentences; accuracy is not formatted."""
    import json
    from pathlib import Path

    from tflmake.emit.report_md import render_model
    from tflmake.report.summary import summarise

    report = json.loads((Path(__file__).parents[2] / "data" / "report_toy.json").read_text())
    report["task"] = "anomaly"
    for entry, auc in zip(report["variants"].values(), (0.95, 0.93), strict=False):
        entry.update(accuracy=None, agreement=None, accuracy_drop=None, auc=auc, mse=0.01)
    text = render_model(summarise(report, [], []))
    assert "| ROC AUC |" in text and "int8: 3.52× smaller, ROC AUC 0.9300 (−0.02 vs float)" in text


def test_report_table_has_a_top_k_column_only_when_measured() -> None:
    """New reports show "Top-5"; reports from before top-k was measured keep their columns."""
    import json
    from pathlib import Path

    from tflmake.report.summary import summarise

    report = json.loads((Path(__file__).parents[2] / "data" / "report_toy.json").read_text())
    assert not any(title.startswith("Top-") for title in summarise(report, [], []).header)
    for entry in report["variants"].values():
        entry.update(top_k=5, top_k_accuracy=0.99)
    summary = summarise(report, [], [])
    column = summary.header.index("Top-5")
    assert [row[column].text for row in summary.rows] == ["99.00 %", "99.00 %"]


def test_per_class_accuracy_is_listed_by_class_name_and_weakest_first_when_many() -> None:
    """The report names each class's accuracy (with the data set's labels); with many classes only the weakest."""
    from tflmake.report.summary import per_class_line

    entry = {"name": "int8", "per_class_accuracy": [1.0, 0.5, None]}
    assert per_class_line(entry, ["cat", "dog", "eel"]) == "int8: cat 100.00 %, dog 50.00 %"
    assert per_class_line(entry, None) == "int8: 0 100.00 %, 1 50.00 %"
    many = {"name": "f", "per_class_accuracy": [0.9 + k / 1000 for k in range(12)]}
    many["per_class_accuracy"][7] = 0.1
    assert per_class_line(many, None).startswith("f: weakest 5 of 12 classes: 7 10.00 %, 0 90.00 %")
    assert per_class_line({"name": "old"}, None) == ""
