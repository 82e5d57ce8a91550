"""The CSV-window front end: its contract, its NumPy features (the loader's) and its C."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.datafixtures import write_sensor_csv
from tests.support import data_set_spec, require_tool
from tests.unit.frontend import compile_c
from tflmake.builders.dataset import prepare_inputs
from tflmake.data.csvwindows import read_series, windows
from tflmake.frontend import csvwindow
from tflmake.spec.load import ModelSpec, load_spec
from tflmake.tflite.quantize import Quantization, quantize

TABLE = ('[dataset]\ntype = "csv"\npath = "sensor.csv"\ncolumns = ["az", "ax", "ay"]\n'
         'label_column = "activity"\nwindow = 8\nstride = 3\nscale = 2.5\n')


def sensor_spec(tmp_path: Path, table: str = TABLE) -> ModelSpec:
    write_sensor_csv(tmp_path / "sensor.csv", rows_per_run=20, runs=["walk", "run", "walk"])
    return load_spec(data_set_spec(tmp_path, table))


def test_contract_lists_every_step_with_its_constants(tmp_path: Path) -> None:
    """Columns in spec order, window and stride with the call cadence, each column's divisor, the shapes."""
    spec = sensor_spec(tmp_path)
    assert spec.dataset is not None
    contract = csvwindow.contract(spec.dataset)
    assert contract["type"] == "csv"
    assert contract["raw"] == {"dtype": "float32", "shape": [8, 3], "layout": contract["raw"]["layout"]}
    assert "az, ax, ay" in contract["raw"]["layout"] and "time-major" in contract["raw"]["layout"]
    assert contract["columns"] == ["az", "ax", "ay"]
    assert (contract["window"], contract["stride"]) == (8, 3) and "every 3 new rows" in contract["call"]
    assert [step["op"] for step in contract["steps"]] == ["window", "divide"]
    assert contract["steps"][1]["per_column"] == [{"column": name, "by": 2.5} for name in ["az", "ax", "ay"]]
    assert contract["features_shape"] == [8, 3] and contract["scale"] == 2.5


def test_stride_defaults_to_the_window(tmp_path: Path) -> None:
    """Without stride, windows do not overlap: the firmware calls every `window` rows."""
    spec = sensor_spec(tmp_path, TABLE.replace("stride = 3\n", ""))
    assert spec.dataset is not None
    assert csvwindow.contract(spec.dataset)["stride"] == 8


def test_features_of_the_firmwares_windows_equal_the_training_features(tmp_path: Path) -> None:
    """Rows fed as the firmware gets them, a call every `stride` rows once `window` are in, give the loader's x."""
    spec = sensor_spec(tmp_path)
    assert spec.dataset is not None
    contract = csvwindow.contract(spec.dataset)
    values, labels = read_series(str(tmp_path / "sensor.csv"), spec.dataset)
    first_run = values[:labels.index("run")]  # the loader windows each run of one label on its own
    calls = [first_run[end - contract["window"]:end]
             for end in range(contract["window"], len(first_run) + 1, contract["stride"])]
    label_index = {name: index for index, name in enumerate(sorted(set(labels)))}
    every_window, _ = windows(values, np.array([label_index[name] for name in labels]), spec.dataset)
    training = prepare_inputs(every_window, spec.dataset)
    assert np.array_equal(csvwindow.features(np.stack(calls), contract), training[:len(calls)])


def test_features_divide_each_column_by_its_own_scale() -> None:
    """The per-column divisors are what features() uses (a contract edited per column is honoured)."""
    contract = csvwindow.contract({"type": "csv", "columns": ["a", "b"], "window": 2, "label_column": "y",
                                   "path": "x.csv"})
    contract["steps"][1]["per_column"][1]["by"] = 4.0
    raw = np.array([[[1.0, 8.0], [2.0, 4.0]]], dtype=np.float32)
    assert csvwindow.features(raw, contract).tolist() == [[[1.0, 2.0], [2.0, 1.0]]]


@pytest.mark.parametrize("quantization", [Quantization(np.dtype(np.int8), 0.0173, 3),
                                          Quantization(np.dtype(np.int16), 0.0004, 0),
                                          Quantization(np.dtype(np.float32), 0.0, 0)], ids=str)
def test_c_front_end_agrees_with_the_quantized_features(tmp_path: Path, quantization: Quantization) -> None:
    """Compiled with the host gcc and run on random windows: >= 99.5 % of elements equal, none off by more than 1."""
    gcc = require_tool("gcc")
    contract = csvwindow.contract({"type": "csv", "columns": ["ax", "ay", "az"], "window": 16, "stride": 4,
                                   "label_column": "y", "path": "x.csv", "scale": 2.5})
    raw = np.random.default_rng(0).normal(0.0, 3.0, (200, 16, 3)).astype(np.float32)
    header, source = csvwindow.render("imu_int8", contract, quantization)
    got = compile_c.run_host(gcc, tmp_path, "imu_int8", header, source, raw, quantization.dtype)
    expected = quantize(csvwindow.features(raw, contract), quantization).reshape(len(raw), -1)
    difference = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    if quantization.quantized:
        assert np.mean(difference == 0) >= 0.995 and difference.max() <= 1
    else:
        assert np.array_equal(got, expected)


def test_header_states_every_constant() -> None:
    """The header names the window, the stride, the columns in order, the scale and the sizes."""
    contract = csvwindow.contract({"type": "csv", "columns": ["ax", "ay", "az"], "window": 16, "stride": 4,
                                   "label_column": "y", "path": "x.csv", "scale": 2.5})
    header, _ = csvwindow.render("imu_int8", contract, Quantization(np.dtype(np.int8), 0.02, 0))
    for line in ["#define IMU_INT8_FRONTEND_WINDOW 16", "#define IMU_INT8_FRONTEND_STRIDE 4",
                 "#define IMU_INT8_FRONTEND_COLUMNS 3  /* ax, ay, az */",
                 '#define IMU_INT8_FRONTEND_COLUMN_NAMES "ax,ay,az"', "#define IMU_INT8_FRONTEND_SCALE 2.5f",
                 "#define IMU_INT8_FRONTEND_RAW_ELEMENTS 48", "#define IMU_INT8_FRONTEND_OUTPUT_ELEMENTS 48",
                 "#define IMU_INT8_FRONTEND_SCRATCH_BYTES 0", "typedef float imu_int8_frontend_raw_t;",
                 "typedef int8_t imu_int8_frontend_output_t;"]:
        assert line in header


def test_c_front_end_compiles_for_cortex_m4(tmp_path: Path) -> None:
    """arm-none-eabi-gcc for a Cortex-M4 with its FPU compiles the C without a warning."""
    gcc = require_tool("arm-none-eabi-gcc")
    contract = csvwindow.contract({"type": "csv", "columns": ["ax", "ay", "az"], "window": 16,
                                   "label_column": "y", "path": "x.csv"})
    header, source = csvwindow.render("imu_int8", contract, Quantization(np.dtype(np.int8), 0.02, 0))
    try:
        assert compile_c.compile_cortex_m4(gcc, tmp_path, "imu_int8", header, source).stat().st_size > 0
    except subprocess.CalledProcessError as error:
        pytest.fail(error.stderr)
