"""The input contract of a model: every step from raw data to its input tensor, as recorded facts.

Front-end types (audio, images, CSV windows) describe their own steps; every other
data set type is raw arrays divided by `dataset.scale`. A `dataset.shape` adds a
reshape, and the bundle's last step is always the input tensor's quantization.
"""

from __future__ import annotations

from typing import Any

from tflmake.frontend.table import FRONT_ENDS, Contract
from tflmake.spec.sections import DatasetSection
from tflmake.tflite.quantize import Quantization


def input_contract(dataset: DatasetSection) -> Contract:
    """Raw data to the model's float input (before quantization), for any data set type."""
    front_end = FRONT_ENDS.get(dataset["type"])
    if front_end is not None:
        contract = front_end.contract(dataset)
    else:
        scale = float(dataset.get("scale", 1.0))
        contract = {"type": dataset["type"], "raw": {"dtype": "float32", "layout": "the data set's arrays"},
                    "steps": [{"op": "divide", "by": scale, "why": "dataset.scale"}], "scale": scale}
    if "shape" in dataset:
        contract = {**contract, "steps": [*contract["steps"],
                                          {"op": "reshape", "shape": list(dataset["shape"]),
                                           "why": "dataset.shape (row-major: the order of values is kept)"}]}
    return contract


def with_quantization(contract: Contract, quantization: Quantization) -> Contract:
    """The contract ending in the input tensor: the quantize step when the input is quantized."""
    step: dict[str, Any]
    if quantization.quantized:
        step = {"op": "quantize", "dtype": quantization.dtype.name, "scale": quantization.scale,
                "zero_point": quantization.zero_point,
                "rule": "q = round_half_away_from_zero(x / scale) + zero_point, saturated to the type"}
    else:
        step = {"op": "feed", "dtype": quantization.dtype.name, "rule": "x as it is"}
    return {**contract, "steps": [*contract["steps"], step]}


def describe(contract: Contract) -> list[str]:
    """One line per step, for the C headers' comments."""
    lines = [f"raw: {_facts(contract['raw'])}"]
    for number, step in enumerate(contract["steps"], start=1):
        facts = {key: value for key, value in step.items() if key != "op"}
        lines.append(f"{number}. {step['op']}: {_facts(facts)}")
    return lines


def _facts(facts: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in facts.items())
