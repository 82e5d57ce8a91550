"""Build a variant's firmware bundle: model array, I/O constants, op resolver, arena, self-test."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tflmake import atomic
from tflmake.builders.dataset import read_raw_test, read_split
from tflmake.emit.firmware import Bundle, Golden, render_header, render_source
from tflmake.emit.opresolver import render_op_resolver, resolver_methods
from tflmake.engine.toolversions import tool_version
from tflmake.errors import BuildError
from tflmake.frontend.contract import describe, input_contract, with_quantization
from tflmake.frontend.table import FRONT_ENDS
from tflmake.kinds import DATASET_KINDS
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec
from tflmake.tflite import micro as tflm
from tflmake.tflite.golden import golden_input
from tflmake.tflite.modelinfo import ModelInfo, TensorInfo, read_model_info
from tflmake.tflite.quantize import Quantization

ARENA_MARGIN = (f"a {tflm.MARGIN_FRACTION:.0%} margin (at least {tflm.MARGIN_MIN_BYTES} bytes), "
                f"rounded up to {tflm.ARENA_ALIGNMENT} bytes")
GOLDEN_SOURCE = "the first sample of the test split"


def build(spec: ModelSpec, layout: Layout, variant_name: str) -> None:
    variant = spec.variant(variant_name)
    model_path = layout.tflite(spec.name, variant.name)
    data = Path(model_path).read_bytes()
    info = read_model_info(data)
    resolver_methods(info.ops)  # fail on an unsupported op before the slow measurement
    split = read_split(layout, spec.name) if spec.dataset else {}
    raw = read_raw_test(layout, spec.name) if has_front_end(spec) else None
    measured = tflm.measure_arena(model_path, len(info.inputs))
    arena = tflm.arena_with_margin(measured)
    sha256 = hashlib.sha256(data).hexdigest()
    symbol = spec.c_symbol(variant.name)
    header_path = layout.carray_header(spec.name, variant.name)
    contract = None if spec.dataset is None else with_quantization(input_contract(spec.dataset),
                                                                    tensor_quantization(info.inputs[0]))
    bundle = Bundle(
        symbol=symbol, header_name=Path(header_path).name, data=data, sha256=sha256,
        alignment=spec.c_array["alignment"], section=spec.c_array.get("section"),
        comment=f"{spec.name}/{variant.name} (quantize = {variant.quantize}), {len(data)} bytes, "
                f"sha256 {sha256}",
        inputs=info.inputs, outputs=info.outputs, arena_bytes_measured=measured,
        arena_bytes=arena, arena_margin=ARENA_MARGIN,
        labels=tuple(str(label) for label in split["labels"]) if "labels" in split else None,
        golden=_golden(model_path, arena, info, split), raw_scale=raw_scale(spec),
        contract=() if contract is None else tuple(describe(contract)),
        golden_raw=raw[0] if raw is not None and len(raw) and len(info.inputs) == 1 else None)
    resolver = render_op_resolver(
        symbol=symbol, ops=info.ops,
        comment=f"{spec.name}/{variant.name}: the TFLite Micro ops of {Path(model_path).name}")
    write_sources(bundle, resolver, [header_path, layout.carray_source(spec.name, variant.name),
                                     layout.op_resolver_header(spec.name, variant.name)])
    write_sources(bundle, resolver, layout.firmware_sources(spec.name, variant.name))
    if has_front_end(spec):
        write_front_end(spec, layout, variant.name, info)
    atomic.write_text(layout.firmware_manifest(spec.name, variant.name),
                      json.dumps(manifest(spec, variant.name, bundle, info, contract,
                                         layout.frontend_sources(spec.name, variant.name)), indent=2) + "\n")


def has_front_end(spec: ModelSpec) -> bool:
    """The data set's raw data reaches the model through a C front end (one input only)."""
    return spec.dataset is not None and DATASET_KINDS[spec.dataset["type"]].front_end


def front_end_prefix(spec: ModelSpec, variant: str) -> str:
    """The C prefix of a variant's front end: `<model>_<variant>`, like its files' names."""
    return f"{spec.name}_{variant}"


def write_front_end(spec: ModelSpec, layout: Layout, variant: str, info: ModelInfo) -> None:
    """`firmware/<model>_<variant>_frontend.h/.c`: raw data to input 0, quantized as the model takes it."""
    assert spec.dataset is not None
    if len(info.inputs) != 1:
        raise BuildError(f"dataset.type: a {spec.dataset['type']} data set feeds one input, but "
                         f"{layout.tflite(spec.name, variant)} has {len(info.inputs)}")
    front_end = FRONT_ENDS[spec.dataset["type"]]
    header, source = front_end.render(front_end_prefix(spec, variant), front_end.contract(spec.dataset),
                                      tensor_quantization(info.inputs[0]))
    header_path, source_path = layout.frontend_sources(spec.name, variant)
    atomic.write_text(header_path, header)
    atomic.write_text(source_path, source)


def tensor_quantization(tensor: TensorInfo) -> Quantization:
    """How real values map to the tensor (scale 0: it takes real values)."""
    return Quantization(np.dtype(tensor.dtype), tensor.scale or 0.0, tensor.zero_point or 0)


def write_sources(bundle: Bundle, resolver: str, paths: list[str]) -> None:
    """Header, source (including the header by its name in `paths`) and op resolver."""
    header, source, resolver_path = paths
    atomic.write_text(header, render_header(bundle))
    atomic.write_text(source, render_source(replace(bundle, header_name=Path(header).name)))
    atomic.write_text(resolver_path, resolver)


def _golden(model_path: str, arena: int, info: ModelInfo,
            split: dict[str, np.ndarray]) -> Golden | None:
    """The self-test vector, when there is test data and one input to feed it to."""
    if "x_test" not in split or len(split["x_test"]) == 0 or len(info.inputs) != 1:
        return None
    inputs = (golden_input(split["x_test"][0], info.inputs[0]),)
    outputs = tflm.run_reference(model_path, arena, list(inputs), len(info.outputs))
    return Golden(inputs, tuple(outputs), GOLDEN_SOURCE)


def manifest(spec: ModelSpec, variant: str, bundle: Bundle, info: ModelInfo,
             contract: dict[str, Any] | None, front_end_files: list[str]) -> dict[str, Any]:
    """`<variant>_firmware.json`: the bundle's facts for tools (the report reads arena_bytes)."""
    golden = bundle.golden
    return {
        "model": spec.name,
        "variant": variant,
        "symbol": bundle.symbol,
        "sha256": bundle.sha256,
        "model_bytes": len(bundle.data),
        "arena_bytes_measured": bundle.arena_bytes_measured,
        "arena_bytes": bundle.arena_bytes,
        "arena_margin": bundle.arena_margin,
        "ops": list(info.ops),
        "inputs": [_tensor_facts(t) for t in info.inputs],
        "outputs": [_tensor_facts(t) for t in info.outputs],
        "labels": None if bundle.labels is None else list(bundle.labels),
        "input_preprocessing": None if bundle.raw_scale is None else {
            "raw_scale": bundle.raw_scale,
            "rule": ("input 0 = the front end's features / raw_scale (every step: input_contract)"
                     if has_front_end(spec) else
                     "input 0 = raw / raw_scale, then quantized with inputs[0].scale and zero_point")},
        # Every step from raw sensor data to the input tensor, with every constant.
        "input_contract": contract,
        "front_end": {"files": [Path(path).name for path in front_end_files],
                      "function": f"{front_end_prefix(spec, variant)}_frontend"} if has_front_end(spec) else None,
        "golden": None if golden is None else {
            "source": golden.source,
            **({"raw": bundle.golden_raw.ravel().tolist()} if bundle.golden_raw is not None else {}),
            "inputs": [value.ravel().tolist() for value in golden.inputs],
            "outputs": [value.ravel().tolist() for value in golden.outputs],
        },
        "tflite_micro": tool_version("tflite-micro"),
    }


def raw_scale(spec: ModelSpec) -> float | None:
    """What the data set divides raw inputs by (1.0 when dataset.scale is not set)."""
    return None if spec.dataset is None else float(spec.dataset.get("scale", 1.0))


def _tensor_facts(tensor: TensorInfo) -> dict[str, Any]:
    return {"name": tensor.name, "type": tensor.type.lower(), "shape": list(tensor.shape),
            "scale": tensor.scale, "zero_point": tensor.zero_point}
