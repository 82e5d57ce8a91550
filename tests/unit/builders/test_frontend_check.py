"""How the build judges a C front end's outputs against the training features."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tflmake.builders.frontend_check import agreement, shortfalls
from tflmake.tflite.quantize import Quantization

INT8 = Quantization(np.dtype("int8"), 0.1, 0)


def test_quantized_agreement_counts_equal_elements_and_the_largest_step() -> None:
    """Equal means the same integer; the largest difference is in quantization steps."""
    measured = agreement(np.array([[1, 2, 3, 4]], np.int8), np.array([[1, 2, 3, 5]], np.int8), INT8)
    assert measured["equal"] == 3 and measured["equal_fraction"] == 0.75 and measured["max_abs_diff"] == 1


def test_float_agreement_tolerates_rounding_only() -> None:
    """Float inputs: within 1e-4 + 1e-3 relative counts as equal, 0.01 off does not."""
    floats = Quantization(np.dtype("float32"), 0.0, 0)
    measured = agreement(np.array([[1.00001, 2.0]], np.float32), np.array([[1.0, 2.01]], np.float32), floats)
    assert measured["equal"] == 1 and measured["unit"] == "real units"


def test_shortfalls_name_each_missed_goal() -> None:
    """Under 99.5 % equal, a 2-step miss and a 1 pt accuracy gap are each reported."""
    measured = {"host": {"equal_fraction": 0.99, "max_abs_diff": 2.0, "unit": "quantization steps"},
                "micro": {"accuracy": 0.80}}
    missed = shortfalls(measured, 0.81)
    assert len(missed) == 3 and "99.00%" in missed[0] and "2 steps" in missed[1] and "LiteRT" in missed[2]


def test_a_front_end_meeting_its_goals_has_no_shortfall() -> None:
    """100 % equal and the same accuracy as LiteRT: nothing to warn about; an unrun check neither."""
    measured = {"host": {"equal_fraction": 1.0, "max_abs_diff": 0.0, "unit": "quantization steps"},
                "micro": {"accuracy": 0.9}}
    assert shortfalls(measured, 0.9) == [] and shortfalls({"host": None}, 0.9) == []


def test_without_a_host_compiler_only_that_measurement_is_skipped_and_said(tmp_path: Path) -> None:
    """No cc: the front end is not run, the report says why, and nothing else is measured wrongly."""
    from tests.support import data_set_spec
    from tflmake.builders.frontend_check import NO_COMPILER, check_front_end
    from tflmake.frontend import csvwindow
    from tflmake.paths import Layout
    from tflmake.spec.load import load_spec

    (tmp_path / "s.csv").write_text("a,y\n1,0\n2,0\n")
    spec = load_spec(data_set_spec(tmp_path, '[dataset]\ntype = "csv"\npath = "s.csv"\ncolumns = ["a"]\n'
                                             'label_column = "y"\nwindow = 2\n'))
    layout = Layout(str(tmp_path / "build"))
    assert spec.dataset is not None
    header, source = csvwindow.render("demo_v", csvwindow.contract(spec.dataset), INT8)
    for path, text in zip(layout.frontend_sources("demo", "v"), (header, source), strict=True):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)

    def never(features: np.ndarray) -> dict[str, float]:
        raise AssertionError("TFLite Micro must not run without the front end's outputs")

    measured = check_front_end(spec, layout, "v", np.zeros((3, 2), np.float32), np.zeros((3, 2, 1), np.float32),
                               INT8, never, None)
    assert measured["host"] is None and measured["skipped"] == NO_COMPILER and "micro" not in measured
    assert measured["samples"] == 3 and "install gcc" in NO_COMPILER
