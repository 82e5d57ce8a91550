"""The vela builder's pure parts: Vela's command line and its summary CSV read into plain units."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import MINIMAL_SPEC, write_spec
from tflmake.builders.vela import read_estimates, vela_arguments
from tflmake.errors import BuildError
from tflmake.spec.load import ModelSpec, load_spec

# What Vela 5.2 wrote for digits_cnn's int8 model on an ethos-u55-128 (Ethos_U55_High_End_Embedded, Shared_Sram).
SUMMARY = (Path(__file__).parents[2] / "data" / "vela" / "summary_ethos_u55_128.csv").read_text()


def spec(tmp_path: Path, keys: str = "") -> ModelSpec:
    text = MINIMAL_SPEC + f'\n[[variant]]\nname = "npu"\nquantize = "int8"\naccelerator = "ethos-u55-128"\n{keys}'
    return load_spec(write_spec(tmp_path, text))


def test_vela_is_told_every_option_explicitly(tmp_path: Path) -> None:
    """No Vela default is left implicit: the accelerator's system config and memory mode are passed."""
    arguments = vela_arguments(spec(tmp_path), spec(tmp_path).variant("npu"), "build/m/npu.tflite", "out")
    assert arguments[1:] == ["-m", "ethosu.vela", "build/m/npu.tflite", "--output-dir", "out",
                             "--accelerator-config", "ethos-u55-128", "--config", "Arm/vela.ini",
                             "--system-config", "Ethos_U55_High_End_Embedded", "--memory-mode", "Shared_Sram"]


def test_a_vela_config_file_replaces_vela_s_own(tmp_path: Path) -> None:
    (tmp_path / "npu.ini").write_text("")
    loaded = spec(tmp_path, 'vela_config = "npu.ini"\nsystem_config = "Mine"\nmemory_mode = "Sram_Only"')
    arguments = vela_arguments(loaded, loaded.variant("npu"), "in.tflite", "out")
    assert arguments[arguments.index("--config") + 1] == (tmp_path / "npu.ini").as_posix()
    assert arguments[-4:] == ["--system-config", "Mine", "--memory-mode", "Sram_Only"]


def test_the_summary_csv_becomes_cycles_time_and_bytes(tmp_path: Path) -> None:
    estimates = read_estimates(SUMMARY, spec(tmp_path).variant("npu"))
    assert estimates == {
        "accelerator": "ethos-u55-128", "system_config": "Ethos_U55_High_End_Embedded",
        "memory_mode": "Shared_Sram", "npu": "Ethos-U55", "macs_per_cycle": 128,
        "core_clock_hz": 500_000_000, "npu_cycles": 2803, "total_cycles": 7041,
        "inference_ms": pytest.approx(0.014082), "inferences_per_second": pytest.approx(71012.64, rel=1e-6),
        "macs": 9556, "sram_bytes": 1152, "dram_bytes": 0, "on_chip_flash_bytes": 0,
        "off_chip_flash_bytes": 6368}


def test_a_summary_without_a_column_is_a_build_error_naming_it(tmp_path: Path) -> None:
    header, row = SUMMARY.splitlines()[:2]
    columns = header.split(",")
    dropped = columns.index("cycles_npu")
    text = ",".join(c for i, c in enumerate(columns) if i != dropped) + "\n" + \
        ",".join(c for i, c in enumerate(row.split(",")) if i != dropped) + "\n"
    with pytest.raises(BuildError, match="cycles_npu"):
        read_estimates(text, spec(tmp_path).variant("npu"))
