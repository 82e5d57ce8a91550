"""The firmware keys: reading them from the environment, their ids, signatures, the GCM nonce."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.psa import write_signing_key
from tflmake import keys
from tflmake.errors import BuildError

pytest.importorskip("cryptography")


@pytest.fixture
def signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "signing.pem"
    write_signing_key(path)
    monkeypatch.setenv(keys.SIGNING_KEY_VARIABLE, str(path))
    return path


@pytest.fixture
def aes_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    key = bytes(range(16))
    (tmp_path / "aes.key").write_bytes(key)
    monkeypatch.setenv(keys.ENCRYPTION_KEY_VARIABLE, str(tmp_path / "aes.key"))
    return key


def test_signature_is_deterministic_raw_r_s_that_cryptography_verifies(signing_key: Path) -> None:
    """Signing the same bytes twice gives the same 64 bytes, a valid ECDSA P-256/SHA-256 signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    first, second = keys.sign_model(b"model bytes", str(signing_key)), keys.sign_model(b"model bytes", str(signing_key))
    assert first == second and len(first.signature) == keys.SIGNATURE_BYTES
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), first.public_key)
    der = encode_dss_signature(int.from_bytes(first.signature[:32], "big"), int.from_bytes(first.signature[32:], "big"))
    public.verify(der, b"model bytes", ec.ECDSA(hashes.SHA256()))
    assert first.public_key[0] == 4 and len(first.public_key) == keys.PUBLIC_KEY_BYTES


def test_signing_key_id_is_the_sha256_of_the_public_key_der(signing_key: Path) -> None:
    """The id names the public half, so a verifier holding only the public key can compute it."""
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(signing_key.read_bytes(), password=None)
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert keys.signing_key_id(str(signing_key)) == hashlib.sha256(der).hexdigest()
    assert keys.sign_model(b"m", str(signing_key)).key_id == hashlib.sha256(der).hexdigest()


def test_a_p384_key_is_refused_naming_the_variable_and_curve(tmp_path: Path) -> None:
    """PSA's check in the firmware takes P-256 keys only."""
    write_signing_key(tmp_path / "p384.pem", curve="secp384r1")
    with pytest.raises(BuildError, match=r"TFLMAKE_SIGNING_KEY=.*p384.pem: expected an EC P-256 \(secp256r1\) key; "
                                         "got secp384r1"):
        keys.sign_model(b"m", str(tmp_path / "p384.pem"))


def test_unreadable_relative_and_non_pem_keys_give_one_line_each(tmp_path: Path) -> None:
    """Missing file, relative path and garbage each name the variable and the path."""
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(BuildError, match=r"^TFLMAKE_SIGNING_KEY=.*missing.pem: cannot read the key \("):
        keys.signing_key_id(str(tmp_path / "missing.pem"))
    with pytest.raises(BuildError, match=r"^TFLMAKE_SIGNING_KEY=key.pem: expected an absolute path$"):
        keys.signing_key_id("key.pem")
    with pytest.raises(BuildError, match=r"^TFLMAKE_SIGNING_KEY=.*junk.pem: not an unencrypted PEM private key"):
        keys.signing_key_id(str(tmp_path / "junk.pem"))


@pytest.mark.parametrize("content", [bytes(range(16)), bytes(range(32)), bytes(range(16)).hex().encode() + b"\n",
                                     bytes(range(32)).hex().upper().encode()])
def test_aes_key_file_holds_raw_bytes_or_hex(tmp_path: Path, content: bytes) -> None:
    """16 or 32 raw bytes, or 32 or 64 hex digits (a trailing newline is fine)."""
    (tmp_path / "k").write_bytes(content)
    key = keys.encryption_key(str(tmp_path / "k"))
    assert key in (bytes(range(16)), bytes(range(32)))


def test_aes_key_of_another_length_is_refused(tmp_path: Path) -> None:
    """A 24-byte (AES-192) key or a typo'd hex string is an error, not a guess."""
    (tmp_path / "k").write_bytes(bytes(24))
    with pytest.raises(BuildError, match=r"TFLMAKE_ENCRYPTION_KEY=.*: expected a 16- or 32-byte AES key .* "
                                         "the file holds 24 bytes"):
        keys.encryption_key(str(tmp_path / "k"))


def test_nonce_is_the_first_12_bytes_of_sha256_of_key_id_and_model_digest() -> None:
    """Deterministic per (key, model), different for another model or another key."""
    key_id, model = "11" * 32, "22" * 32
    nonce = keys.gcm_nonce(key_id, model)
    assert nonce == hashlib.sha256(bytes.fromhex(key_id) + bytes.fromhex(model)).digest()[:12]
    assert keys.gcm_nonce(key_id, "23" * 32) != nonce and keys.gcm_nonce("12" * 32, model) != nonce


def test_encryption_is_byte_identical_on_rebuild_and_decrypts(aes_key: bytes) -> None:
    """Same key and model, same ciphertext and tag; AES-GCM with the derived nonce opens it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    path = os.environ[keys.ENCRYPTION_KEY_VARIABLE]
    sealed = keys.encrypt_model(b"a model" * 10, path)
    assert sealed == keys.encrypt_model(b"a model" * 10, path)
    assert len(sealed.ciphertext) == 70 and len(sealed.tag) == keys.TAG_BYTES and sealed.key_bits == 128
    assert sealed.key_id == hashlib.sha256(aes_key).hexdigest()
    assert sealed.nonce == keys.gcm_nonce(sealed.key_id, hashlib.sha256(b"a model" * 10).hexdigest())
    assert AESGCM(aes_key).decrypt(sealed.nonce, sealed.ciphertext + sealed.tag, None) == b"a model" * 10


def test_bundle_key_ids_are_empty_with_no_key_and_no_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing off and encrypt false: the carray task keeps the key it had before keys existed."""
    monkeypatch.delenv(keys.SIGNING_KEY_VARIABLE, raising=False)
    monkeypatch.delenv(keys.ENCRYPTION_KEY_VARIABLE, raising=False)
    assert keys.bundle_key_ids(False) == ({}, [])
    assert keys.bundle_key_ids(True) == ({"encryption_key": "missing"}, [])


def test_bundle_key_ids_name_the_keys_by_id_and_list_their_files(signing_key: Path, aes_key: bytes) -> None:
    """The task key holds ids (never key bytes); the key files are dependencies."""
    ids, files = keys.bundle_key_ids(True)
    assert ids == {"signing_key": keys.signing_key_id(str(signing_key)),
                   "encryption_key": hashlib.sha256(aes_key).hexdigest()}
    assert files == [str(signing_key), os.environ[keys.ENCRYPTION_KEY_VARIABLE]]
    assert signing_key.read_text() not in repr(ids)
    assert keys.bundle_key_ids(False) == ({"signing_key": ids["signing_key"]}, [str(signing_key)])


def test_an_unusable_key_gets_an_id_saying_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Describing the tasks never fails on a bad key: the build does, with the reason."""
    (tmp_path / "bad.pem").write_text("no")
    monkeypatch.setenv(keys.SIGNING_KEY_VARIABLE, str(tmp_path / "bad.pem"))
    assert keys.bundle_key_ids(False) == ({"signing_key": "unusable"}, [str(tmp_path / "bad.pem")])


def test_key_stamp_changes_with_the_key_file_and_holds_no_key_bytes(signing_key: Path) -> None:
    """The task cache re-describes a model when the key file changes."""
    before = keys.key_stamp()
    write_signing_key(signing_key)
    os.utime(signing_key, ns=(1, 1))
    after = keys.key_stamp()
    assert before != after and after[0][:2] == (keys.SIGNING_KEY_VARIABLE, str(signing_key))
    assert all(isinstance(value, (str, int)) for entry in after for value in entry)
