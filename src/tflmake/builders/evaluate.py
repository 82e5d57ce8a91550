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

from tflmake import atomic
from tflmake.builders.dataset import input_names, read_raw_test, read_stored, scale_inputs, stored_names
from tflmake.builders.frontend_check import NO_COMPILER, check_front_end, shortfalls
from tflmake.console import progress
from tflmake.emit.tradeoff import render_tradeoff
from tflmake.engine.toolversions import tool_version
from tflmake.errors import BuildError
from tflmake.frontend.harness import host_compiler
from tflmake.kinds import DATASET_KINDS, EVALUATION_TASKS
from tflmake.paths import Layout
from tflmake.report import evaluation_tasks, metrics
from tflmake.report.entry import ReportEntry, TaskMeasures, TestSet
from tflmake.signing.keys import Identity
from tflmake.spec.load import ModelSpec, Variant
from tflmake.spec.rules import pruning_options
from tflmake.tflite.modelfacts import dense_granularity, input_batch
from tflmake.tflite.opcodes import operator_names
from tflmake.tflite.quantize import Quantization, dequantize, quantize

WARMUP_INVOKES = 5


@dataclass(frozen=True)
class Run:
    """One interpreter's pass over the test split: real-valued outputs and its tensors' formats."""

    outputs: np.ndarray  # the evaluated output tensor (`[evaluation] output`)
    input: Quantization
    output: Quantization
    invoke_seconds: tuple[float, ...] = ()
    # Every input and output tensor, for models with more than one: name, shape and format, and
    # each output's real values.
    tensors: dict[str, list[dict[str, Any]]] | None = None
    every_output: tuple[np.ndarray, ...] = ()
    # Where input k and output k sit in the flatbuffer's own tensor lists (TFLite Micro's indices).
    positions: tuple[tuple[int, ...], tuple[int, ...]] = ((0,), (0,))
    # Which LiteRT kernels the timed invokes ran: the report says when XNNPACK refused the model.
    host_kernels: str = "XNNPACK"


def build(spec: ModelSpec, layout: Layout, signing: Identity | None = None) -> None:
    """`signing`: who signs the variants (the report says so); None when signing is off."""
    assert spec.dataset is not None
    names = tuple(input_names(stored_names(layout, spec.name), "test"))
    stored = read_stored(layout, spec.name, (*names, "y_test"))
    test_set = digest_test_set(stored)
    split = scale_inputs(stored)
    inputs, y = [split[name] for name in names], split["y_test"]
    raw = read_raw_test(layout, spec.name) if DATASET_KINDS[spec.dataset["type"]].front_end else None
    if raw is not None and any(v.c_array for v in spec.variants) and host_compiler() is None:
        progress(f"    {spec.name}: {NO_COMPILER}")  # once per model, not per variant
    x = inputs[0]
    runs = {}
    for index, variant in enumerate(spec.variants, start=1):
        progress(f"    evaluating {variant.name} ({index}/{len(spec.variants)}): {len(x)} test samples, "
                 f"{spec.evaluation['latency_runs']} timed invokes")
        runs[variant.name] = run_litert(layout.tflite(spec.name, variant.name), inputs,
                                        spec.evaluation["latency_runs"], spec.evaluation.get("output", 0))
    reference = spec.reference_variant
    stamp = read_stamp(layout.saved_model_stamp(spec.name))
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
        "test_set": test_set,
        "labels": read_stored(layout, spec.name, ("labels",)).get("labels", np.array([])).tolist() or None,
        "keras_layers": stamp.get("keras_layers"),
        # Only for loaded model files, so other models' reports stay as they were.
        **({"loaded_by": stamp["loaded_by"]} if "loaded_by" in stamp else {}),
        "variants": {},
    }
    for variant in spec.variants:
        report["variants"][variant.name] = measure_variant(
            spec, layout, variant, runs, inputs, y, raw)
        if signing is not None:
            report["variants"][variant.name]["signed"] = {
                "mode": signing.mode, "key_id": signing.key_id,
                "signature": layout.signature(spec.name, variant.name)}
    _add_reference_comparisons(report)
    _keep_previous(layout, spec.name)
    atomic.write_text(layout.report_json(spec.name), json.dumps(report, indent=2) + "\n")
    atomic.write_bytes(layout.tradeoff_png(spec.name), render_tradeoff(report))


def digest_test_set(stored: dict[str, np.ndarray]) -> TestSet:
    """How many test samples there are and a digest of them: their inputs, labels and `x_scale` as stored.

    Each array adds its name, dtype and shape before its bytes, so two test sets
    share a digest only when every stored value is the same.
    """
    digest = hashlib.sha256()
    for name in sorted(stored):
        values = np.ascontiguousarray(stored[name])
        digest.update(f"{name}:{values.dtype.str}:{list(values.shape)}\n".encode())
        digest.update(values.tobytes())
    return {"samples": int(len(stored["y_test"])), "sha256": digest.hexdigest()}


def measure_variant(spec: ModelSpec, layout: Layout, variant: Variant, runs: dict[str, Run],
                    inputs: list[np.ndarray], y: np.ndarray, raw: np.ndarray | None = None) -> ReportEntry:
    """Every number the report gives for one variant (those relative to the float model later)."""
    x = inputs[0]
    path = layout.tflite(spec.name, variant.name)
    data = Path(path).read_bytes()
    run = runs[variant.name]
    reference = spec.reference_variant
    arena = read_arena_bytes(layout.firmware_manifest(spec.name, variant.name))
    median, p90 = metrics.latency_stats(run.invoke_seconds)
    ops = operator_names(data)
    entry: ReportEntry = {
        "quantize": variant.quantize, "io_type": variant.io_type, "c_array": variant.c_array,
        "path": path, "size_bytes": len(data), "size_ratio": None,
        "gzip_bytes": len(gzip.compress(data, compresslevel=9, mtime=0)),
        "sha256": hashlib.sha256(data).hexdigest(),
        "input": _describe(run.input), "output": _describe(run.output),
        **task_metrics(spec, run.outputs, y, x),
        "agreement": None, "max_abs_diff": None, "mean_abs_diff": None,
        "latency_ms_median": median, "latency_ms_p90": p90,
        "latency_runs": len(run.invoke_seconds), "host_kernels": run.host_kernels, "arena_bytes": arena,
        "ops": ops, "op_count": len(ops), "micro": None,
        "backend": variant.backend, "keep_float": list(variant.keep_float),
        "sparsity": None, "prune": variant.prune, "qat": variant.qat,
        # Measured from the bytes: what batch and per_channel_dense did (see modelfacts).
        "batch": input_batch(data), "dense_weights": dense_granularity(data),
    }
    crypto = read_firmware_crypto(layout.firmware_manifest(spec.name, variant.name)) if variant.c_array else None
    if crypto:
        entry["firmware_crypto"] = crypto
    if variant.accelerator:
        # Vela's estimates for the NPU model; every number above is the int8 model's, measured.
        entry["ethos_u"] = json.loads(Path(layout.vela_estimates(spec.name, variant.name)).read_text("utf-8"))
    if variant.keep_float_search:
        # The ops the search kept in float, its ranking and every candidate it tried.
        entry["float_search"] = json.loads(Path(layout.float_search(spec.name, variant.name)).read_text("utf-8"))
    if variant.prune:
        entry["sparsity"] = read_stamp(layout.pruned_stamp(spec.name, pruning_options(spec, variant))
                                       ).get("sparsity")
    if reference is not None:
        reference_outputs = runs[reference.name].outputs
        if EVALUATION_TASKS[spec.evaluation["task"]].class_labels:
            entry["agreement"] = metrics.top1_agreement(run.outputs, reference_outputs)
        entry["max_abs_diff"], entry["mean_abs_diff"] = metrics.abs_differences(
            run.outputs, reference_outputs)
        if run.tensors is not None:
            for tensor, own, theirs in zip(run.tensors["outputs"], run.every_output,
                                           runs[reference.name].every_output, strict=True):
                tensor["max_abs_diff"] = metrics.abs_differences(own, theirs)[0]
    if run.tensors is not None:
        entry["tensors"] = run.tensors
    if variant.c_array:
        arena_size = max(10 * len(data), 2 * (arena or 0))
        micro = run_micro(path, inputs, arena_size, run)
        entry["micro"] = {**task_metrics(spec, micro.outputs, y, x),
                          "agreement_with_litert": metrics.top1_agreement(micro.outputs,
                                                                          run.outputs),
                          "max_abs_diff_vs_litert": metrics.abs_differences(micro.outputs,
                                                                            run.outputs)[0]}
        if raw is not None and len(inputs) == 1:
            entry["front_end"] = _front_end(spec, layout, variant, raw, x, micro.input, entry,
                                            lambda features: task_metrics(
                                                spec, run_micro(path, [features], arena_size, run).outputs, y,
                                                features))
    return entry


def _front_end(spec: ModelSpec, layout: Layout, variant: Variant, raw: np.ndarray, x: np.ndarray,
               quantization: Quantization, entry: ReportEntry, run_model: Any) -> dict[str, Any]:
    """The C front end's measurement, with LiteRT's accuracy on the same split beside it."""
    progress(f"    {variant.name}: C front end over {len(raw)} raw test samples")
    measured = check_front_end(spec, layout, variant.name, raw, x, quantization, run_model, host_compiler())
    measured["litert"] = {"accuracy": entry["accuracy"]}
    measured["shortfalls"] = shortfalls(measured, entry["accuracy"])
    for missed in measured["shortfalls"]:
        progress(f"    warning: {spec.name}.{variant.name} C front end: {missed}")
    return measured


def task_metrics(spec: ModelSpec, outputs: np.ndarray, y: np.ndarray, x: np.ndarray) -> TaskMeasures:
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


def read_firmware_crypto(path: str) -> dict[str, Any] | None:
    """Whose key signed the bundle's model and whether it is encrypted (with the RAM the decrypted
    model needs), from `_firmware.json`; None for a plain bundle or an unreadable file."""
    try:
        stated = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    signature, encryption = stated.get("signature"), stated.get("encryption")
    if not signature and not encryption:
        return None
    return {"signed_by": signature["public_key_id"] if signature else None,
            "encryption_key": encryption["key_id"] if encryption else None,
            "decrypted_ram_bytes": encryption["decrypted_ram_bytes"] if encryption else None}


def run_litert(path: str, inputs: list[np.ndarray], latency_runs: int, evaluated: int = 0) -> Run:
    """Outputs for every sample, then `latency_runs` timed invokes, single-threaded.

    Input k of the model (in its signature's order) gets the data set's input k (`x`,
    `x1`, ...); every output is read, and `evaluated` is the one the task's metrics use.
    """
    interpreter, kernels = _litert_interpreter(path)
    input_details, output_details = signature_order(interpreter)
    _check_tensors(path, len(input_details), len(inputs), len(output_details), evaluated)
    input_q = [_litert_quantization(details) for details in input_details]
    output_q = [_litert_quantization(details) for details in output_details]
    quantized = [quantize(values, q) for values, q in zip(inputs, input_q, strict=True)]
    results: list[list[np.ndarray]] = [[] for _ in output_details]
    for sample in range(len(inputs[0])):
        for number, (details, values) in enumerate(zip(input_details, quantized, strict=True)):
            try:
                interpreter.set_tensor(details["index"], values[sample][np.newaxis])
            except ValueError as error:
                raise BuildError(f"{path}: input {number} ({details['name']}): {error}") from None
        interpreter.invoke()
        for collected, details in zip(results, output_details, strict=True):
            collected.append(interpreter.get_tensor(details["index"])[0])
    timings = []
    for index in range(WARMUP_INVOKES + latency_runs):
        start = time.perf_counter()
        interpreter.invoke()
        if index >= WARMUP_INVOKES:
            timings.append(time.perf_counter() - start)
    every = tuple(dequantize(np.stack(r), q) for r, q in zip(results, output_q, strict=True))
    tensors = None
    if len(input_details) > 1 or len(output_details) > 1:
        tensors = {"inputs": [_tensor(d, q) for d, q in zip(input_details, input_q, strict=True)],
                   "outputs": [_tensor(d, q) for d, q in zip(output_details, output_q, strict=True)]}
    positions = (_positions(interpreter.get_input_details(), input_details),
                 _positions(interpreter.get_output_details(), output_details))
    return Run(every[evaluated], input_q[0], output_q[evaluated], tuple(timings), tensors, every, positions, kernels)


def signature_order(interpreter: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The input and output tensors in the order of the model's one signature (Keras's order).

    The flatbuffer's own lists can differ (a two-input Keras model listed input "b"
    before "a"); without exactly one signature they are all there is.
    """
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    signatures = interpreter.get_signature_list()
    if len(signatures) != 1:
        return inputs, outputs
    key = next(iter(signatures))
    runner = interpreter.get_signature_runner(key)
    ordered = []
    for tensors, named, names in ((inputs, runner.get_input_details(), signatures[key]["inputs"]),
                                  (outputs, runner.get_output_details(), signatures[key]["outputs"])):
        by_index = {details["index"]: details for details in tensors}
        ordered.append([by_index[named[name]["index"]] for name in names])
    return ordered[0], ordered[1]


def _positions(flatbuffer_order: list[dict[str, Any]], ordered: list[dict[str, Any]]) -> tuple[int, ...]:
    indices = [details["index"] for details in flatbuffer_order]
    return tuple(indices.index(details["index"]) for details in ordered)


def _litert_interpreter(path: str) -> tuple[Any, str]:
    """A LiteRT interpreter with its tensors allocated, and which kernels it runs.

    XNNPACK where it takes the model, else LiteRT's built-in kernels, named
    with the reason: host latencies of the two are not comparable.
    """
    from ai_edge_litert.interpreter import OpResolverType

    # XNNPACK refuses sparse (DENSIFY) int8 weights; the built-in kernels run them.
    if "DENSIFY" in operator_names(Path(path).read_bytes()):
        return _allocated(path, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES), \
            "built-in kernels: XNNPACK does not run sparse DENSIFY weights"
    try:
        return _allocated(path, OpResolverType.AUTO), "XNNPACK"
    except RuntimeError as error:
        # XNNPACK also fails to prepare some int8 graphs (e.g. Conv1D's EXPAND_DIMS + CONV_2D).
        if "XNNPACK" not in str(error):
            raise
    return _allocated(path, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES), \
        "built-in kernels: XNNPACK failed to prepare the graph"


def _allocated(path: str, resolver: Any) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=1, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    return interpreter


def run_micro(path: str, inputs: list[np.ndarray], arena_size: int, litert: Run) -> Run:
    """Outputs for every sample from the TFLite Micro interpreter (the firmware's kernels).

    `litert` is the same file's LiteRT run, which says where each tensor sits and which
    output is evaluated.
    """
    from tflite_micro.python.tflite_micro import runtime

    try:
        interpreter = runtime.Interpreter.from_file(path, arena_size=arena_size)
    except RuntimeError as error:
        raise BuildError(f"{path}: TFLite Micro cannot load the model: {error}") from None
    input_positions, output_positions = litert.positions
    input_q = [_micro_quantization(interpreter.get_input_details(k)) for k in input_positions]
    output_q = [_micro_quantization(interpreter.get_output_details(k)) for k in output_positions]
    quantized = [quantize(values, q) for values, q in zip(inputs, input_q, strict=True)]
    results: list[list[np.ndarray]] = [[] for _ in output_q]
    for sample in range(len(inputs[0])):
        for position, values in zip(input_positions, quantized, strict=True):
            interpreter.set_input(values[sample][np.newaxis], position)
        interpreter.invoke()
        for position, collected in zip(output_positions, results, strict=True):
            collected.append(np.array(interpreter.get_output(position))[0])
    every = tuple(dequantize(np.stack(r), q) for r, q in zip(results, output_q, strict=True))
    evaluated = next((k for k, output in enumerate(litert.every_output) if output is litert.outputs), 0)
    return Run(every[evaluated], input_q[0], output_q[evaluated], every_output=every)


def _litert_quantization(details: dict[str, Any]) -> Quantization:
    scale, zero_point = details["quantization"]
    return Quantization(np.dtype(details["dtype"]), float(scale), int(zero_point))


def _micro_quantization(details: dict[str, Any]) -> Quantization:
    parameters = details["quantization_parameters"]
    scales, zero_points = parameters["scales"], parameters["zero_points"]
    return Quantization(np.dtype(details["dtype"]), float(scales[0]) if len(scales) else 0.0,
                        int(zero_points[0]) if len(zero_points) else 0)


def _check_tensors(path: str, model_inputs: int, data_inputs: int, model_outputs: int, evaluated: int) -> None:
    if model_inputs != data_inputs:
        names = ", ".join(["x", *(f"x{k}" for k in range(1, model_inputs))])
        raise BuildError(f"{path}: the model has {model_inputs} input tensor(s) but the data set gives "
                         f"{data_inputs}; a model with several inputs needs the arrays {names} "
                         '(dataset type = "python")')
    if evaluated >= model_outputs:
        raise BuildError(f"evaluation.output: {evaluated} but {path} has {model_outputs} output tensor(s) "
                         f"(0..{model_outputs - 1})")


def _tensor(details: dict[str, Any], quantization: Quantization) -> dict[str, Any]:
    return {"name": details["name"], "shape": [int(n) for n in details["shape"]], **_describe(quantization)}


def _describe(quantization: Quantization) -> dict[str, Any]:
    return {"dtype": quantization.dtype.name, "scale": quantization.scale,
            "zero_point": quantization.zero_point}


def _keep_previous(layout: Layout, model: str) -> None:
    """The last evaluation's report becomes report.previous.json, so the report can diff them."""
    current = Path(layout.report_json(model))
    if current.is_file():
        atomic.write_bytes(layout.previous_report_json(model), current.read_bytes())
