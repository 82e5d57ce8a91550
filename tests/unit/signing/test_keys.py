"""Keys and certificates: each mistake a user can make is one line naming the setting."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.keyfiles import write_certificates, write_private_key, write_public_key, write_rsa_key
from tflmake.signing.config import SigningConfigError, parse_table, resolve
from tflmake.signing.keys import check_signing, key_id


def check(table: dict[str, object], root: Path) -> object:
    return check_signing(resolve(parse_table(table, "pyproject.toml"), "pyproject.toml", {}, root))


def test_key_id_is_the_sha256_of_the_public_key_der(tmp_path: Path) -> None:
    key = write_private_key(tmp_path / "key.pem")
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key_id(key.public_key()) == hashlib.sha256(der).hexdigest()[:16]
    assert check({"private-key": "key.pem"}, tmp_path) == ("key", key_id(key.public_key()))


def test_rsa_key_is_the_wrong_key_type(tmp_path: Path) -> None:
    write_rsa_key(tmp_path / "rsa.pem")
    with pytest.raises(SigningConfigError, match=r"^pyproject.toml: tool.tflmake.signing.private-key: .*rsa.pem: "
                       r"wrong key type RSA; expected an EC P-256 key"):
        check({"private-key": "rsa.pem"}, tmp_path)


def test_p384_key_is_the_wrong_curve(tmp_path: Path) -> None:
    write_private_key(tmp_path / "p384.pem", ec.SECP384R1())
    with pytest.raises(SigningConfigError, match="wrong key type EC secp384r1; expected an EC P-256"):
        check({"private-key": "p384.pem"}, tmp_path)


def test_encrypted_key_is_refused(tmp_path: Path) -> None:
    write_private_key(tmp_path / "locked.pem", password=b"secret")
    with pytest.raises(SigningConfigError, match="locked.pem is encrypted with a passphrase"):
        check({"private-key": "locked.pem"}, tmp_path)


def test_a_file_that_is_not_a_key(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SigningConfigError, match="private-key: .*notes.txt is not a PEM private key"):
        check({"private-key": "notes.txt"}, tmp_path)


def test_public_key_given_as_the_private_key(tmp_path: Path) -> None:
    key = write_private_key(tmp_path / "key.pem")
    write_public_key(tmp_path / "key.pub", key)
    with pytest.raises(SigningConfigError, match="private-key: .*key.pub is a public key; expected the private key"):
        check({"private-key": "key.pub"}, tmp_path)


def test_public_key_that_does_not_match(tmp_path: Path) -> None:
    key = write_private_key(tmp_path / "key.pem")
    other = write_private_key(tmp_path / "other.pem")
    write_public_key(tmp_path / "other.pub", other)
    with pytest.raises(SigningConfigError, match=(
            rf"^pyproject.toml: tool.tflmake.signing.public-key: other.pub \(key {key_id(other.public_key())}\) "
            rf"does not match the private key \(key {key_id(key.public_key())}\)")):
        check({"private-key": "key.pem", "public-key": "other.pub"}, tmp_path)


def test_expired_certificate(tmp_path: Path) -> None:
    key = write_private_key(tmp_path / "key.pem")
    write_certificates(tmp_path, key, days=(-30, -1))
    with pytest.raises(SigningConfigError, match=r"^pyproject.toml: tool.tflmake.signing.certificate: .*signer.crt: "
                       r"the certificate expired on \d{4}-\d\d-\d\d \d\d:\d\d UTC; renew it$"):
        check({"private-key": "key.pem", "certificate": "signer.crt", "certificate-chain": ["ca.crt"]}, tmp_path)


def test_certificate_not_valid_yet(tmp_path: Path) -> None:
    key = write_private_key(tmp_path / "key.pem")
    write_certificates(tmp_path, key, days=(2, 30))
    with pytest.raises(SigningConfigError, match="signer.crt: the certificate is not valid before"):
        check({"private-key": "key.pem", "certificate": "signer.crt"}, tmp_path)


def test_certificate_of_another_key(tmp_path: Path) -> None:
    write_private_key(tmp_path / "key.pem")
    other = write_private_key(tmp_path / "other.pem")
    write_certificates(tmp_path, other)
    with pytest.raises(SigningConfigError, match="certificate: signer.crt certifies key .*, not the private key"):
        check({"private-key": "key.pem", "certificate": "signer.crt"}, tmp_path)


def test_valid_certificate_signs_in_certificate_mode(tmp_path: Path) -> None:
    key = write_private_key(tmp_path / "key.pem")
    write_certificates(tmp_path, key)
    identity = check({"private-key": "key.pem", "certificate": "signer.crt", "certificate-chain": ["ca.crt"]},
                     tmp_path)
    assert identity == ("certificate", key_id(key.public_key()))
