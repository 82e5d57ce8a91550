"""Build `manifest.json`: sha256 of every artifact and input file of a model, spec section hashes, tool versions."""

from __future__ import annotations

import json
from pathlib import Path

from tflmake import atomic
from tflmake.fingerprint import sha256_file
from tflmake.graph import artifact_tasks
from tflmake.paths import Layout
from tflmake.provenance import MANIFEST_TOOLS, input_files, section_hashes
from tflmake.spec import ModelSpec
from tflmake.toolversions import tool_versions


def artifact_files(spec: ModelSpec, layout: Layout) -> list[Path]:
    """Every file the model's tasks produce, the whole SavedModel directory included."""
    files = {Path(target) for task in artifact_tasks(spec, layout) for target in task["targets"]}
    saved_model = Path(layout.saved_model_dir(spec.name))
    if saved_model.is_dir():
        files.update(p for p in saved_model.rglob("*") if p.is_file())
    return sorted(files)


def build(spec: ModelSpec, layout: Layout) -> None:
    model_dir = Path(layout.model_dir(spec.name))
    manifest = {
        "model": spec.name,
        "spec": spec.spec_path,
        "sections": section_hashes(spec),
        "tools": tool_versions(*MANIFEST_TOOLS),
        "artifacts": {path.relative_to(model_dir).as_posix(): sha256_file(path)
                      for path in artifact_files(spec, layout)},
        # What the build read, as the spec's tasks name them (relative to the project): a
        # reviewer can check the model file, data files and Python sources it was made from.
        "inputs": {path: sha256_file(path) for path in input_files(artifact_tasks(spec, layout))},
    }
    atomic.write_text(layout.manifest(spec.name), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
