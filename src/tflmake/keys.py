"""The firmware keys: where the build finds them, their public ids, and what the bundle does with them.

The only module that reads `TFLMAKE_SIGNING_KEY` (a PEM EC P-256 private key) and
`TFLMAKE_ENCRYPTION_KEY` (a 16- or 32-byte AES key, raw or hex). A key never
leaves this module: task keys, logs and bundles carry its id (sha256 of the
public key's DER, or of the AES key's bytes) and what it made (a signature,
a ciphertext). `cryptography` is imported inside the functions that need it,
so a no-op never loads it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tflmake.errors import BuildError

SIGNING_KEY_VARIABLE = "TFLMAKE_SIGNING_KEY"
ENCRYPTION_KEY_VARIABLE = "TFLMAKE_ENCRYPTION_KEY"
AES_KEY_BYTES = (16, 32)
NONCE_BYTES = 12  # AES-GCM's standard nonce: what psa_aead_decrypt expects for PSA_ALG_GCM
TAG_BYTES = 16
SIGNATURE_BYTES = 64  # ECDSA P-256 as raw r || s, the form psa_verify_hash takes
PUBLIC_KEY_BYTES = 65  # an uncompressed P-256 point, 0x04 || x || y, the form psa_import_key takes
_HEX_KEY = re.compile(rb"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{64}")


@dataclass(frozen=True)
class Signature:
    """A model's signature as the firmware checks it."""

    signature: bytes  # raw r || s
    public_key: bytes  # uncompressed point
    key_id: str  # sha256 of the public key's DER (SubjectPublicKeyInfo), hex


@dataclass(frozen=True)
class Sealed:
    """A model encrypted with AES-GCM: ciphertext (as long as the model), tag, nonce, key id."""

    ciphertext: bytes
    tag: bytes
    nonce: bytes
    key_id: str  # sha256 of the AES key's bytes, hex
    key_bits: int


def signing_key_path() -> str | None:
    """The signing key file named by TFLMAKE_SIGNING_KEY, or None when signing is off."""
    return os.environ.get(SIGNING_KEY_VARIABLE) or None


def encryption_key_path() -> str | None:
    """The AES key file named by TFLMAKE_ENCRYPTION_KEY, or None when it is not set."""
    return os.environ.get(ENCRYPTION_KEY_VARIABLE) or None


def key_files() -> list[str]:
    """The key files the environment names (what a signing or encrypting task also depends on)."""
    return [path for path in (signing_key_path(), encryption_key_path()) if path]


def key_stamp() -> list[tuple[str, str, int, int]]:
    """Each key variable with its file's size and mtime (never its bytes): a new key changes it."""
    stamp = []
    named = ((SIGNING_KEY_VARIABLE, signing_key_path()), (ENCRYPTION_KEY_VARIABLE, encryption_key_path()))
    for variable, path in named:
        if path:
            try:
                stat = os.stat(path)
                stamp.append((variable, path, stat.st_size, stat.st_mtime_ns))
            except OSError:
                stamp.append((variable, path, -1, -1))
    return stamp


def bundle_key_ids(encrypt: bool) -> tuple[dict[str, str], list[str]]:
    """The ids of the keys a firmware bundle is signed and encrypted with (never the keys), and their files.

    Empty when signing is off and `encrypt` false, so such a bundle keeps its task key. A key
    that cannot be used gets an id saying so ("missing", "unusable"): the build then fails with
    the reason. Only existing files are listed (doit refuses a missing file_dep less clearly).
    """
    ids: dict[str, str] = {}
    files: list[str] = []
    uses: list[tuple[str, str | None, Callable[[str], str]]] = [("signing_key", signing_key_path(), signing_key_id)]
    if encrypt:
        uses.append(("encryption_key", encryption_key_path(), lambda path: encryption_key_id(encryption_key(path))))
        ids["encryption_key"] = "missing"
    for name, path, key_id in uses:
        if path is None:
            continue
        try:
            ids[name] = key_id(path)
        except BuildError:
            ids[name] = "unusable"
        if os.path.isfile(path):
            files.append(path)
    return ids, files


def _read(variable: str, path: str) -> bytes:
    if not os.path.isabs(path):
        raise BuildError(f"{variable}={path}: expected an absolute path")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise BuildError(f"{variable}={path}: cannot read the key ({error.strerror})") from None


def _require_cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise BuildError("signed and encrypted firmware bundles need the cryptography package: "
                         "pip install 'tflmake[signing]'") from None


def _private_key(path: str) -> Any:
    """The EC P-256 private key in the PEM file at `path`."""
    _require_cryptography()
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(_read(SIGNING_KEY_VARIABLE, path), password=None)
    except (ValueError, TypeError) as error:
        raise BuildError(f"{SIGNING_KEY_VARIABLE}={path}: not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        kind = getattr(getattr(key, "curve", None), "name", type(key).__name__)
        raise BuildError(f"{SIGNING_KEY_VARIABLE}={path}: expected an EC P-256 (secp256r1) key; got {kind}")
    return key


def public_key_id(public_key: Any) -> str:
    """sha256 of the public key's DER (SubjectPublicKeyInfo), hex: how logs and task keys name it."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return hashlib.sha256(public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def signing_key_id(path: str) -> str:
    """The id of the public half of the signing key at `path`."""
    return public_key_id(_private_key(path).public_key())


def encryption_key(path: str) -> bytes:
    """The AES key in the file at `path`: 16 or 32 raw bytes, or 32 or 64 hex digits."""
    data = _read(ENCRYPTION_KEY_VARIABLE, path)
    if _HEX_KEY.fullmatch(data.strip()):
        return bytes.fromhex(data.strip().decode("ascii"))
    if len(data) in AES_KEY_BYTES:
        return data
    raise BuildError(f"{ENCRYPTION_KEY_VARIABLE}={path}: expected a 16- or 32-byte AES key (raw bytes, "
                     f"or 32 or 64 hex digits); the file holds {len(data)} bytes")


def encryption_key_id(key: bytes) -> str:
    """sha256 of the AES key's bytes, hex."""
    return hashlib.sha256(key).hexdigest()


def sign_model(data: bytes, path: str) -> Signature:
    """Deterministic ECDSA P-256 / SHA-256 (RFC 6979) over `data`: the same bytes sign the same way."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = _private_key(path)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))
    public = key.public_key()
    return Signature(signature=r.to_bytes(32, "big") + s.to_bytes(32, "big"),
                     public_key=public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint),
                     key_id=public_key_id(public))


def gcm_nonce(key_id: str, model_sha256: str) -> bytes:
    """The first 12 bytes of sha256(key id || model sha256), both as raw digests.

    Deterministic, so a rebuild is byte-identical; unique per (key, model), so
    one key never encrypts two different models under one nonce.
    """
    return hashlib.sha256(bytes.fromhex(key_id) + bytes.fromhex(model_sha256)).digest()[:NONCE_BYTES]


def encrypt_model(data: bytes, path: str) -> Sealed:
    """AES-GCM of `data` with the key at `path`, no associated data."""
    key = encryption_key(path)
    _require_cryptography()
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key_id = encryption_key_id(key)
    nonce = gcm_nonce(key_id, hashlib.sha256(data).hexdigest())
    sealed = AESGCM(key).encrypt(nonce, data, None)
    return Sealed(ciphertext=sealed[:-TAG_BYTES], tag=sealed[-TAG_BYTES:], nonce=nonce, key_id=key_id,
                  key_bits=8 * len(key))
