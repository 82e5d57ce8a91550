"""Optimization on real tiny builds: LiteRT Quantizer, keep_float, pruning, QAT, fusion report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import accuracy
from tests.support import Project, make_project

pytestmark = pytest.mark.integration

DIGITS = """
[dataset]
type = "digits"
scale = 16.0
shape = [{shape}]

[train]
epochs = 4

[evaluation]
latency_runs = 5
"""

MLP = """
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [
  { type = "Flatten" },
  { type = "Dense", units = 32, activation = "relu" },
  { type = "Dense", units = 10, activation = "softmax" },
]
""" + DIGITS.format(shape="8, 8") + """
[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"

[[variant]]
name = "int8_keep"
quantize = "int8"
keep_float = ["dense_1/"]

[[variant]]
name = "aeq_int8"
quantize = "int8"
backend = "litert_quantizer"

[[variant]]
name = "aeq_int8_keep"
quantize = "int8"
backend = "litert_quantizer"
keep_float = ["dense_1/"]

[[variant]]
name = "aeq_int4"
quantize = "int4_weights"
backend = "litert_quantizer"

[[variant]]
name = "aeq_recipe"
quantize = "dynamic"
backend = "litert_quantizer"
recipe = [{ regex = ".*", operation = "*", algorithm_key = "min_max_uniform_quantize", op_config = { \
  weight_tensor_config = { num_bits = 8, symmetric = true, granularity = "CHANNELWISE", dtype = "INT" }, \
  compute_precision = "FLOAT", explicit_dequantize = true } }]

[[variant]]
name = "aeq_recipe_file"
quantize = "dynamic"
backend = "litert_quantizer"
recipe = "weight_only_int8.json"

[[variant]]
name = "pruned_int8"
quantize = "int8"
prune = { sparsity = 0.5, epochs = 1 }

[[variant]]
name = "pruned_sparse_int8"
quantize = "int8"
prune = { sparsity = 0.5, epochs = 1, encoding = "sparse" }

[[variant]]
name = "pruned_other"
prune = { sparsity = 0.3, epochs = 1 }

[[variant]]
name = "qat_int8"
quantize = "int8"
qat = { epochs = 1 }
"""

CNN = """
[model.source]
type = "layers"
input_shape = [8, 8, 1]
layers = [
  { type = "Conv2D", filters = 4, kernel_size = 3, padding = "same" },
  { type = "BatchNormalization" },
  { type = "ReLU" },
  { type = "Flatten" },
  { type = "Dense", units = 10, activation = "softmax" },
]
""" + DIGITS.format(shape="8, 8, 1") + """
[[variant]]
name = "float32"
"""


WEIGHT_ONLY_INT8 = [{
    "regex": ".*", "operation": "*", "algorithm_key": "min_max_uniform_quantize",
    "op_config": {"weight_tensor_config": {"num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE",
                                           "dtype": "INT"},
                  "compute_precision": "FLOAT", "explicit_dequantize": True}}]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Both tiny models built once for the module; tests copy the project before changing it."""
    project = make_project(tmp_path_factory.mktemp("optimize") / "project")
    (project.specs / "weight_only_int8.json").write_text(json.dumps(WEIGHT_ONLY_INT8))
    project.add_spec("mlp", MLP)
    project.add_spec("cnn", CNN)
    run = project.doit()
    assert run.returncode == 0, run.output
    return project


def report(project: Project, model: str = "mlp") -> dict[str, Any]:
    return json.loads((project.build / model / "report.json").read_text())


def test_second_run_executes_nothing(built: Project) -> None:
    run = built.doit()
    assert run.returncode == 0 and run.executed == [], run.output


def test_litert_quantizer_makes_a_working_int8_model_from_the_float32_tflite(built: Project) -> None:
    """The quantizer's int8 model is integer inside, smaller than float, and about as accurate."""
    variants = report(built)["variants"]
    ours, theirs = variants["aeq_int8"], variants["int8"]
    assert ours["backend"] == "litert_quantizer" and theirs["backend"] == "converter"
    assert ours["size_bytes"] < 0.7 * variants["float32"]["size_bytes"]
    assert ours["sha256"] != theirs["sha256"]
    assert ours["agreement"] > 0.9
    assert variants["aeq_int4"]["size_bytes"] < ours["size_bytes"]


def test_raw_recipe_inline_or_from_a_file_replaces_the_built_in_one(built: Project) -> None:
    """A weight-only recipe dequantizes weights before float FULLY_CONNECTEDs; both forms agree."""
    variants = report(built)["variants"]
    inline, from_file = variants["aeq_recipe"], variants["aeq_recipe_file"]
    assert inline["sha256"] == from_file["sha256"]
    assert inline["ops"].count("DEQUANTIZE") == 2
    assert inline["size_bytes"] < 0.5 * variants["float32"]["size_bytes"]
    assert inline["input"]["dtype"] == "float32"


@pytest.mark.parametrize(("kept", "plain"), [("int8_keep", "int8"), ("aeq_int8_keep", "aeq_int8")])
def test_keep_float_leaves_the_matched_layer_in_float(built: Project, kept: str, plain: str) -> None:
    """Keeping the first Dense in float adds a float FULLY_CONNECTED: more bytes, more ops, reported."""
    variants = report(built)["variants"]
    assert variants[kept]["sha256"] != variants[plain]["sha256"]
    assert variants[kept]["size_bytes"] > variants[plain]["size_bytes"] + 3000  # 64x32 float weights
    assert variants[kept]["ops"].count("DEQUANTIZE") > variants[plain]["ops"].count("DEQUANTIZE")
    assert variants[kept]["keep_float"] == ["dense_1/"]
    markdown = (built.build / "mlp" / "report.md").read_text()
    assert f"- {kept} (" in markdown and "kept float: dense_1/" in markdown


def test_pruned_model_is_shared_sparse_and_compresses_better(built: Project) -> None:
    """One pruned model per option set; 50 % zeros measured; gzip smaller than unpruned int8."""
    pruned = sorted(p.name for p in (built.build / "mlp").glob("pruned_*") if p.is_dir())
    assert len(pruned) == 2  # sparsity 0.5 (shared by two variants) and 0.3
    variants = report(built)["variants"]
    assert variants["pruned_int8"]["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert variants["pruned_other"]["sparsity"] == pytest.approx(0.3, abs=0.01)
    assert variants["int8"]["sparsity"] is None
    assert variants["pruned_int8"]["gzip_bytes"] < 0.9 * variants["int8"]["gzip_bytes"]
    assert "DENSIFY" in variants["pruned_sparse_int8"]["ops"]
    assert "DENSIFY" not in variants["pruned_int8"]["ops"]
    assert "50.00 % of kernel weights zero" in (built.build / "mlp" / "report.md").read_text()
    # XNNPACK cannot run DENSIFY: that variant's host latency comes from other kernels, and the report says so.
    assert variants["pruned_sparse_int8"]["host_kernels"] == "built-in kernels: XNNPACK does not run sparse " \
        "DENSIFY weights"
    assert variants["pruned_int8"]["host_kernels"] == variants["int8"]["host_kernels"] == "XNNPACK"
    assert "host latency on built-in kernels: XNNPACK does not run sparse DENSIFY weights)" in \
        (built.build / "mlp" / "report.md").read_text()


def test_qat_variant_is_a_working_int8_model(built: Project) -> None:
    """QAT fine-tunes before conversion: different bytes from plain int8, still a good classifier."""
    variants = report(built)["variants"]
    assert variants["qat_int8"]["sha256"] != variants["int8"]["sha256"]
    assert accuracy(built.build / "mlp" / "qat_int8.tflite", built.build / "mlp" / "dataset.npz") > 0.7


def test_report_lists_keras_layers_and_the_fused_conv(built: Project) -> None:
    """Conv2D + BatchNormalization + ReLU become one CONV_2D; the report shows both sides."""
    cnn = report(built, "cnn")
    assert cnn["keras_layers"][:3] == ["Conv2D", "BatchNormalization", "ReLU"]
    assert cnn["variants"]["float32"]["ops"].count("CONV_2D") == 1
    assert not {"MUL", "ADD", "RELU"} & set(cnn["variants"]["float32"]["ops"])
    assert "Keras layers before conversion (5): Conv2D, BatchNormalization, ReLU" in \
        (built.build / "cnn" / "report.md").read_text()


def test_changing_pruning_rebuilds_only_the_pruned_model_and_its_variants(built: Project,
                                                                         tmp_path: Path) -> None:
    """A new sparsity trains one new pruned model and reconverts only the variants using it."""
    root = tmp_path / "copy"
    shutil.copytree(built.root, root, symlinks=True)
    project = Project(root)
    spec = project.specs / "mlp.toml"
    spec.write_text(spec.read_text().replace("sparsity = 0.3", "sparsity = 0.4"))
    run = project.doit()
    assert run.returncode == 0, run.output
    assert [task for task in run.executed if task.split(":")[0] in ("savedmodel", "prune", "tflite")] == \
        [next(t for t in run.executed if t.startswith("prune:mlp.pruned_")), "tflite:mlp.pruned_other"]
    assert report(project)["variants"]["pruned_other"]["sparsity"] == pytest.approx(0.4, abs=0.01)
