"""What a manifest records besides artifact hashes: spec section hashes and tool versions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tflmake.spec.load import ModelSpec

MANIFEST_TOOLS = ("tflmake", "tensorflow", "keras", "numpy", "scikit-learn", "ai-edge-litert", "tflite-micro")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def spec_sections(spec: ModelSpec) -> dict[str, Any]:
    """Each spec section as tflmake read it (defaults filled in), by the name the manifest uses."""
    sections: dict[str, Any] = {
        "model.source": spec.source,
        "dataset": spec.dataset,
        "train": spec.train,
        "representative": spec.representative,
        "c_array": spec.c_array,
    }
    sections.update({f"variant.{v.name}": v.fragment() | {"c_array": v.c_array} for v in spec.variants})
    return {name: value for name, value in sections.items() if value is not None}


def section_hashes(spec: ModelSpec) -> dict[str, str]:
    """sha256 of each spec section, as the manifest records them."""
    return {name: _digest(value) for name, value in spec_sections(spec).items()}
