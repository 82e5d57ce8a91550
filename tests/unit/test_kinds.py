"""The kind tables own every kind: the schema's enums, the builders' tables and the task graph agree with them."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import write_spec
from tflmake.kinds import (
    ACCELERATORS,
    BACKENDS,
    DATASET_KINDS,
    EVALUATION_TASKS,
    METRICS,
    QUANTIZE_MODES,
    SELECT_CRITERIA,
    SOURCE_KINDS,
    TASK_KINDS,
    backend_modes,
)
from tflmake.spec.schema import spec_schema


def schema_enum(*path: str) -> list[str]:
    node = spec_schema()
    for key in path:
        node = node[key]
    return list(node["enum"])


def test_schema_enums_equal_the_kind_tables() -> None:
    """A kind added to the schema but not the table (or the other way round) fails here."""
    assert schema_enum("$defs", "source", "properties", "type") == list(SOURCE_KINDS)
    assert schema_enum("$defs", "dataset", "properties", "type") == list(DATASET_KINDS)
    assert schema_enum("$defs", "variant", "properties", "quantize") == list(QUANTIZE_MODES)
    assert schema_enum("$defs", "variant", "properties", "backend") == list(BACKENDS) == \
        list(dict.fromkeys(backend for mode in QUANTIZE_MODES.values() for backend in mode.backends))
    assert schema_enum("properties", "evaluation", "properties", "task") == list(EVALUATION_TASKS)
    assert set(spec_schema()["$defs"]["gates"]["properties"]) == {m.gate for m in METRICS.values() if m.gate}
    assert schema_enum("$defs", "variant", "properties", "io_type") == \
        list(dict.fromkeys(t for mode in QUANTIZE_MODES.values() for t in mode.io_types))
    assert schema_enum("$defs", "variant", "properties", "accelerator") == list(ACCELERATORS)
    assert schema_enum("properties", "select", "properties", "minimize") == list(SELECT_CRITERIA)


def test_builder_tables_cover_exactly_their_kinds() -> None:
    """Each builder table has one entry per kind it serves, and no other (imports no TensorFlow)."""
    from tflmake.builders.dataset import LOADERS
    from tflmake.builders.tflite import CONVERTER_FLAGS
    from tflmake.ml.keras_model import KERAS_MODEL_MAKERS
    from tflmake.ml.litert_quantizer import RECIPES
    from tflmake.report.evaluation_tasks import MEASURES
    from tflmake.report.summary import QUALITY_COLUMNS

    assert set(LOADERS) == set(DATASET_KINDS)
    assert set(KERAS_MODEL_MAKERS) == {name for name, kind in SOURCE_KINDS.items() if kind.keras}
    assert tuple(CONVERTER_FLAGS) == backend_modes("converter")
    assert tuple(RECIPES) == backend_modes("litert_quantizer")
    assert list(MEASURES) == list(QUALITY_COLUMNS) == list(EVALUATION_TASKS)


def test_the_builder_tables_load_without_tensorflow() -> None:
    """The tables are read by tests and tools that must not pay for TensorFlow (fresh interpreter)."""
    code = ("import sys\n"
            "import tflmake.builders.dataset, tflmake.builders.savedmodel, tflmake.builders.tflite\n"
            "import tflmake.ml.litert_quantizer, tflmake.report.evaluation_tasks, tflmake.report.summary\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stdout.split() == ["False", "False"], run.stderr


@pytest.mark.parametrize("basename", [name for name, kind in TASK_KINDS.items() if kind.arity != "spec"])
def test_every_task_kind_has_a_builder_named_like_it(basename: str) -> None:
    """The runner imports tflmake.builders.<basename>: it must exist and have a build function."""
    assert callable(importlib.import_module(f"tflmake.builders.{basename}").build)


def every_kind_spec(folder: Path) -> str:
    """A spec touching many kinds: a python source with a sources folder, npz data, a recipe file."""
    (folder / "net.py").write_text("import helper\n")
    (folder / "helper.py").write_text("")
    (folder / "assets").mkdir()
    (folder / "assets" / "labels.txt").write_text("a\n")
    (folder / "data.npz").write_bytes(b"")
    (folder / "recipe.json").write_text("[]")
    return """
[model.source]
type = "python"
entry = "net:build"
sources = ["assets"]
[dataset]
type = "npz"
path = "data.npz"
[[variant]]
name = "float32"
[[variant]]
name = "int8"
quantize = "int8"
backend = "litert_quantizer"
recipe = "recipe.json"
c_array = true
[[variant]]
name = "pruned"
quantize = "int8"
prune = { sparsity = 0.5 }
"""


def test_every_user_file_a_task_reads_is_in_the_task_cache_facts(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A file_dep outside build/ that the cache's facts do not list would go silently stale."""
    from tflmake.graph.tasks import file_facts, model_tasks
    from tflmake.paths import Layout
    from tflmake.spec.load import load_spec

    monkeypatch.chdir(tmp_path)
    spec = load_spec(write_spec(tmp_path, every_kind_spec(tmp_path)))
    _, inputs = file_facts(spec)
    user_files = {dep for task in model_tasks(spec, Layout("build")) for dep in task.get("file_dep", [])
                  if not dep.startswith("build/")}
    assert user_files == set(inputs)
    assert {"net.py", "helper.py", "assets/labels.txt", "data.npz", "recipe.json"} <= user_files


@pytest.mark.parametrize("mode", [name for name, mode in QUANTIZE_MODES.items() if not mode.micro])
def test_c_array_on_a_mode_tflm_cannot_run_is_refused_by_validate(tmp_path: Path, mode: str) -> None:
    """`dynamic` + c_array used to pass validate and fail 64 arena probes later."""
    from tests.support import MINIMAL_SPEC, spec_problems

    backend = 'backend = "litert_quantizer"\n' if "converter" not in QUANTIZE_MODES[mode].backends else ""
    text = MINIMAL_SPEC + f'[[variant]]\nname = "fw"\nquantize = "{mode}"\n{backend}c_array = true\n'
    problems = spec_problems(tmp_path, text)
    assert any(p.startswith(f'variant[1].c_array: quantize = "{mode}" cannot run on TFLite Micro')
               for p in problems), problems
