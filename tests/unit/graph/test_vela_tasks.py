"""The vela task: what it reads and writes, its key, and what an accelerator change re-runs."""

from __future__ import annotations

from pathlib import Path

from tests.support import MLP, fingerprints, tasks_of
from tflmake.graph.tasks import input_files
from tflmake.spec.load import load_spec

# digits_mlp's int8 variant (c_array = true) on an Ethos-U55.
U55 = MLP.replace('io_type = "int8"\nc_array = true', 'io_type = "int8"\nc_array = true\naccelerator = "ethos-u55-128"')


def test_the_vela_task_reads_the_int8_tflite_and_writes_the_vela_model_and_its_estimates(tmp_path: Path) -> None:
    assert U55 != MLP
    task = tasks_of(tmp_path, U55)["vela:digits_mlp.int8"]
    assert task["file_dep"] == ["build/digits_mlp/int8.tflite"]
    assert task["targets"] == ["build/digits_mlp/int8_vela.tflite", "build/digits_mlp/int8_vela_summary.csv",
                               "build/digits_mlp/int8_vela.json"]
    key = task["uptodate"][0].config
    assert key["vela"] == {"accelerator": "ethos-u55-128", "system_config": "Ethos_U55_High_End_Embedded",
                           "memory_mode": "Shared_Sram"}
    assert set(key["tools"]) == {"ethos-u-vela"}


def test_only_variants_with_an_accelerator_get_a_vela_task(tmp_path: Path) -> None:
    assert not [name for name in tasks_of(tmp_path) if name.startswith("vela:")]
    assert [name for name in tasks_of(tmp_path, U55) if name.startswith("vela:")] == ["vela:digits_mlp.int8"]


def test_the_bundle_and_the_evaluation_read_the_vela_outputs(tmp_path: Path) -> None:
    """The bundle carries the Vela model; the evaluation reports its estimates."""
    tasks = tasks_of(tmp_path, U55)
    assert {"build/digits_mlp/int8_vela.tflite", "build/digits_mlp/int8_vela.json",
            "build/digits_mlp/int8.tflite"} <= set(tasks["carray:digits_mlp.int8"]["file_dep"])
    assert "build/digits_mlp/int8_vela.json" in tasks["evaluate:digits_mlp"]["file_dep"]
    assert "build/digits_mlp/int8_vela.tflite" in tasks["manifest:digits_mlp"]["file_dep"]


def test_changing_the_accelerator_changes_only_that_variant_s_vela_key(tmp_path: Path) -> None:
    """The conversion and every other task keep their keys; downstream re-runs by content."""
    before = fingerprints(tasks_of(tmp_path, U55))
    after = fingerprints(tasks_of(tmp_path, U55.replace("ethos-u55-128", "ethos-u65-256")))
    assert {name for name in before if before[name] != after[name]} == {"vela:digits_mlp.int8"}


def test_adding_an_accelerator_leaves_the_conversion_key_alone(tmp_path: Path) -> None:
    before = fingerprints(tasks_of(tmp_path))
    after = fingerprints(tasks_of(tmp_path, U55))
    assert before["tflite:digits_mlp.int8"] == after["tflite:digits_mlp.int8"]


def test_a_vela_config_file_is_a_dependency_and_a_task_cache_input(tmp_path: Path) -> None:
    (tmp_path / "npu.ini").write_text("[System_Config.Mine]\n")
    text = U55.replace('accelerator = "ethos-u55-128"', 'accelerator = "ethos-u55-128"\nvela_config = "npu.ini"\n'
                       'system_config = "Mine"\nmemory_mode = "Shared_Sram"')
    task = tasks_of(tmp_path, text)["vela:digits_mlp.int8"]
    ini = (tmp_path / "npu.ini").as_posix()
    assert task["file_dep"] == ["build/digits_mlp/int8.tflite", ini]
    assert task["uptodate"][0].config["vela"]["vela_config"] == "npu.ini"
    assert ini in input_files(load_spec(tmp_path / "digits_mlp.toml"))
