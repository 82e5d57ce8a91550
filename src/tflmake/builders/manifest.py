"""Build `manifest.json`: sha256 of every artifact and input file of a model, spec section hashes, tool versions.

A SavedModel's TensorFlow-serialised files differ between processes for equal weights, so
the manifest lists them under `saved_models` with the digest of their variables' values,
which a retrain that reproduces the weights reproduces (`tflmake verify` checks both).
"""

from __future__ import annotations

import json
from pathlib import Path

from tflmake import atomic
from tflmake.digest import sha256_file
from tflmake.engine.toolversions import tool_versions
from tflmake.ml.saved_model_digest import serialised_files, variables_digest
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec
from tflmake.spec.provenance import MANIFEST_TOOLS, section_hashes


def artifact_files(spec: ModelSpec, layout: Layout, targets: list[str]) -> list[Path]:
    """The model's artifact targets plus every file of its SavedModel directory."""
    files = {Path(target) for target in targets}
    saved_model = Path(layout.saved_model_dir(spec.name))
    if saved_model.is_dir():
        files.update(p for p in saved_model.rglob("*") if p.is_file())
    return sorted(files)


def build(spec: ModelSpec, layout: Layout, artifacts: list[str], inputs: list[str]) -> None:
    """`artifacts`: the targets of the model's artifact tasks; `inputs`: the user files they read
    (together, the manifest task's file_dep)."""
    model_dir = Path(layout.model_dir(spec.name))
    saved_model = Path(layout.saved_model_dir(spec.name))
    serialised = serialised_files(saved_model) if saved_model.is_dir() else []
    saved_models = {} if not serialised else {saved_model.relative_to(model_dir).as_posix(): {
        "files": [path.relative_to(model_dir).as_posix() for path in serialised],
        "variables_sha256": variables_digest(saved_model)}}
    manifest = {
        "model": spec.name,
        "spec": spec.spec_path,
        "sections": section_hashes(spec),
        "tools": tool_versions(*MANIFEST_TOOLS),
        "artifacts": {path.relative_to(model_dir).as_posix(): sha256_file(path)
                      for path in artifact_files(spec, layout, artifacts) if path not in serialised},
        "saved_models": saved_models,
        # What the build read, as the spec's tasks name them (relative to the project): a
        # reviewer can check the model file, data files and Python sources it was made from.
        "inputs": {path: sha256_file(path) for path in inputs},
    }
    atomic.write_text(layout.manifest(spec.name), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
