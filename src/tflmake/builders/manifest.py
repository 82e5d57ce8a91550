"""Build `manifest.json`: sha256 of every artifact and input file of a model, spec section hashes, tool versions.

A SavedModel's TensorFlow-serialised files differ between processes for equal weights, so
the manifest lists them under `saved_models` with the digest of their variables' values,
which a retrain that reproduces the weights reproduces (`tflmake verify` checks both).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tflmake import atomic
from tflmake.digest import sha256_file
from tflmake.engine.toolversions import tool_versions
from tflmake.errors import BuildError
from tflmake.ml.saved_model_digest import DIGEST_VERSION, serialised_files, variables_digest
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
        "variables_sha256": remembered_variables_digest(saved_model, layout.variables_digests)}}
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


REMEMBERED_DIGESTS = 64  # SavedModels a build folder remembers the variables' digest of


def remembered_variables_digest(saved_model: Path, memo: str) -> str:
    """`variables_digest`, remembered by the sha256 of the checkpoint's files (equal bytes, equal values).

    Going back to a SavedModel built (or restored) before, the manifest then
    needs no TensorFlow import. The key names the digest's version: a memo written
    before the digest changed computes it again.
    """
    variables = sorted(p for p in (saved_model / "variables").rglob("*") if p.is_file())
    files = "".join(f"{p.relative_to(saved_model).as_posix()} {sha256_file(p)}\n" for p in variables)
    key = hashlib.sha256(f"{DIGEST_VERSION}\n{files}".encode()).hexdigest()
    try:
        known = json.loads(Path(memo).read_text("utf-8"))
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    if isinstance(known.get(key), str):
        return str(known[key])
    digest = variables_digest(saved_model)
    known = {**{k: v for k, v in known.items() if k != key}, key: digest}
    try:
        atomic.write_text(memo, json.dumps(dict(list(known.items())[-REMEMBERED_DIGESTS:]), indent=1) + "\n")
    except BuildError:
        pass  # a memo (another model's manifest may be writing it under doit -n): next time computes again
    return digest
