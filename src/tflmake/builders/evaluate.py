"""Build `report.json` and `tradeoff.png`: every variant measured on the test split.

Each variant runs through LiteRT, and c_array variants also through the TFLite
Micro interpreter, one sample at a time with inputs quantized and outputs
dequantized exactly as firmware does it. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tflmake import atomic, evaluation_tasks, metrics
from tflmake.builders.dataset import read_split
from tflmake.console import progress
from tflmake.emit.tradeoff import render_tradeoff
from tflmake.errors import BuildError
from tflmake.metrics import Quantization
from tflmake.opcodes import operator_names
from tflmake.optimization import pruning_options
from tflmake.paths import Layout
from tflmake.spec import ModelSpec, Variant
from tflmake.toolversions import tool_version

WARMUP_INVOKES = 5


@dataclass(frozen=True)
class Run:
    """One interpreter's pass over the test split: real-valued outputs and its tensors' formats."""

    outputs: np.ndarray
    input: Quantization
    output: Quantization
    invoke_seconds: tuple[float, ...] = ()


def build(spec: ModelSpec, layout: Layout) -> None:
    split = read_split(layout, spec.name, ("x_test", "y_test", "labels"))
    x, y = split["x_test"], split["y_test"]
    runs = {}
    for index, variant in enumerate(spec.variants, start=1):
        progress(f"    evaluating {variant.name} ({index}/{len(spec.variants)}): {len(x)} test samples, "
                 f"{spec.evaluation['latency_runs']} timed invokes")
        runs[variant.name] = run_litert(layout.tflite(spec.name, variant.name), x, spec.evaluation["latency_runs"])
    reference = spec.reference_variant
    report = {
        "model": spec.name,
        "spec": {"path": spec.spec_path, "evaluation": spec.evaluation,
                 "variants": [{**v.fragment(), "c_array": v.c_array} for v in spec.variants]},
        "tools": {"tensorflow": tool_version("tensorflow"), "keras": tool_version("keras"),
                  "ai_edge_litert": tool_version("ai-edge-litert"),
                  "tflite_micro": tool_version("tflite-micro")},
        "task": spec.evaluation["task"],
        "reference": reference.name if reference else None,
        "test_samples": int(len(x)),
        "keras_layers": read_stamp(layout.saved_model_stamp(spec.name)).get("keras_layers"),
        "variants": {},
    }
    for variant in spec.variants:
        report["variants"][variant.name] = measure_variant(
            spec, layout, variant, runs, x, y)
    _add_reference_comparisons(report)
    _keep_previous(layout, spec.name)
    atomic.write_text(layout.report_json(spec.name), json.dumps(report, indent=2) + "\n")
    atomic.write_bytes(layout.tradeoff_png(spec.name), render_tradeoff(report))


def measure_variant(spec: ModelSpec, layout: Layout, variant: Variant, runs: dict[str, Run],
                    x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Every number the report gives for one variant (those relative to the float model later)."""
    path = layout.tflite(spec.name, variant.name)
    data = Path(path).read_bytes()
    run = runs[variant.name]
    reference = spec.reference_variant
    arena = read_arena_bytes(layout.firmware_manifest(spec.name, variant.name))
    median, p90 = metrics.latency_stats(run.invoke_seconds)
    ops = operator_names(data)
    entry: dict[str, Any] = {
        "quantize": variant.quantize, "io_type": variant.io_type, "c_array": variant.c_array,
        "path": path, "size_bytes": len(data), "size_ratio": None,
        "gzip_bytes": len(gzip.compress(data, compresslevel=9, mtime=0)),
        "sha256": hashlib.sha256(data).hexdigest(),
        "input": _describe(run.input), "output": _describe(run.output),
        **task_metrics(spec, run.outputs, y, x),
        "agreement": None, "max_abs_diff": None, "mean_abs_diff": None,
        "latency_ms_median": median, "latency_ms_p90": p90,
        "latency_runs": len(run.invoke_seconds), "arena_bytes": arena,
        "ops": ops, "op_count": len(ops), "micro": None,
        "backend": variant.backend, "keep_float": list(variant.keep_float),
        "sparsity": None, "prune": variant.prune, "qat": variant.qat,
    }
    if variant.prune:
        entry["sparsity"] = read_stamp(layout.pruned_stamp(spec.name, pruning_options(spec, variant))
                                       ).get("sparsity")
    if reference is not None:
        reference_outputs = runs[reference.name].outputs
        if evaluation_tasks.TASKS[spec.evaluation["task"]].compares_top1:
            entry["agreement"] = metrics.top1_agreement(run.outputs, reference_outputs)
        entry["max_abs_diff"], entry["mean_abs_diff"] = metrics.abs_differences(
            run.outputs, reference_outputs)
    if variant.c_array:
        micro = run_micro(path, x, arena_size=max(10 * len(data), 2 * (arena or 0)))
        entry["micro"] = {**task_metrics(spec, micro.outputs, y, x),
                          "agreement_with_litert": metrics.top1_agreement(micro.outputs,
                                                                          run.outputs),
                          "max_abs_diff_vs_litert": metrics.abs_differences(micro.outputs,
                                                                            run.outputs)[0]}
    return entry


def task_metrics(spec: ModelSpec, outputs: np.ndarray, y: np.ndarray, x: np.ndarray) -> dict[str, Any]:
    """What `[evaluation] task` measures (see evaluation_tasks); the other tasks' keys None."""
    try:
        return evaluation_tasks.measure(spec.evaluation["task"], outputs, y, x, spec.evaluation)
    except ValueError as error:
        raise BuildError(f"evaluation.task: {error}") from None


def _add_reference_comparisons(report: dict[str, Any]) -> None:
    """Size ratio and accuracy drop: each variant against the float reference."""
    if report["reference"] is None:
        return
    reference = report["variants"][report["reference"]]
    for entry in report["variants"].values():
        entry["size_ratio"] = entry["size_bytes"] / reference["size_bytes"]
        if entry["accuracy"] is not None:
            entry["accuracy_drop"] = reference["accuracy"] - entry["accuracy"]
    for entry in report["variants"].values():
        entry.setdefault("accuracy_drop", None)


def read_stamp(path: str) -> dict[str, Any]:
    """A SavedModel stamp's facts (Keras layers, measured sparsity); empty if there is none."""
    try:
        stamp = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def read_arena_bytes(path: str) -> int | None:
    """The TFLM arena the firmware task measured (`arena_bytes`), or None if it did not."""
    try:
        value = json.loads(Path(path).read_text("utf-8")).get("arena_bytes")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def run_litert(path: str, x: np.ndarray, latency_runs: int) -> Run:
    """Outputs for every sample, then `latency_runs` timed invokes, single-threaded."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # XNNPACK refuses sparse (DENSIFY) int8 weights; the built-in kernels run them.
    resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES \
        if "DENSIFY" in operator_names(Path(path).read_bytes()) else OpResolverType.AUTO
    interpreter = Interpreter(model_path=path, num_threads=1, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    _require_single_io(path, len(inputs), len(outputs))
    input_q, output_q = _litert_quantization(inputs[0]), _litert_quantization(outputs[0])
    results = []
    for sample in metrics.quantize(x, input_q):
        interpreter.set_tensor(inputs[0]["index"], sample[np.newaxis])
        interpreter.invoke()
        results.append(interpreter.get_tensor(outputs[0]["index"])[0])
    timings = []
    for index in range(WARMUP_INVOKES + latency_runs):
        start = time.perf_counter()
        interpreter.invoke()
        if index >= WARMUP_INVOKES:
            timings.append(time.perf_counter() - start)
    return Run(metrics.dequantize(np.stack(results), output_q), input_q, output_q, tuple(timings))


def run_micro(path: str, x: np.ndarray, arena_size: int) -> Run:
    """Outputs for every sample from the TFLite Micro interpreter (the firmware's kernels)."""
    from tflite_micro.python.tflite_micro import runtime

    try:
        interpreter = runtime.Interpreter.from_file(path, arena_size=arena_size)
    except RuntimeError as error:
        raise BuildError(f"{path}: TFLite Micro cannot load the model: {error}") from None
    input_q = _micro_quantization(interpreter.get_input_details(0))
    output_q = _micro_quantization(interpreter.get_output_details(0))
    results = []
    for sample in metrics.quantize(x, input_q):
        interpreter.set_input(sample[np.newaxis], 0)
        interpreter.invoke()
        results.append(np.array(interpreter.get_output(0))[0])
    return Run(metrics.dequantize(np.stack(results), output_q), input_q, output_q)


def _litert_quantization(details: dict[str, Any]) -> Quantization:
    scale, zero_point = details["quantization"]
    return Quantization(np.dtype(details["dtype"]), float(scale), int(zero_point))


def _micro_quantization(details: dict[str, Any]) -> Quantization:
    parameters = details["quantization_parameters"]
    scales, zero_points = parameters["scales"], parameters["zero_points"]
    return Quantization(np.dtype(details["dtype"]), float(scales[0]) if len(scales) else 0.0,
                        int(zero_points[0]) if len(zero_points) else 0)


def _require_single_io(path: str, inputs: int, outputs: int) -> None:
    if inputs != 1 or outputs != 1:
        raise BuildError(f"{path}: evaluation supports one input and one output tensor; this "
                         f"model has {inputs} input(s) and {outputs} output(s)")


def _describe(quantization: Quantization) -> dict[str, Any]:
    return {"dtype": quantization.dtype.name, "scale": quantization.scale,
            "zero_point": quantization.zero_point}


def _keep_previous(layout: Layout, model: str) -> None:
    """The last evaluation's report becomes report.previous.json, so the report can diff them."""
    current = Path(layout.report_json(model))
    if current.is_file():
        atomic.write_bytes(layout.previous_report_json(model), current.read_bytes())
