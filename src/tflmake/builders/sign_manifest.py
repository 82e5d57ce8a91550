"""Sign a model's `manifest.json` into `manifest.json.sig` (OpenSSF model-signing format).

The manifest records the sha256 of every artifact, so a valid signature over it vouches
for all of them (`tflmake verify` checks both).
"""

from __future__ import annotations

from tflmake.builders.sign import sign_in_model_folder
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec


def build(spec: ModelSpec, layout: Layout) -> None:
    sign_in_model_folder(layout, spec.name, [layout.manifest(spec.name)], layout.manifest_signature(spec.name))
