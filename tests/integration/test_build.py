"""Real builds of the digits MLP: every target, real accuracy, real rebuild behaviour."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.integration.helpers import accuracy
from tests.support import Project, make_project

VARIANTS = ("float32", "dynamic", "float16", "int8", "int16x8")
MLP_TASKS = {"dataset:digits_mlp", "savedmodel:digits_mlp", "representative:digits_mlp",
             *(f"tflite:digits_mlp.{v}" for v in VARIANTS), "carray:digits_mlp.int8",
             "manifest:digits_mlp", "evaluate:digits_mlp", "report:digits_mlp", "summary"}
EVALUATION = {"evaluate:digits_mlp", "report:digits_mlp", "summary"}


def digests(build: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(build.glob("*/*.tflite"))}


def test_every_target_exists(built_mlp: Project) -> None:
    """SavedModel, representative set, every variant and the C arrays are built."""
    model = built_mlp.build / "digits_mlp"
    assert (model / "saved_model" / "saved_model.pb").is_file()
    assert (model / "saved_model" / "tflmake_stamp.json").is_file()
    assert (model / "representative.npz").is_file()
    for variant in VARIANTS:
        assert (model / f"{variant}.tflite").stat().st_size > 1000
    assert (model / "int8_model_data.h").is_file() and (model / "int8_model_data.c").is_file()
    with np.load(model / "representative.npz") as data:
        assert data["x"].shape == (100, 8, 8)


def test_int8_variant_has_int8_io(built_mlp: Project) -> None:
    """The int8 variant with io_type = "int8" takes and returns int8 tensors in LiteRT."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(built_mlp.build / "digits_mlp" / "int8.tflite"))
    interpreter.allocate_tensors()
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8


def test_accuracy_of_float_and_int8(built_mlp: Project) -> None:
    """float32 reaches 0.90 on the test split and int8 stays within 2 points of it."""
    model = built_mlp.build / "digits_mlp"
    float_accuracy = accuracy(model / "float32.tflite", model / "dataset.npz")
    int8_accuracy = accuracy(model / "int8.tflite", model / "dataset.npz")
    assert float_accuracy >= 0.90
    assert int8_accuracy >= float_accuracy - 0.02


def test_quantized_variants_are_smaller(built_mlp: Project) -> None:
    """Each quantization shrinks the float32 file (int8 to well under half)."""
    sizes = {v: (built_mlp.build / "digits_mlp" / f"{v}.tflite").stat().st_size for v in VARIANTS}
    assert sizes["int8"] < 0.5 * sizes["float32"]
    assert max(sizes["dynamic"], sizes["float16"], sizes["int16x8"]) < sizes["float32"]


def test_c_array_bytes_equal_the_tflite(built_mlp: Project) -> None:
    """The array in int8_model_data.c holds exactly the .tflite bytes, with its length."""
    model = built_mlp.build / "digits_mlp"
    source = (model / "int8_model_data.c").read_text()
    body = source[source.index("{") + 1: source.index("};")]
    array = bytes(int(token, 16) for token in re.findall(r"0x([0-9a-f]{2})", body))
    tflite = (model / "int8.tflite").read_bytes()
    assert array == tflite
    assert f"_len = {len(tflite)}u;" in source
    assert "TFLMAKE_ALIGNED(16) const unsigned char g_digits_mlp_int8_model_data[]" in source


def test_second_run_executes_nothing(built_mlp: Project) -> None:
    """With nothing changed, doit runs no task and reports every one up to date (checking each task,
    not answering from the no-op record)."""
    run = built_mlp.doit(env={"TFLMAKE_CHECK_ALL": "1"})
    assert run.returncode == 0, run.output
    assert run.executed == []
    assert set(run.skipped) == MLP_TASKS


def test_noop_never_imports_tensorflow(built_mlp: Project) -> None:
    """A no-op doit imports neither TensorFlow nor Keras."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "doit"], cwd=built_mlp.root,
                            capture_output=True, text=True, env={**os.environ, "TFLMAKE_CHECK_ALL": "1"})
    assert result.returncode == 0
    imported = re.findall(r"\|\s+(tensorflow|keras)\b", result.stderr)
    assert imported == []


@pytest.mark.parametrize(("edit", "expected"), [
    (('io_type = "int8"', 'io_type = "uint8"'),
     {"tflite:digits_mlp.int8", "carray:digits_mlp.int8", "manifest:digits_mlp", *EVALUATION}),
    (("samples = 100", "samples = 50"),
     {"representative:digits_mlp", "tflite:digits_mlp.int8", "tflite:digits_mlp.int16x8",
      "carray:digits_mlp.int8", "manifest:digits_mlp", *EVALUATION}),
    (('description = "Tutorial', 'description = "Edited'), set()),
    (("epochs = 5", "epochs = 4"),
     {"savedmodel:digits_mlp", *(f"tflite:digits_mlp.{v}" for v in VARIANTS),
      "carray:digits_mlp.int8", "manifest:digits_mlp", *EVALUATION}),
], ids=["io_type", "representative", "description", "train"])
def test_an_edit_reruns_exactly_what_it_feeds(
        copy_of_built: Project, edit: tuple[str, str], expected: set[str]) -> None:
    """Each spec edit reruns exactly the tasks that read the edited key."""
    spec = copy_of_built.specs / "digits_mlp.toml"
    text = spec.read_text()
    assert edit[0] in text
    spec.write_text(text.replace(*edit))
    run = copy_of_built.doit()
    assert run.returncode == 0, run.output
    assert set(run.executed) == expected


def test_adding_a_spec_builds_only_the_new_model(copy_of_built: Project) -> None:
    """A new spec file adds a model; the built one stays up to date (the project summary is redone)."""
    from tests.support import SPECS

    shutil.copy(SPECS / "digits_cnn.toml", copy_of_built.specs)
    run = copy_of_built.doit()
    assert run.returncode == 0, run.output
    assert run.executed and all("digits_cnn" in task for task in run.executed if task != "summary")
    assert (copy_of_built.build / "digits_cnn" / "int8.tflite").is_file()


def test_forget_reruns_the_task_and_identical_bytes_stop_there(copy_of_built: Project) -> None:
    """After `doit forget` a task reruns; equal output bytes leave its dependents up to date."""
    assert copy_of_built.doit("forget", "tflite:digits_mlp.int8").returncode == 0
    run = copy_of_built.doit()
    assert run.executed == ["tflite:digits_mlp.int8"]


def test_clean_removes_targets_and_rebuild_is_byte_identical(copy_of_built: Project) -> None:
    """`doit clean` removes every target; a clean rebuild gives the same .tflite bytes."""
    before = digests(copy_of_built.build)
    assert copy_of_built.doit("clean").returncode == 0
    assert list(copy_of_built.build.glob("*/*.tflite")) == []
    assert not (copy_of_built.build / "digits_mlp" / "saved_model").exists()
    run = copy_of_built.doit()
    assert run.returncode == 0, run.output
    assert digests(copy_of_built.build) == before


def test_bad_spec_fails_alone(tmp_path: Path) -> None:
    """A broken spec fails with its message; the good spec still builds; doit exits non-zero."""
    project = make_project(tmp_path / "p")
    from tests.support import SPECS

    fast = (SPECS / "digits_mlp.toml").read_text().replace("epochs = 5",
                                                                         "epochs = 1")
    project.add_spec("good", fast)
    project.add_spec("broken", fast.replace('quantize = "int16x8"', 'quantize = "int3"'))
    run = project.doit()
    assert run.returncode != 0
    assert ('modelspecs/broken.toml: variant[4].quantize: expected one of none, dynamic, '
            'float16, int8, int16x8, int4_weights; got "int3"') in run.output
    assert (project.build / "good" / "int8.tflite").is_file()
    assert "spec:broken" in run.executed


SAME_BYTES_FROM_CACHED_CONVERTERS = """
import json
from tflmake.builders.tflite import _saved_model_converter, configure, make_converter
from tflmake.ml.tensorflow import import_tensorflow
from tflmake.npzio import load_npz
from tflmake.paths import Layout
from tflmake.spec.load import load_spec

spec, layout = load_spec("modelspecs/digits_mlp.toml"), Layout("build")
samples = load_npz(layout.representative("digits_mlp"))["x"]
directory = layout.saved_model_dir("digits_mlp")
same = {}
for variant in spec.variants:
    cached = make_converter(spec, directory)
    fresh = import_tensorflow().lite.TFLiteConverter.from_saved_model(directory)
    for converter in (cached, fresh):
        configure(converter, variant, samples)
    same[variant.name] = bytes(cached.convert()) == bytes(fresh.convert())
print(json.dumps({"same": same, "loads": _saved_model_converter.cache_info().misses}))
"""


def test_cached_saved_model_converter_converts_to_the_bytes_of_a_fresh_one(built_mlp: Project) -> None:
    """One SavedModel load serves every variant, and each variant's bytes equal a fresh converter's."""
    run = subprocess.run([sys.executable, "-c", SAME_BYTES_FROM_CACHED_CONVERTERS], cwd=built_mlp.root,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"same": dict.fromkeys(VARIANTS, True), "loads": 1}


def outdated_records(project: Project) -> list[str]:
    """Files whose mtime in doit's state DB (as a task's input or output) differs from the file's own."""
    with sqlite3.connect(project.build / ".doit.db") as db:
        records = [json.loads(data) for (data,) in db.execute("select task_data from doit")]
    outdated = []
    for record in records:
        inputs = {path: state[0] for path, state in record.items() if (project.root / path).is_file()}
        outputs = {path: state[1] / 1e9 for path, state in record.get("_values_:", {}).get("targets", {}).items()}
        outdated += [path for path, mtime in {**inputs, **outputs}.items()
                     if abs((project.root / path).stat().st_mtime - mtime) > 1e-6]
    return sorted(set(outdated))


def test_refresh_records_restored_timestamps_so_no_ops_stop_hashing(copy_of_built: Project) -> None:
    """After build/ gets new mtimes (a copy, a cache restore), refresh saves them; nothing rebuilds."""
    later = time.time() + 60
    for path in copy_of_built.build.rglob("*"):
        if path.is_file():
            os.utime(path, (later, later))
    assert copy_of_built.doit().executed == []
    assert outdated_records(copy_of_built), "doit saves nothing for up-to-date tasks"
    refresh = copy_of_built.tflmake("refresh")
    assert refresh.returncode == 0 and "refreshed 13 up-to-date tasks" in refresh.output, refresh.output
    assert outdated_records(copy_of_built) == []
    assert copy_of_built.doit().executed == []


def test_parallel_build_matches_serial_and_leaves_a_no_op(built_mlp: Project, tmp_path: Path) -> None:
    """`doit -n 2` (process pool) writes the serial build's bytes and saves state a serial run accepts."""
    parallel = make_project(tmp_path / "parallel", "digits_mlp")
    run = parallel.doit("-n", "2")
    assert run.returncode == 0, run.output
    assert digests(parallel.build) == digests(built_mlp.build)
    again = parallel.doit()
    assert again.returncode == 0 and again.executed == [], again.output


def test_report_entries_have_exactly_the_typed_keys(built_mlp: Project) -> None:
    """report.json as evaluate writes it matches report.entry.ReportEntry (what mypy checks readers against)."""
    import typing

    from tflmake.report.entry import MicroMeasures, ReportEntry, TestSet

    typed = set(typing.get_type_hints(ReportEntry)) - {"name", "tensors"}  # readers add name; tensors: multi-I/O
    # Only variants that have them: a C front end, an Ethos-U accelerator, keep_float_search, signing
    # on, a signed or encrypted bundle. digits has no front end and this spec none of the others.
    optional = {"front_end", "ethos_u", "float_search", "signed", "firmware_crypto"}
    assert optional <= typed
    report = json.loads((built_mlp.build / "digits_mlp" / "report.json").read_text())
    for name, entry in report["variants"].items():
        assert set(entry) == typed - optional, name
    micro = report["variants"]["int8"]["micro"]
    assert set(micro) == set(typing.get_type_hints(MicroMeasures))
    assert set(report["test_set"]) == set(typing.get_type_hints(TestSet))
    assert report["test_set"]["samples"] == report["test_samples"]
