"""keep_float_search on a model plain int8 breaks: the fewest float ops meet the target, cached like any variant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support import Project, make_project

pytestmark = pytest.mark.integration

# Pixel 0 of the 8x8 digits is 0 in every sample: a huge weight on it changes no float output,
# but sets the int8 per-channel scale of every unit of its layer (~1000/127), so every other weight
# of that layer rounds to 0 and plain int8 guesses.
OUTLIER = 1000.0

SPEC = """
[model.source]
type = "keras_file"
path = "../outlier.keras"

[dataset]
type = "digits"
scale = 16.0
shape = [64]

[evaluation]
latency_runs = 2

[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"

[[variant]]
name = "searched"
quantize = "int8"
keep_float_search = { max_accuracy_drop = 0.01 }
"""


def outlier_model() -> Any:
    """hidden (identity, relu) -> outlier (identity, one huge weight on a dead pixel) -> classifier (least squares).

    Constructed, not trained: the classifier is a least-squares fit on the digits.
    """
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data.astype(np.float32) / 16.0
    assert not x[:, 0].any(), "pixel 0 must be blank in every digit"
    targets = np.eye(10, dtype=np.float32)[digits.target]
    solution = np.linalg.lstsq(np.hstack([x, np.ones((len(x), 1), np.float32)]), targets, rcond=None)[0]
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu", name="hidden"),
                              keras.layers.Dense(64, name="outlier"),
                              keras.layers.Dense(10, activation="softmax", name="classifier")])
    identity = np.eye(64, dtype=np.float32)
    with_outlier = identity.copy()
    with_outlier[0, :] = OUTLIER
    model.get_layer("hidden").set_weights([identity, np.zeros(64, np.float32)])
    model.get_layer("outlier").set_weights([with_outlier, np.zeros(64, np.float32)])
    # Scaled up so the softmax is confident; argmax is unchanged.
    model.get_layer("classifier").set_weights([solution[:-1] * 10, solution[-1] * 10])
    return model


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = make_project(tmp_path_factory.mktemp("float_search") / "project")
    outlier_model().save(project.root / "outlier.keras")
    project.add_spec("outlier", SPEC)
    run = project.doit()
    assert run.returncode == 0, run.output
    return project


def report(project: Project) -> dict[str, Any]:
    return json.loads((project.build / "outlier" / "report.json").read_text())  # type: ignore[no-any-return]


def test_plain_int8_breaks_the_target_and_the_search_meets_it_with_one_float_op(built: Project) -> None:
    variants = report(built)["variants"]
    assert variants["int8"]["accuracy_drop"] > 0.3, "the model must break plain int8"
    assert variants["searched"]["accuracy_drop"] <= 0.01
    trace = variants["searched"]["float_search"]
    assert trace["met"] is True and trace["split"] == "test"
    assert [op["op"] for op in trace["ops"]] == ["FULLY_CONNECTED"] * 3 + ["SOFTMAX"]
    chosen = trace["chosen"]["keep_float"]
    assert len(chosen) == 1 and "outlier" in chosen[0]
    assert "outlier" in trace["ranking"][0]["name"]
    # Plain int8, then one float op: the search stopped at the first candidate meeting the target.
    assert [len(c["keep_float"]) for c in trace["candidates"]] == [0, 1]
    assert trace["candidates"][0]["accuracy"] == pytest.approx(variants["int8"]["accuracy"])
    assert trace["chosen"]["size_bytes"] == variants["searched"]["size_bytes"]
    assert trace["chosen"]["accuracy"] == pytest.approx(variants["searched"]["accuracy"])
    # One 64x64 layer stays float32: between the int8 and the float32 model in size.
    assert variants["int8"]["size_bytes"] < variants["searched"]["size_bytes"] < variants["float32"]["size_bytes"]
    assert "DEQUANTIZE" in variants["searched"]["ops"][:3]


def test_the_report_lists_the_ranking_and_the_candidates(built: Project) -> None:
    for path in (built.build / "outlier" / "report.md", built.build / "report.md", built.build / "report.html"):
        text = path.read_text()
        assert "Float layer search" in text, path
        assert "searched: accuracy drop at most 1.00 pt" in text and "met with 1 of 4 ops in float" in text
        assert "searched sensitivity" in text and "searched candidates: 0 in float" in text


def test_second_run_executes_nothing(built: Project) -> None:
    run = built.doit()
    assert run.returncode == 0 and run.executed == [], run.output


def test_a_target_change_reruns_only_that_variant_s_search(built: Project, tmp_path: Path) -> None:
    import shutil

    copy = Project(tmp_path / "copy")
    shutil.copytree(built.root, copy.root, symlinks=True)
    spec = copy.specs / "outlier.toml"
    spec.write_text(spec.read_text().replace("max_accuracy_drop = 0.01", "max_accuracy_drop = 0.02"))
    run = copy.doit()
    assert run.returncode == 0, run.output
    assert "tflite:outlier.searched" in run.executed
    assert not {"tflite:outlier.int8", "tflite:outlier.float32", "savedmodel:outlier", "dataset:outlier"} \
        & set(run.executed)
    assert json.loads((copy.build / "outlier" / "searched_float_search.json").read_text())[
        "max_accuracy_drop"] == 0.02
