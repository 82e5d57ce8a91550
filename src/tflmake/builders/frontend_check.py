"""Measure a variant's generated C front end in the evaluation: raw test data → C → TFLite Micro.

The C front end is compiled for this machine and run over the raw test split; its
outputs are compared element by element with the training features as the model
takes them (quantized), then fed to TFLite Micro so the report can put the
end-to-end accuracy next to LiteRT's on the same samples. Built for Cortex-M4
too when arm-none-eabi-gcc is present, for its flash and RAM.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tflmake.frontend import harness
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec
from tflmake.tflite.quantize import Quantization, dequantize, quantize

# Float inputs: an element counts as equal within this much (absolute) plus this fraction of its value.
FLOAT_ABSOLUTE, FLOAT_RELATIVE = 1e-4, 1e-3
# The goals the report checks the measurement against (issue 20): share of equal input elements,
# the largest difference in quantization steps, the end-to-end accuracy's distance from LiteRT's.
GOAL_EQUAL_FRACTION, GOAL_MAX_STEPS, GOAL_ACCURACY_POINTS = 0.995, 1, 0.5
NO_COMPILER = "no host C compiler ($CC or cc) on PATH: the C front end was not run; install gcc to measure it"


def check_front_end(spec: ModelSpec, layout: Layout, variant: str, raw: np.ndarray, x: np.ndarray,
                    quantization: Quantization, run_model: Any, compiler: str | None) -> dict[str, Any]:
    """What the report says of one variant's front end.

    Args:
        compiler: the host C compiler (harness.host_compiler()); None skips the run on this machine.
        raw: the test split as raw data (dataset.npz `raw_test`), batch first.
        x: the same samples' training features as the model takes them (float, scaled).
        run_model: features (shaped like `x`) -> the TFLite Micro task measures of the variant.
    """
    header, source = layout.frontend_sources(spec.name, variant)
    measured: dict[str, Any] = {"files": [header, source], "samples": int(len(raw))}
    size = harness.cortex_m4_size(source, header)
    measured["cortex_m4"] = None if size is None else {
        "compiler": size.compiler, "flash_bytes": size.flash_bytes, "ram_bytes": size.ram_bytes}
    if compiler is None:
        return {**measured, "host": None, "skipped": NO_COMPILER}
    outputs = harness.run_on_host(compiler, f"{spec.name}_{variant}", header, source, raw, quantization.dtype)
    expected = quantize(x.reshape(len(x), -1), quantization)
    measured["host"] = {"compiler": compiler, **agreement(outputs, expected, quantization)}
    features = dequantize(outputs, quantization).astype(np.float32).reshape(x.shape)
    measured["micro"] = run_model(features)
    return measured


def agreement(outputs: np.ndarray, expected: np.ndarray, quantization: Quantization) -> dict[str, Any]:
    """How many elements the C front end got equal to the training features, and the largest miss."""
    difference = np.abs(outputs.astype(np.float64) - expected.astype(np.float64))
    if quantization.quantized:
        equal = difference == 0
    else:
        equal = difference <= FLOAT_ABSOLUTE + FLOAT_RELATIVE * np.abs(expected.astype(np.float64))
    return {"elements": int(difference.size), "equal": int(equal.sum()),
            "equal_fraction": float(equal.mean()) if difference.size else 1.0,
            "max_abs_diff": float(difference.max()) if difference.size else 0.0,
            "unit": "quantization steps" if quantization.quantized else "real units"}


def shortfalls(measured: dict[str, Any], litert_accuracy: float | None) -> list[str]:
    """The goals a front end measurement misses, one phrase each (empty: it meets them all)."""
    host = measured.get("host")
    if not host:
        return []
    missed = []
    if host["equal_fraction"] < GOAL_EQUAL_FRACTION:
        missed.append(f"{host['equal_fraction']:.2%} of input elements equal the training features "
                      f"(goal {GOAL_EQUAL_FRACTION:.1%})")
    if host["unit"] == "quantization steps" and host["max_abs_diff"] > GOAL_MAX_STEPS:
        missed.append(f"an input element is off by {host['max_abs_diff']:g} steps (goal at most {GOAL_MAX_STEPS})")
    accuracy = (measured.get("micro") or {}).get("accuracy")
    if accuracy is not None and litert_accuracy is not None and \
            abs(accuracy - litert_accuracy) * 100 > GOAL_ACCURACY_POINTS:
        missed.append(f"raw → C → TFLite Micro accuracy {accuracy:.2%} is more than {GOAL_ACCURACY_POINTS} pt "
                      f"from LiteRT's {litert_accuracy:.2%}")
    return missed
