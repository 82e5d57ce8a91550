"""The keys and certificates the signing settings name: loaded, checked, and identified by a short key id.

Every check a user can act on is one line naming the setting: a file that is not a
PEM key, a key that is not EC P-256, an encrypted key, a public key that does not
match the private key, a certificate that does not match it or is not valid now.
`cryptography` is imported inside the functions (it costs ~40 ms).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from tflmake.signing.config import SigningConfig, SigningConfigError

CURVE = "secp256r1"  # what the firmware-side check (PSA, ECDSA P-256) verifies
KEY_ID_LENGTH = 16
SIGNING_TOOLS = ("model-signing",)  # the versions a signature task's key holds
GENERATE_HINT = "openssl ecparam -name prime256v1 -genkey -noout -out signing-key.pem"


class Identity(NamedTuple):
    """Who signs: the mode and the key id of the signing key (None with Sigstore, whose key is per signature)."""

    mode: str
    key_id: str | None


def key_id(public_key: Any) -> str:
    """The short key id: the first 16 hex digits of the sha256 of the public key's DER (SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:KEY_ID_LENGTH]


def load_private_key(path: str, setting: str) -> Any:
    """The EC P-256 private key in PEM file `path`; `setting` names where it was configured."""
    from cryptography.hazmat.primitives import serialization

    data = _read(path, setting)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SigningConfigError(f"{setting}: {path} is encrypted with a passphrase; tflmake signs unattended, "
                                 "so give it an unencrypted key (kept out of the repository)") from None
    except (ValueError, Exception) as error:  # noqa: B014 (cryptography raises ValueError or UnsupportedAlgorithm)
        if b"PUBLIC KEY" in data and b"PRIVATE KEY" not in data:
            raise SigningConfigError(f"{setting}: {path} is a public key; expected the private key") from None
        raise SigningConfigError(f"{setting}: {path} is not a PEM private key ({_first_line(error)}); "
                                 f"make one with `{GENERATE_HINT}`") from None
    _check_curve(key.public_key(), path, setting)
    return key


def load_public_key(path: str, setting: str) -> Any:
    """The EC P-256 public key in PEM file `path`."""
    from cryptography.hazmat.primitives import serialization

    data = _read(path, setting)
    try:
        key = serialization.load_pem_public_key(data)
    except Exception as error:  # noqa: BLE001 (ValueError or UnsupportedAlgorithm: one line either way)
        if b"PRIVATE KEY" in data:
            raise SigningConfigError(f"{setting}: {path} is a private key; give the public key (`openssl ec -in "
                                     "signing-key.pem -pubout -out signing-key.pub`)") from None
        raise SigningConfigError(f"{setting}: {path} is not a PEM public key ({_first_line(error)})") from None
    _check_curve(key, path, setting)
    return key


def _check_curve(public_key: Any, path: str, setting: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        kind = type(public_key).__name__.removeprefix("_").replace("PublicKey", "")
        raise SigningConfigError(f"{setting}: {path}: wrong key type {kind}; expected an EC P-256 key "
                                 f"(`{GENERATE_HINT}`)")
    if public_key.curve.name != CURVE:
        raise SigningConfigError(f"{setting}: {path}: wrong key type EC {public_key.curve.name}; expected an EC "
                                 f"P-256 (prime256v1) key, which the firmware check verifies (`{GENERATE_HINT}`)")


def load_certificate(path: str, setting: str, now: datetime | None = None) -> Any:
    """The PEM certificate in `path`, refused when it is not valid at `now` (default: the current time)."""
    from cryptography import x509

    data = _read(path, setting)
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError as error:
        raise SigningConfigError(f"{setting}: {path} is not a PEM certificate ({_first_line(error)})") from None
    now = now or datetime.now(UTC)
    if certificate.not_valid_after_utc < now:
        raise SigningConfigError(f"{setting}: {path}: the certificate expired on "
                                 f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; renew it")
    if certificate.not_valid_before_utc > now:
        raise SigningConfigError(f"{setting}: {path}: the certificate is not valid before "
                                 f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    return certificate


def check_signing(config: SigningConfig, now: datetime | None = None) -> Identity:
    """Load and check every key and certificate the settings name; who signs (mode, key id)."""
    if config.sigstore or not config.private_key:
        if config.public_key:
            load_public_key(config.public_key, config.where("public_key"))
        return Identity(config.mode, None)
    private = load_private_key(config.private_key, config.where("private_key"))
    identity = key_id(private.public_key())
    if config.public_key:
        public = load_public_key(config.public_key, config.where("public_key"))
        if key_id(public) != identity:
            raise SigningConfigError(f"{config.where('public_key')}: {Path(config.public_key).name} (key "
                                     f"{key_id(public)}) does not match the private key (key {identity}) of "
                                     f"{config.where('private_key')}")
    if config.certificate:
        certificate = load_certificate(config.certificate, config.where("certificate"), now)
        if key_id(certificate.public_key()) != identity:
            raise SigningConfigError(f"{config.where('certificate')}: {Path(config.certificate).name} certifies "
                                     f"key {key_id(certificate.public_key())}, not the private key (key {identity})")
    for path in config.certificate_chain:
        load_certificate(path, config.where("certificate_chain"), now)
    return Identity(config.mode, identity)


def verifying_key_id(config: SigningConfig) -> str | None:
    """The key id signatures must carry: the public key's, else the private key's (None with certificates)."""
    if config.public_key:
        return key_id(load_public_key(config.public_key, config.where("public_key")))
    if config.private_key and not config.certificate:
        return key_id(load_private_key(config.private_key, config.where("private_key")).public_key())
    return None


def _read(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise SigningConfigError(f"{setting}: cannot read {path}: {error.strerror or error}") from None


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
