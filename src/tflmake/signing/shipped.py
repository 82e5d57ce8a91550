"""What a variant ships, as its `sign` task depends on it and its builder signs it: one derivation for both."""

from __future__ import annotations

from tflmake import keys
from tflmake.kinds import DATASET_KINDS
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec


def variant_shipped_files(spec: ModelSpec, layout: Layout, variant_name: str) -> list[str]:
    """The `.tflite` (and Vela's), and the firmware bundle with its front end and crypto helpers when it has them."""
    variant = spec.variant(variant_name)
    front_end = spec.dataset is not None and DATASET_KINDS[spec.dataset["type"]].front_end
    return layout.shipped_files(spec.name, variant.name, front_end, bool(variant.accelerator), variant.c_array,
                                crypto=bool(keys.bundle_key_ids(variant.encrypt)[0]))
