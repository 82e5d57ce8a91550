"""Build a variant's firmware bundle: model array, I/O constants, op resolver, arena, self-test."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tflmake import atomic, keys
from tflmake.builders.dataset import read_raw_test, read_split
from tflmake.builders.frontend_bundle import front_end_prefix, has_front_end, tensor_quantization, write_front_end
from tflmake.emit.firmware import Bundle, Golden, render_header, render_source
from tflmake.emit.modelcrypto import SIGNATURE_ALGORITHM, decrypted_bytes, render_crypto_header, render_crypto_source
from tflmake.emit.opresolver import render_op_resolver, resolver_methods
from tflmake.engine.toolversions import tool_version
from tflmake.errors import BuildError
from tflmake.frontend.contract import describe, input_contract, with_quantization
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec, Variant
from tflmake.tflite import micro as tflm
from tflmake.tflite import modelfacts
from tflmake.tflite.golden import golden_input
from tflmake.tflite.modelinfo import ModelInfo, TensorInfo, read_model_info

ARENA_MARGIN = (f"a {tflm.MARGIN_FRACTION:.0%} margin (at least {tflm.MARGIN_MIN_BYTES} bytes), "
                f"rounded up to {tflm.ARENA_ALIGNMENT} bytes")
GOLDEN_SOURCE = "the first sample of the test split"
VELA_ARENA = ("the sum of the Vela model's non-constant tensors (input, output, Ethos-U scratch), "
              f"each rounded up to {tflm.ARENA_ALIGNMENT} bytes: the host cannot run the Ethos-U operator")
# The int8 model gives the golden outputs of a Vela bundle; any arena that runs it will do.
GOLDEN_ARENA_BYTES = 256 * 1024


def build(spec: ModelSpec, layout: Layout, variant_name: str) -> None:
    variant = spec.variant(variant_name)
    model_path = layout.tflite(spec.name, variant.name)
    # An accelerator variant's firmware runs Vela's model; the host can only run the int8 model.
    firmware_path = layout.vela_tflite(spec.name, variant.name) if variant.accelerator else model_path
    data = Path(firmware_path).read_bytes()
    info = read_model_info(data)
    resolver_methods(info.ops)  # fail on an unsupported op before the slow measurement
    split = read_split(layout, spec.name) if spec.dataset else {}
    raw = read_raw_test(layout, spec.name) if has_front_end(spec) else None
    measured, estimate, golden_arena = _arena(variant, data, model_path, info)
    sha256 = hashlib.sha256(data).hexdigest()
    symbol = spec.c_symbol(variant.name)
    header_path = layout.carray_header(spec.name, variant.name)
    contract = None if spec.dataset is None else with_quantization(input_contract(spec.dataset),
                                                                    tensor_quantization(info.inputs[0]))
    golden = _golden(model_path, golden_arena, info, split)
    if golden is not None and variant.accelerator:
        golden = replace(golden, ran_on=f"The outputs are {Path(model_path).name}'s, the model before Vela: "
                         "the NPU is meant\n * to match TFLite Micro's int8 kernels bit for bit.")
    bundle = Bundle(
        symbol=symbol, header_name=Path(header_path).name, data=data, sha256=sha256,
        alignment=spec.c_array["alignment"], section=spec.c_array.get("section"),
        comment=f"{spec.name}/{variant.name} (quantize = {variant.quantize}{_compiled_for(variant)}), "
                f"{len(data)} bytes, sha256 {sha256}",
        inputs=info.inputs, outputs=info.outputs, arena_bytes_measured=measured,
        arena_bytes=tflm.arena_with_margin(measured), arena_margin=ARENA_MARGIN,
        labels=tuple(str(label) for label in split["labels"]) if "labels" in split else None,
        golden=golden, raw_scale=raw_scale(spec), arena_estimate=estimate,
        contract=() if contract is None else tuple(describe(contract)),
        golden_raw=raw[0] if raw is not None and len(raw) and len(info.inputs) == 1 else None,
        signature=keys.sign_model(data, signing_key) if (signing_key := keys.signing_key_path()) else None,
        sealed=_encrypt(spec, variant, data))
    resolver = render_op_resolver(
        symbol=symbol, ops=info.ops,
        comment=f"{spec.name}/{variant.name}: the TFLite Micro ops of {Path(firmware_path).name}")
    write_sources(bundle, resolver, [header_path, layout.carray_source(spec.name, variant.name),
                                     layout.op_resolver_header(spec.name, variant.name)])
    write_sources(bundle, resolver, layout.firmware_sources(spec.name, variant.name))
    if has_front_end(spec):
        write_front_end(spec, layout, variant.name, info)
    if bundle.signature or bundle.sealed:
        write_crypto(bundle, layout.crypto_sources(spec.name, variant.name),
                     [Path(header_path).name, Path(layout.firmware_sources(spec.name, variant.name)[0]).name])
    facts = manifest(spec, variant.name, bundle, info, contract, layout.frontend_sources(spec.name, variant.name))
    if bundle.signature or bundle.sealed:
        facts |= crypto_facts(bundle, layout.crypto_sources(spec.name, variant.name))
    if variant.accelerator:
        facts |= npu_facts(layout.vela_estimates(spec.name, variant.name), firmware_path, measured)
    atomic.write_text(layout.firmware_manifest(spec.name, variant.name), json.dumps(facts, indent=2) + "\n")


def _arena(variant: Variant, data: bytes, model_path: str, info: ModelInfo) -> tuple[int, str | None, int]:
    """The arena before the margin, how it was estimated (None: measured) and an arena to run the
    golden vector in. An Ethos-U model cannot run on the host, so its arena is estimated."""
    if variant.accelerator:
        return (modelfacts.planned_tensor_bytes(data, tflm.ARENA_ALIGNMENT), VELA_ARENA,
                max(GOLDEN_ARENA_BYTES, 10 * Path(model_path).stat().st_size))
    measured = tflm.measure_arena(model_path, len(info.inputs))
    return measured, None, tflm.arena_with_margin(measured)


def _encrypt(spec: ModelSpec, variant: Variant, data: bytes) -> keys.Sealed | None:
    """The model AES-GCM encrypted when the variant asks for it (None otherwise)."""
    if not variant.encrypt:
        return None
    path = keys.encryption_key_path()
    if path is None:
        raise BuildError(f"{spec.spec_path}: variant[{spec.variants.index(variant)}].encrypt: set "
                         f"{keys.ENCRYPTION_KEY_VARIABLE} to the absolute path of a 16- or 32-byte AES key file")
    return keys.encrypt_model(data, path)


def write_crypto(bundle: Bundle, paths: list[str], model_headers: list[str]) -> None:
    """`<variant>_model_crypto.h/.c` and their `firmware/` copies, each including its model header."""
    header, source, firmware_header, firmware_source = paths
    for crypto_header, crypto_source, model_header in ((header, source, model_headers[0]),
                                                       (firmware_header, firmware_source, model_headers[1])):
        atomic.write_text(crypto_header, render_crypto_header(bundle.symbol, model_header, bundle.signature,
                                                              bundle.sealed))
        atomic.write_text(crypto_source, render_crypto_source(bundle.symbol, Path(crypto_header).name,
                                                              bundle.signature, bundle.sealed))


def crypto_facts(bundle: Bundle, paths: list[str]) -> dict[str, Any]:
    """What `_firmware.json` adds for a signed or encrypted bundle (ids and public data, never a key)."""
    facts: dict[str, Any] = {"crypto_files": [Path(path).name for path in paths[2:]]}
    if bundle.signature is not None:
        facts["signature"] = {
            "algorithm": SIGNATURE_ALGORITHM, "signed": f"the {len(bundle.data)} model bytes (sha256)",
            "signature": bundle.signature.signature.hex(), "public_key": bundle.signature.public_key.hex(),
            "public_key_id": bundle.signature.key_id, "function": f"{bundle.symbol}_verify"}
    if bundle.sealed is not None:
        facts["encryption"] = {
            "algorithm": f"AES-{bundle.sealed.key_bits}-GCM", "key_id": bundle.sealed.key_id,
            "nonce": bundle.sealed.nonce.hex(), "tag": bundle.sealed.tag.hex(),
            "array": f"{bundle.symbol}_encrypted", "decrypted_ram_bytes": decrypted_bytes(len(bundle.data)),
            "function": f"{bundle.symbol}_decrypt"}
    return facts


def _compiled_for(variant: Variant) -> str:
    return f", compiled by Vela for {variant.accelerator}" if variant.accelerator else ""


def npu_facts(estimates_path: str, firmware_path: str, estimated: int) -> dict[str, Any]:
    """What `_firmware.json` adds for an Ethos-U bundle: the arena's basis and Vela's estimates."""
    return {"arena_bytes_measured": None, "arena_bytes_estimated": estimated, "arena_source": VELA_ARENA,
            "model_file": firmware_path, "ethos_u": json.loads(Path(estimates_path).read_text("utf-8"))}


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
