"""Ethos-U NPU variants built for real: Vela compiles the digits CNN for an Ethos-U55 and an Ethos-U65."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import Project, require_tool
from tflmake.tflite.opcodes import ETHOS_U_OPERATOR, operator_names

pytestmark = pytest.mark.integration

ACCELERATORS = {"int8_u55": "ethos-u55-128", "int8_u65": "ethos-u65-256"}
NPU_VARIANTS = "".join(f"""
[[variant]]
name = "{name}"
quantize = "int8"
io_type = "int8"
c_array = true
accelerator = "{accelerator}"
""" for name, accelerator in ACCELERATORS.items())


@pytest.fixture(scope="module")
def built_npu(built_pair: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the session's built pair whose digits_cnn gains the two NPU variants, built once."""
    pytest.importorskip("ethosu.vela", reason="pip install 'tflmake[npu]' (ethos-u-vela)")
    root = tmp_path_factory.mktemp("npu") / "project"
    shutil.copytree(built_pair.root, root, symlinks=True)
    project = Project(root)
    cnn = project.specs / "digits_cnn.toml"
    cnn.write_text(cnn.read_text() + NPU_VARIANTS)
    run = project.doit()
    assert run.returncode == 0, run.output
    assert {f"vela:digits_cnn.{name}" for name in ACCELERATORS} <= set(run.executed)
    return project


@pytest.fixture
def npu_copy(built_npu: Project, tmp_path: Path) -> Project:
    shutil.copytree(built_npu.root, tmp_path / "project", symlinks=True)
    return Project(tmp_path / "project")


def cnn_file(project: Project, name: str) -> Path:
    return project.build / "digits_cnn" / name


@pytest.mark.parametrize("variant", sorted(ACCELERATORS))
def test_vela_runs_the_convolutions_on_the_npu(built_npu: Project, variant: str) -> None:
    """The Vela model's operator codes: the int8 model's CONV_2D is gone, Vela's ethos-u op is there."""
    original = operator_names(cnn_file(built_npu, f"{variant}.tflite").read_bytes())
    compiled = operator_names(cnn_file(built_npu, f"{variant}_vela.tflite").read_bytes())
    assert "CONV_2D" in original
    assert ETHOS_U_OPERATOR in compiled and "CONV_2D" not in compiled
    estimates = json.loads(cnn_file(built_npu, f"{variant}_vela.json").read_text())
    assert estimates["accelerator"] == ACCELERATORS[variant]
    assert estimates["npu_ops"] == len(original) and estimates["cpu_ops"] == []


@pytest.mark.parametrize("variant", sorted(ACCELERATORS))
def test_vela_s_estimates_are_in_the_report_and_the_firmware_json(built_npu: Project, variant: str) -> None:
    report = json.loads(cnn_file(built_npu, "report.json").read_text())["variants"]
    firmware = json.loads(cnn_file(built_npu, f"{variant}_firmware.json").read_text())
    for npu in (report[variant]["ethos_u"], firmware["ethos_u"]):
        assert npu["npu_cycles"] > 0 and npu["total_cycles"] >= npu["npu_cycles"]
        assert npu["inference_ms"] > 0 and npu["core_clock_hz"] > 0 and npu["sram_bytes"] > 0
    assert firmware["ops"] == [ETHOS_U_OPERATOR] and firmware["arena_bytes_measured"] is None
    assert firmware["arena_bytes"] > firmware["arena_bytes_estimated"] > 0
    # The host measured the same int8 model a plain int8 variant has.
    assert report[variant]["accuracy"] == report["int8"]["accuracy"]
    assert report[variant]["sha256"] == report["int8"]["sha256"]
    markdown = cnn_file(built_npu, "report.md").read_text()
    assert f"- {variant} on Ethos-U" in markdown and "before Vela" in markdown


def test_the_op_resolver_registers_the_ethos_u_operator(built_npu: Project) -> None:
    resolver = cnn_file(built_npu, "int8_u55_op_resolver.h").read_text()
    assert "resolver.AddEthosU()" in resolver and "AddConv2D" not in resolver


def test_a_second_run_executes_nothing(npu_copy: Project) -> None:
    run = npu_copy.doit()
    assert run.returncode == 0, run.output
    assert run.executed == []


def test_changing_only_the_accelerator_reruns_only_that_variant_s_npu_tasks(npu_copy: Project) -> None:
    """No conversion: Vela, the bundle and what reads them (manifest, evaluation, reports)."""
    cnn = npu_copy.specs / "digits_cnn.toml"
    before = cnn_file(npu_copy, "int8_u55_vela.tflite").read_bytes()
    cnn.write_text(cnn.read_text().replace('"ethos-u55-128"', '"ethos-u55-256"'))
    run = npu_copy.doit()
    assert run.returncode == 0, run.output
    assert set(run.executed) == {"vela:digits_cnn.int8_u55", "carray:digits_cnn.int8_u55", "manifest:digits_cnn",
                                 "evaluate:digits_cnn", "report:digits_cnn", "summary"}
    assert cnn_file(npu_copy, "int8_u55_vela.tflite").read_bytes() != before


def test_the_ethos_u_bundle_compiles_for_cortex_m55(built_npu: Project, tmp_path: Path) -> None:
    compiler = require_tool("arm-none-eabi-gcc")
    for variant in ACCELERATORS:
        result = subprocess.run(
            [compiler, "-mcpu=cortex-m55", "-mthumb", "-std=c99", "-Wall", "-Wextra", "-Werror", "-c",
             f"{variant}_model_data.c", "-o", str(tmp_path / f"{variant}.o")],
            cwd=built_npu.build / "digits_cnn", capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
