"""Firmware-grade converter controls: a fixed batch dimension and per-tensor Dense weights. Pure.

Both change what TFLite Micro carries. A dynamic batch makes every `Flatten`
convert to SHAPE + STRIDED_SLICE + PACK + RESHAPE (more ops to register, bigger
model); per-channel Dense weights need a scale per output unit. BENCHMARKS.md
has the measured effect of each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tflmake.spec import ModelSpec

DYNAMIC = "dynamic"
# The quantize modes whose Dense weights the converter stores as int8 with scales.
INT8_WEIGHT_MODES = ("dynamic", "int8", "int16x8")


def variant_batch(fields: dict[str, Any], source_type: str) -> int | str:
    """The variant's `batch` (as an int: the schema lets 1.0 through), by default 1 for firmware.

    Only firmware variants default to a fixed batch: host LiteRT users may resize
    the batch of the others, and their bytes stay what they were before the key.
    A frozen graph's batch comes from the TF1 converter, which fixes a missing one to 1.
    """
    if "batch" in fields:
        return DYNAMIC if fields["batch"] == DYNAMIC else int(fields["batch"])
    converter = fields.get("backend", "converter") == "converter"
    return 1 if fields["c_array"] and converter and source_type != "frozen_graph" else DYNAMIC


def converter_control_problems(spec: ModelSpec, document: dict[str, Any]) -> list[str]:
    """`batch` and `per_channel_dense` where the converter cannot apply them."""
    from tflmake.optimization import float_source

    problems: list[str] = []
    for index, variant in enumerate(spec.variants):
        where = f"variant[{index}]"
        if "batch" in document["variant"][index]:
            if spec.source["type"] == "frozen_graph":
                problems.append(f'{where}.batch: a "frozen_graph" model gets its batch from '
                                "model.source.input_shapes (a missing batch dimension becomes 1); "
                                "remove batch")
            elif variant.backend != "converter":
                source = float_source(spec)
                named = f'variant "{source.name}"' if source else "the float32 variant"
                problems.append(f'{where}.batch: backend = "{variant.backend}" quantizes the float32 '
                                f".tflite, whose batch it keeps; set batch on {named} instead")
        if not variant.per_channel_dense:
            if variant.backend != "converter":
                problems.append(f'{where}.per_channel_dense: only with backend = "converter" (a LiteRT '
                                "Quantizer recipe sets the granularity itself)")
            elif variant.quantize not in INT8_WEIGHT_MODES:
                problems.append(f"{where}.per_channel_dense: only for quantize = "
                                f'{", ".join(INT8_WEIGHT_MODES)} (the modes with int8 weights); this '
                                f'variant has quantize = "{variant.quantize}"')
    return problems
