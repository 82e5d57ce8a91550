"""Firmware-grade converter controls: a fixed batch dimension and per-tensor Dense weights. Pure.

Both change what TFLite Micro carries. A dynamic batch makes every `Flatten`
convert to SHAPE + STRIDED_SLICE + PACK + RESHAPE (more ops to register, bigger
model); per-channel Dense weights need a scale per output unit. BENCHMARKS.md
has the measured effect of each.
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


def converter_control_problems(spec: ModelSpec, document: dict[str, Any]) -> list[str]:
    """`batch` and `per_channel_dense` where the converter cannot apply them."""
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
    return problems
