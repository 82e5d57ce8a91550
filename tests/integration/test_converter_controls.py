"""batch, per_channel_dense and strip_names on real conversions; firmware bundles of two models in one folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from ai_edge_litert import schema_py_generated as schema

from tests.support import Project, make_project
from tflmake.tflite.modelfacts import dense_weight_scale_counts, input_batch
from tflmake.tflite.names import strip_names
from tflmake.tflite.opcodes import operator_names

pytestmark = pytest.mark.integration

BATCH_OPS = {"SHAPE", "STRIDED_SLICE", "PACK"}
# digits_cnn (Flatten before its Dense layers) with firmware variants in three settings.
VARIANTS = """
[evaluation]
latency_runs = 5

[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"
io_type = "int8"
c_array = true

[[variant]]
name = "int8_dynamic"
quantize = "int8"
io_type = "int8"
c_array = true
batch = "dynamic"

[[variant]]
name = "int8_per_tensor"
quantize = "int8"
io_type = "int8"
c_array = true
per_channel_dense = false

[[variant]]
name = "int8_named"
quantize = "int8"
io_type = "int8"
c_array = true
strip_names = false
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """digits_cnn with the variants above and digits_mlp (its int8 variant has the same name)."""
    project = make_project(tmp_path_factory.mktemp("controls") / "project", "digits_cnn", "digits_mlp")
    spec = project.specs / "digits_cnn.toml"
    text = spec.read_text()
    spec.write_text(text[:text.index("[[variant]]")] + VARIANTS)
    run = project.doit()
    assert run.returncode == 0, run.output
    return project


def tflite(project: Project, variant: str, model: str = "digits_cnn") -> bytes:
    return (project.build / model / f"{variant}.tflite").read_bytes()


def test_batch_1_drops_the_ops_a_dynamic_batch_adds_to_flatten(built: Project) -> None:
    """The c_array default converts a [1, ...] signature: one RESHAPE, no SHAPE/STRIDED_SLICE/PACK."""
    fixed, dynamic = tflite(built, "int8"), tflite(built, "int8_dynamic")
    assert input_batch(fixed) == 1 and not BATCH_OPS & set(operator_names(fixed))
    assert input_batch(dynamic) is None and BATCH_OPS <= set(operator_names(dynamic))
    assert len(fixed) < len(dynamic)


def test_float_variant_without_c_array_keeps_its_dynamic_batch(built: Project) -> None:
    assert input_batch(tflite(built, "float32")) is None


def test_per_channel_dense_false_gives_one_scale_per_dense_weight_tensor(built: Project) -> None:
    assert dense_weight_scale_counts(tflite(built, "int8_per_tensor")) == [1, 1]
    assert all(count > 1 for count in dense_weight_scale_counts(tflite(built, "int8")))


def test_batch_1_variant_is_evaluated_by_litert_and_tflite_micro(built: Project) -> None:
    """Evaluation feeds one sample at a time, so a [1, ...] model measures like the dynamic one."""
    report = json.loads((built.build / "digits_cnn" / "report.json").read_text())
    fixed, dynamic = report["variants"]["int8"], report["variants"]["int8_dynamic"]
    # The tests' digits_cnn trains 3 epochs (~80 %): compare with its own float model, not a fixed bar.
    assert fixed["accuracy"] == dynamic["accuracy"]
    assert abs(fixed["accuracy"] - report["variants"]["float32"]["accuracy"]) <= 0.03
    assert fixed["micro"]["agreement_with_litert"] == 1.0
    assert fixed["arena_bytes"] < dynamic["arena_bytes"]
    assert (fixed["batch"], fixed["dense_weights"]) == (1, "per-channel")
    assert report["variants"]["int8_per_tensor"]["dense_weights"] == "per-tensor"


def test_report_md_says_each_variants_batch_and_dense_granularity(built: Project) -> None:
    text = (built.build / "digits_cnn" / "report.md").read_text()
    assert "(batch 1, Dense weights per-channel)" in text
    assert "(dynamic batch, Dense weights per-channel)" in text
    assert "(batch 1, Dense weights per-tensor)" in text


def test_batch_1_conversion_is_reproducible(built: Project, tmp_path: Path) -> None:
    """Each [1, ...] variant converted alone in a fresh process has the bytes it got in the build.

    The build converted all three in one process from one traced signature
    (traced once per model and process), so only the first had a trace of its own.
    """
    root = tmp_path / "copy"
    shutil.copytree(built.root, root, symlinks=True)
    copy = Project(root)
    for variant in ("int8", "int8_per_tensor", "int8_named"):
        before = hashlib.sha256(tflite(copy, variant)).hexdigest()
        (copy.build / "digits_cnn" / f"{variant}.tflite").unlink()
        run = copy.doit(f"tflite:digits_cnn.{variant}")
        assert run.returncode == 0, run.output
        assert run.executed == [f"tflite:digits_cnn.{variant}"]
        assert hashlib.sha256(tflite(copy, variant)).hexdigest() == before, variant


def test_changing_per_channel_dense_rebuilds_only_that_variant(built: Project, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(built.root, root, symlinks=True)
    copy = Project(root)
    spec = copy.specs / "digits_cnn.toml"
    spec.write_text(spec.read_text().replace('batch = "dynamic"', 'batch = "dynamic"\nper_channel_dense = false'))
    run = copy.doit()
    assert run.returncode == 0, run.output
    rebuilt = {task for task in run.executed if task.startswith(("tflite:", "savedmodel:", "carray:"))}
    assert rebuilt == {"tflite:digits_cnn.int8_dynamic", "carray:digits_cnn.int8_dynamic"}
    assert dense_weight_scale_counts(tflite(copy, "int8_dynamic")) == [1, 1]


def tensor_names(model: bytes) -> list[str]:
    main = schema.Model.GetRootAs(model, 0).Subgraphs(0)
    return [(main.Tensors(i).Name() or b"").decode() for i in range(main.TensorsLength())]


def test_firmware_variants_strip_names_and_the_rewrite_is_the_only_difference(built: Project) -> None:
    """The c_array default drops intermediate names only: the same bytes as stripping the named variant."""
    stripped, named = tflite(built, "int8"), tflite(built, "int8_named")
    assert strip_names(named) == stripped
    assert len(stripped) < len(named)
    main = schema.Model.GetRootAs(named, 0).Subgraphs(0)
    interface = {main.Inputs(0), main.Outputs(0)}
    assert tensor_names(stripped) == [name if index in interface else ""
                                      for index, name in enumerate(tensor_names(named))]
    assert sum(1 for name in tensor_names(named) if "digits_cnn" in name) > 10


def test_stripped_variant_measures_like_the_named_one_in_litert_and_tflite_micro(built: Project) -> None:
    """Same accuracy (LiteRT and TFLite Micro), same arena, same signature: names are only debug strings."""
    from ai_edge_litert.interpreter import Interpreter

    report = json.loads((built.build / "digits_cnn" / "report.json").read_text())
    stripped, named = report["variants"]["int8"], report["variants"]["int8_named"]
    assert stripped["accuracy"] == named["accuracy"] is not None
    assert stripped["micro"] == named["micro"] and stripped["micro"]["agreement_with_litert"] == 1.0
    assert stripped["arena_bytes"] == named["arena_bytes"]
    assert Interpreter(model_content=tflite(built, "int8")).get_signature_list() == \
        Interpreter(model_content=tflite(built, "int8_named")).get_signature_list()
    header = (built.build / "digits_cnn" / "firmware" / "digits_cnn_int8_model_data.h").read_text()
    assert '"serving_default_keras_tensor:0"' in header


def test_firmware_headers_state_the_raw_input_scale(built: Project) -> None:
    header = (built.build / "digits_mlp" / "firmware" / "digits_mlp_int8_model_data.h").read_text()
    assert "#define G_DIGITS_MLP_INT8_MODEL_DATA_INPUT0_RAW_SCALE 16.0f" in header
    manifest = json.loads((built.build / "digits_mlp" / "int8_firmware.json").read_text())
    assert manifest["input_preprocessing"]["raw_scale"] == 16.0


MAIN_C = """\
#include <stdio.h>
#include "digits_cnn_int8_model_data.h"
#include "digits_mlp_int8_model_data.h"

int main(void) {
  printf("%u %u %g %g\\n", g_digits_cnn_int8_model_data_len, g_digits_mlp_int8_model_data_len,
         (double)G_DIGITS_CNN_INT8_MODEL_DATA_INPUT0_RAW_SCALE,
         (double)G_DIGITS_MLP_INT8_MODEL_DATA_INPUT0_RAW_SCALE);
  return g_digits_cnn_int8_model_data[4] == 'T' && g_digits_mlp_int8_model_data[4] == 'T' ? 0 : 1;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_two_models_firmware_folders_share_one_source_folder(built: Project, tmp_path: Path) -> None:
    """Both models have a variant "int8"; their firmware/ files copy into one folder and link."""
    folder = tmp_path / "src"
    folder.mkdir()
    copied = 0
    for model in ("digits_cnn", "digits_mlp"):
        for path in (built.build / model / "firmware").iterdir():
            assert not (folder / path.name).exists(), f"{path.name} collides"
            shutil.copy(path, folder)
            copied += 1
    assert copied == 4 * 3 + 3  # digits_cnn exports four variants, digits_mlp one
    (folder / "main.c").write_text(MAIN_C)
    sources = [p.name for p in sorted(folder.glob("*.c"))]
    compiled = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-o", "app", *sources],
                              cwd=folder, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    ran = subprocess.run([str(folder / "app")], capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout.split()[2:] == ["16", "16"]
