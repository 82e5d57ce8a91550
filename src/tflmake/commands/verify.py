"""`tflmake verify`: check every artifact against the sha256 its manifest recorded at build time.

A SavedModel's TensorFlow-serialised files (listed under the manifest's `saved_models`) are
checked by what a retrain with equal weights reproduces: present, and the values of their
variables equal to the recorded digest (this imports TensorFlow).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tflmake.commands.settings import Settings, parse, parser
from tflmake.console import native_output_captured
from tflmake.digest import sha256_file
from tflmake.errors import BuildError
from tflmake.paths import SHIPPED_SUFFIXES
from tflmake.signing.config import SigningConfig

MANIFEST_NAME = "manifest.json"


def verify_model(model_dir: Path) -> tuple[int, list[str]]:
    """(artifacts checked, problems) for one `build/<model>/` folder."""
    manifest = json.loads((model_dir / MANIFEST_NAME).read_text())
    problems = []
    for relative, expected in sorted(manifest["artifacts"].items()):
        path = model_dir / relative
        if not path.is_file():
            problems.append(f"{path.as_posix()}: missing")
        elif sha256_file(path) != expected:
            problems.append(f"{path.as_posix()}: sha256 differs from the manifest (changed after the build)")
    saved_models = manifest.get("saved_models", {})  # absent in manifests written before it existed
    for relative, entry in sorted(saved_models.items()):
        problems += saved_model_problems(model_dir, relative, entry)
    return len(manifest["artifacts"]) + len(saved_models), problems


def saved_model_problems(model_dir: Path, relative: str, entry: dict[str, Any]) -> list[str]:
    """What differs between a SavedModel folder and its manifest entry: missing files, variable values."""
    from tflmake.ml.saved_model_digest import variables_digests  # TensorFlow: only when a manifest has one

    folder = model_dir / relative
    missing = [f"{(model_dir / file).as_posix()}: missing" for file in entry["files"]
               if not (model_dir / file).is_file()]
    if missing:
        return missing
    try:
        with native_output_captured():  # TensorFlow's C++ log lines on import
            found = variables_digests(folder)  # today's digest, or the one older manifests recorded
    except BuildError as error:
        return [str(error)]
    if entry["variables_sha256"] not in found:
        return [f"{(folder / 'variables').as_posix()}: variable values differ from the manifest "
                "(changed after the build)"]
    return []


def verify_build(build_dir: Path) -> tuple[int, int, list[str]]:
    """(models, artifacts checked, problems) for every model with a manifest under `build_dir`."""
    models = artifacts = 0
    problems: list[str] = []
    for manifest in sorted(build_dir.glob(f"*/{MANIFEST_NAME}")):
        try:
            checked, found = verify_model(manifest.parent)
        except (ValueError, KeyError) as error:
            checked, found = 0, [f"{manifest.as_posix()}: unreadable manifest ({error})"]
        models, artifacts, problems = models + 1, artifacts + checked, problems + found
    return models, artifacts, problems


def verify_signatures(build_dir: Path, config: SigningConfig) -> tuple[int, list[str]]:
    """(valid signatures, problems): every model's signatures against the configured key or certificates,
    and every shipped artifact its manifest records covered by one."""
    from tflmake.signing.signature import signed_files, verify_files  # model_signing: only when configured

    valid = 0
    problems: list[str] = []
    for manifest in sorted(build_dir.glob(f"*/{MANIFEST_NAME}")):
        model_dir = manifest.parent
        signatures = sorted(model_dir.glob("*.sig"))
        if not (model_dir / f"{MANIFEST_NAME}.sig").is_file():
            problems.append(f"{(model_dir / MANIFEST_NAME).as_posix()}.sig: missing (the build was not signed)")
        covered: set[str] = set()
        for signature in signatures:
            found = verify_files(config, model_dir.as_posix(), signature.as_posix())
            valid += not found
            problems += found
            try:
                covered |= set(signed_files(signature.as_posix()))
            except (OSError, ValueError, KeyError, TypeError):
                pass  # verify_files said so
        try:
            artifacts = json.loads(manifest.read_text("utf-8"))["artifacts"]
        except (OSError, ValueError, KeyError):
            continue  # verify_build reports it
        problems += [f"{(model_dir / relative).as_posix()}: not signed (no signature covers it)"
                     for relative in sorted(artifacts) if relative.endswith(SHIPPED_SUFFIXES)
                     and relative not in covered]
    return valid, problems


def run(args: list[str], settings: Settings) -> int:
    """`tflmake verify` in the configured build folder (`--build-dir` after the command also works)."""
    command = parser("verify", __doc__ or "")
    command.add_argument("--build-dir", default=settings.build_dir, type=Path)
    options = parse(command, args)
    models, artifacts, problems = verify_build(options.build_dir)
    signing = settings.signing if settings.signing is not None and settings.signing.verifies else None
    signatures, signature_problems = verify_signatures(options.build_dir, signing) if signing else (0, [])
    for problem in problems + signature_problems:
        print(problem)
    if models == 0:
        print(f"no manifest found under {options.build_dir.as_posix()}/; build first")
        return 1
    if problems:
        print(f"verify failed: {len(problems)} of {artifacts} artifacts do not match their manifests")
    if signature_problems:
        print(f"verify failed: {len(signature_problems)} signature problem(s)")
    if problems or signature_problems:
        return 1
    print(f"ok: {artifacts} artifacts of {models} model(s) match their manifests")
    if signing:
        from tflmake.signing.signature import describe

        print(f"ok: {signatures} signature(s) valid, signed by {describe(signing)}")
    return 0
