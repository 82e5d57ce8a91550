"""Firmware-grade converter controls: a fixed batch, per-tensor Dense weights, no debug names. Pure.

All change what TFLite Micro carries. A dynamic batch makes every `Flatten`
convert to SHAPE + STRIDED_SLICE + PACK + RESHAPE (more ops to register, bigger
model); per-channel Dense weights need a scale per output unit; tensor names
are flash the firmware never reads. BENCHMARKS.md has the measured effect of each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tflmake.kinds import BACKENDS, QUANTIZE_MODES, SOURCE_KINDS

if TYPE_CHECKING:
    from tflmake.spec.load import ModelSpec

DYNAMIC = "dynamic"


def variant_batch(fields: dict[str, Any], source_type: str) -> int | str:
    """The variant's `batch` (as an int: the schema lets 1.0 through), by default 1 for firmware.

    Only firmware variants default to a fixed batch: host LiteRT users may resize
    the batch of the others, and their bytes stay what they were before the key.
    A frozen graph's batch comes from the TF1 converter, which fixes a missing one to 1.
    """
    if "batch" in fields:
        return DYNAMIC if fields["batch"] == DYNAMIC else int(fields["batch"])
    converter = fields.get("backend", "converter") == "converter"
    # A source converted without a SavedModel (a frozen graph) gets its batch from the TF1 converter.
    return 1 if fields["c_array"] and converter and SOURCE_KINDS[source_type].saved_model else DYNAMIC


def variant_strip_names(fields: dict[str, Any]) -> bool:
    """The variant's `strip_names`, by default true for firmware (`c_array = true`) only.

    Host users may look tensors up by name; the other variants' bytes stay what
    they were before the key.
    """
    return bool(fields.get("strip_names", fields["c_array"]))


def converter_control_problems(spec: ModelSpec, document: dict[str, Any]) -> list[str]:
    """`batch`, `per_channel_dense` and `strip_names` where they cannot apply."""
    from tflmake.spec.rules import float_source

    problems: list[str] = []
    for index, variant in enumerate(spec.variants):
        where = f"variant[{index}]"
        if "batch" in document["variant"][index]:
            if not spec.source_kind.saved_model:
                problems.append(f'{where}.batch: a "{spec.source["type"]}" model gets its batch from '
                                "model.source.input_shapes (a missing batch dimension becomes 1); "
                                "remove batch")
            elif BACKENDS[variant.backend].quantizes_float_tflite:
                source = float_source(spec)
                named = f'variant "{source.name}"' if source else "the float32 variant"
                problems.append(f'{where}.batch: backend = "{variant.backend}" quantizes the float32 '
                                f".tflite, whose batch it keeps; set batch on {named} instead")
        if not variant.per_channel_dense:
            if BACKENDS[variant.backend].quantizes_float_tflite:
                problems.append(f'{where}.per_channel_dense: only with backend = "converter" (a LiteRT '
                                "Quantizer recipe sets the granularity itself)")
            elif not variant.mode.int8_weights:
                modes = [name for name, mode in QUANTIZE_MODES.items() if mode.int8_weights]
                problems.append(f"{where}.per_channel_dense: only for quantize = "
                                f'{", ".join(modes)} (the modes with int8 weights); this '
                                f'variant has quantize = "{variant.quantize}"')
    return problems + _stripped_float_source_problems(spec, document)


def _stripped_float_source_problems(spec: ModelSpec, document: dict[str, Any]) -> list[str]:
    """A LiteRT Quantizer variant whose keep_float or recipe matches the names its float source strips."""
    from tflmake.spec.rules import float_source

    source = float_source(spec)
    if source is None or not source.strip_names:
        return []
    matching = [variant.name for variant in spec.variants if BACKENDS[variant.backend].quantizes_float_tflite
                and (variant.keep_float or variant.recipe is not None)]
    if not matching:
        return []
    index = spec.variants.index(source)
    default = "" if "strip_names" in document["variant"][index] else " (the default with c_array = true)"
    return [f'variant[{index}].strip_names: variant "{matching[0]}" (backend = "litert_quantizer") matches '
            "its keep_float or recipe regexes against the tensor names of this variant's .tflite, "
            f"which strip_names = true{default} removes; set strip_names = false"]
