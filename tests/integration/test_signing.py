"""Signed builds end to end on the built digits MLP: tflmake verify and model-signing's own CLI agree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.keyfiles import write_private_key, write_public_key
from tests.support import Project

pytestmark = pytest.mark.integration

MODEL = "digits_mlp"


def stock_verify(project: Project, signature: Path) -> subprocess.CompletedProcess[str]:
    """`model_signing verify key` (the library's own CLI) on one of tflmake's signatures."""
    cli = Path(sys.executable).parent / "model_signing"
    return subprocess.run([str(cli), "verify", "key", f"build/{MODEL}", "--signature", str(signature),
                           "--public_key", "key.pub", "--ignore_unsigned_files"],
                          cwd=project.root, capture_output=True, text=True, timeout=120)


@pytest.fixture
def signed(copy_of_built: Project) -> Project:
    """The built MLP with signing turned on and built again (only the signatures and the report are new)."""
    write_public_key(copy_of_built.root / "key.pub", write_private_key(copy_of_built.root / "key.pem"))
    (copy_of_built.root / "pyproject.toml").write_text(
        '[tool.tflmake.signing]\nprivate-key = "key.pem"\npublic-key = "key.pub"\n')
    run = copy_of_built.tflmake()
    assert run.returncode == 0, run.output
    assert "tflite:" not in run.output.replace("-- tflite:", "")  # nothing but signatures and reports rebuilt
    return copy_of_built


def test_signed_build_verifies_with_tflmake_and_the_stock_cli(signed: Project) -> None:
    signatures = sorted((signed.build / MODEL).glob("*.sig"))
    assert [s.name for s in signatures] == ["dynamic.sig", "float16.sig", "float32.sig", "int16x8.sig", "int8.sig",
                                            "manifest.json.sig"]
    run = signed.tflmake("verify")
    assert run.returncode == 0, run.output
    assert "ok: 6 signature(s) valid, signed by key" in run.output
    for signature in signatures:
        result = stock_verify(signed, signature)
        assert result.returncode == 0 and "Verification succeeded" in result.stdout, result.stderr
    again = signed.tflmake()
    assert again.returncode == 0 and "0 built" in again.output, again.output


@pytest.mark.parametrize("changed", ["int8.tflite", "int8_model_data.c"])
def test_one_changed_byte_fails_both_naming_the_file(signed: Project, changed: str) -> None:
    path = signed.build / MODEL / changed
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    run = signed.tflmake("verify")
    assert run.returncode == 1
    assert f"build/{MODEL}/{changed}: changed since it was signed (signature build/{MODEL}/int8.sig fails)" \
        in run.output
    result = stock_verify(signed, signed.build / MODEL / "int8.sig")
    # The library quotes its list of differences with repr: the name may come out as \'name\'.
    assert result.returncode == 1 and "Hash mismatch for" in result.stderr and changed in result.stderr


def test_report_names_the_signing_key(signed: Project) -> None:
    import json

    report = json.loads((signed.build / MODEL / "report.json").read_text())
    key_ids = {entry["signed"]["key_id"] for entry in report["variants"].values()}
    assert len(key_ids) == 1
    assert f"int8: signed by key {key_ids.pop()}" in (signed.build / MODEL / "report.md").read_text()


def test_signing_off_changes_no_byte_and_no_task(built_mlp: Project, signed: Project) -> None:
    """Signing changes no model; without the settings, the tasks are the same.

    The firmware bundle does change by design: with a signing key it carries the model's ECDSA
    signature and the helper that checks it (issue 22 §3), so its C files and the manifest differ.
    """
    for path in sorted((built_mlp.build / MODEL).rglob("*")):
        relative = path.relative_to(built_mlp.build)
        if path.is_file() and path.suffix in (".tflite", ".npz"):
            assert (signed.build / relative).read_bytes() == path.read_bytes(), relative
    assert "_signature" in (signed.build / MODEL / "int8_model_data.h").read_text()
    listed_off = built_mlp.tflmake("list", "--all").output
    (signed.root / "pyproject.toml").unlink()
    assert signed.tflmake("list", "--all").output == listed_off


def test_restore_refuses_an_unsigned_cache_entry(built_mlp: Project, tmp_path: Path) -> None:
    """A cache CI filled without signing is refused by a build that requires signatures: it builds locally."""
    cache = (tmp_path / "cache").as_posix()
    writer = Project(tmp_path / "ci")
    shutil.copytree(built_mlp.root, writer.root, symlinks=True)
    push = writer.tflmake("cache", "push", "--cache-url", cache, "--cache-mode", "read-write")
    assert push.returncode == 0, push.output
    reader = Project(tmp_path / "dev")
    reader.specs.mkdir(parents=True)
    shutil.copy(built_mlp.specs / f"{MODEL}.toml", reader.specs)
    write_public_key(reader.root / "key.pub", write_private_key(tmp_path / "ci.pem"))
    (reader.root / "pyproject.toml").write_text(
        '[tool.tflmake.signing]\npublic-key = "key.pub"\nrequire-signed-cache = true\n')
    run = reader.tflmake("--cache-url", cache, "dataset:" + MODEL)
    assert run.returncode == 0, run.output
    assert f"dataset:{MODEL}: refused (the entry is not signed; require-signed-cache); building it locally" \
        in run.output
    assert f"dataset:{MODEL} restored from cache" not in run.output and "0 restored from cache" in run.output
