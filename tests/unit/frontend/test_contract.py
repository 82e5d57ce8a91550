"""The input contract every bundle records: raw data to the model's input tensor, step by step."""

from __future__ import annotations

import numpy as np

from tflmake.frontend.contract import describe, input_contract, with_quantization
from tflmake.frontend.table import FRONT_ENDS
from tflmake.kinds import DATASET_KINDS
from tflmake.tflite.quantize import Quantization


def test_every_type_with_a_front_end_has_one_and_no_other_type_does() -> None:
    """The kind table's front_end fact and the table of front-end functions name the same types."""
    assert set(FRONT_ENDS) == {name for name, kind in DATASET_KINDS.items() if kind.front_end}


def test_raw_array_types_record_their_scale_and_reshape() -> None:
    """digits/npz/python: raw values divided by dataset.scale, then reshaped to dataset.shape."""
    contract = input_contract({"type": "digits", "scale": 16.0, "shape": [8, 8, 1]})  # type: ignore[typeddict-item]
    assert [step["op"] for step in contract["steps"]] == ["divide", "reshape"]
    assert contract["steps"][0]["by"] == 16.0 and contract["steps"][1]["shape"] == [8, 8, 1]


def test_raw_scale_defaults_to_one() -> None:
    """Without dataset.scale the contract still says what divides the raw values (1.0)."""
    contract = input_contract({"type": "npz", "path": "d.npz"})  # type: ignore[typeddict-item]
    assert contract["scale"] == 1.0 and contract["steps"] == [{"op": "divide", "by": 1.0, "why": "dataset.scale"}]


def test_quantized_inputs_end_in_the_quantize_step_with_its_constants() -> None:
    """The last step of an int8 input names its scale, zero point and rounding rule."""
    contract = with_quantization(input_contract({"type": "digits"}),  # type: ignore[typeddict-item]
                                 Quantization(np.dtype("int8"), 0.0625, -128))
    last = contract["steps"][-1]
    assert last["op"] == "quantize" and last["scale"] == 0.0625 and last["zero_point"] == -128
    assert "half_away_from_zero" in last["rule"]


def test_float_inputs_end_in_a_feed_step() -> None:
    """A float input takes the features as they are."""
    contract = with_quantization(input_contract({"type": "digits"}),  # type: ignore[typeddict-item]
                                 Quantization(np.dtype("float32"), 0.0, 0))
    assert contract["steps"][-1]["op"] == "feed"


def test_describe_gives_one_numbered_line_per_step() -> None:
    """The C headers' comment lists raw data, then each step numbered in order."""
    lines = describe(input_contract({"type": "digits", "scale": 16.0}))  # type: ignore[typeddict-item]
    assert lines[0].startswith("raw: ") and lines[1].startswith("1. divide: by 16.0")
