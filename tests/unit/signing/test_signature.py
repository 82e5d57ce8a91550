"""Signatures through model-signing: made atomically, checked naming each file that fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.keyfiles import write_certificates, write_private_key, write_public_key
from tflmake.errors import BuildError
from tflmake.signing.config import SigningConfig, parse_table, resolve
from tflmake.signing.signature import sign_blobs, sign_files, signed_files, verify_blobs, verify_files


def config(table: dict[str, object], root: Path) -> SigningConfig:
    return resolve(parse_table(table, "pyproject.toml"), "pyproject.toml", {}, root)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A model folder with a variant's files and an unrelated one, and a key pair beside it."""
    folder = tmp_path / "build" / "m"
    (folder / "firmware").mkdir(parents=True)
    (folder / "int8.tflite").write_bytes(b"TFL3 model bytes")
    (folder / "firmware" / "m_int8_model_data.c").write_text("const unsigned char data[] = {0x01};\n")
    (folder / "float32.tflite").write_bytes(b"another variant")
    write_public_key(tmp_path / "key.pub", write_private_key(tmp_path / "key.pem"))
    return folder


SIGNED = ["int8.tflite", "firmware/m_int8_model_data.c"]


def test_signature_covers_exactly_the_chosen_files(model: Path, tmp_path: Path) -> None:
    """Other files in the folder are neither signed nor a reason to fail."""
    signing = config({"private-key": "key.pem"}, tmp_path)
    sign_files(signing, model.as_posix(), SIGNED, (model / "int8.sig").as_posix())
    assert sorted(signed_files((model / "int8.sig").as_posix())) == sorted(SIGNED)
    (model / "float32.tflite").write_bytes(b"changed, but not signed here")
    assert verify_files(config({"public-key": "key.pub"}, tmp_path), model.as_posix(),
                        (model / "int8.sig").as_posix()) == []


def test_signing_never_changes_the_signed_bytes(model: Path, tmp_path: Path) -> None:
    before = {name: (model / name).read_bytes() for name in SIGNED}
    sign_files(config({"private-key": "key.pem"}, tmp_path), model.as_posix(), SIGNED, (model / "int8.sig").as_posix())
    assert {name: (model / name).read_bytes() for name in SIGNED} == before


def test_one_changed_byte_names_the_file(model: Path, tmp_path: Path) -> None:
    sign_files(config({"private-key": "key.pem"}, tmp_path), model.as_posix(), SIGNED, (model / "int8.sig").as_posix())
    source = model / "firmware" / "m_int8_model_data.c"
    source.write_text(source.read_text().replace("0x01", "0x02"))
    problems = verify_files(config({"public-key": "key.pub"}, tmp_path), model.as_posix(),
                            (model / "int8.sig").as_posix())
    assert problems == [f"{source.as_posix()}: changed since it was signed (signature {model.as_posix()}/int8.sig "
                        "fails)"]


def test_another_key_is_not_the_configured_key(model: Path, tmp_path: Path) -> None:
    write_private_key(tmp_path / "other.pem")
    sign_files(config({"private-key": "other.pem"}, tmp_path), model.as_posix(), SIGNED,
               (model / "int8.sig").as_posix())
    problems = verify_files(config({"public-key": "key.pub"}, tmp_path), model.as_posix(),
                            (model / "int8.sig").as_posix())
    assert len(problems) == 1 and problems[0].startswith(f"{model.as_posix()}/int8.sig: not signed by the "
                                                         "configured key")


def test_a_failed_signing_leaves_no_signature(model: Path, tmp_path: Path) -> None:
    """No partial or stale signature, and no temporary file, after a failure."""
    with pytest.raises(BuildError, match="gone.tflite is missing; nothing was signed"):
        sign_files(config({"private-key": "key.pem"}, tmp_path), model.as_posix(), ["gone.tflite"],
                   (model / "gone.sig").as_posix())
    assert not list(model.glob("*.sig")) and not list(model.glob(".*"))


def test_missing_signature_is_named(model: Path, tmp_path: Path) -> None:
    assert verify_files(config({"public-key": "key.pub"}, tmp_path), model.as_posix(),
                        (model / "int8.sig").as_posix()) == [f"{model.as_posix()}/int8.sig: missing (not signed)"]


def test_certificate_mode_verifies_against_the_chain(model: Path, tmp_path: Path) -> None:
    key = write_private_key(tmp_path / "signer.pem")
    write_certificates(tmp_path, key)
    signing = config({"private-key": "signer.pem", "certificate": "signer.crt", "certificate-chain": ["ca.crt"]},
                     tmp_path)
    sign_files(signing, model.as_posix(), SIGNED, (model / "int8.sig").as_posix())
    assert verify_files(config({"certificate-chain": ["ca.crt"]}, tmp_path), model.as_posix(),
                        (model / "int8.sig").as_posix()) == []


def test_a_cache_entry_signature_binds_its_statement(tmp_path: Path) -> None:
    """The same blobs under another task or key do not verify: a signed entry cannot be replayed."""
    write_public_key(tmp_path / "key.pub", write_private_key(tmp_path / "key.pem"))
    blob = tmp_path / "blob"
    blob.write_bytes(b"output bytes")
    statement = {"task": "tflite:m.int8", "key": "abc", "roles": ["build/m/int8.tflite"]}
    signature = (tmp_path / "entry.sig").as_posix()
    sign_blobs(config({"private-key": "key.pem"}, tmp_path), statement, [blob.as_posix()], signature)
    verifying = config({"public-key": "key.pub"}, tmp_path)
    assert verify_blobs(verifying, statement, [blob.as_posix()], signature) is None
    assert verify_blobs(verifying, {**statement, "key": "older"}, [blob.as_posix()], signature) is not None
    blob.write_bytes(b"other bytes")
    assert verify_blobs(verifying, statement, [blob.as_posix()], signature) is not None
