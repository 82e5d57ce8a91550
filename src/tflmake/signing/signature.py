"""Signatures in the OpenSSF model-signing format, made and checked through the `model-signing` library.

A signature covers a chosen set of files in one folder (a variant's shipped files in
`build/<model>/`): the library's own file serialization, restricted to those files,
so the stock command checks it with
`model_signing verify key build/<model> --signature S --public_key P --ignore_unsigned_files`.
Signatures are not byte-reproducible (ECDSA is randomised); what they cover is.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tflmake.digest import sha256_file
from tflmake.errors import BuildError
from tflmake.signing.config import SigningConfig
from tflmake.signing.keys import key_id, load_private_key

_UMASK = os.umask(0)
os.umask(_UMASK)


def _library() -> tuple[Any, Any, Any]:
    """model_signing's hashing, signing and verifying modules (pyOpenSSL's deprecation warnings hidden)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from model_signing import hashing, signing, verifying
    except ImportError:
        raise BuildError('signing needs the model-signing package: pip install "tflmake[sign]"') from None
    return hashing, signing, verifying


def _subset_hashing(hashing: Any, names: Sequence[str]) -> Any:
    """The library's default hashing (sha256 per file), restricted to `names` inside the folder."""

    class SubsetHashing(hashing.Config):  # type: ignore[misc, name-defined]
        def hash(self, model_path: Any, *, files_to_hash: Any = None) -> Any:
            return super().hash(model_path, files_to_hash=[Path(model_path) / name for name in names])

    return SubsetHashing()


def sign_files(config: SigningConfig, folder: str, names: Sequence[str], signature: str) -> None:
    """Sign the files `names` (relative to `folder`) into `signature`, atomically: a failure leaves none."""
    hashing, signing, _ = _library()
    missing = [name for name in names if not (Path(folder) / name).is_file()]
    if missing:
        raise BuildError(f"{Path(folder, missing[0]).as_posix()} is missing; nothing was signed")
    signer = signing.Config().set_hashing_config(_subset_hashing(hashing, sorted(names)))
    if config.sigstore:
        signer = signer.use_sigstore_signer(use_ambient_credentials=True)
    else:
        assert config.private_key is not None
        load_private_key(config.private_key, config.where("private_key"))  # one line instead of the library's
        if config.certificate:
            signer = signer.use_certificate_signer(private_key=config.private_key,
                                                   signing_certificate=config.certificate,
                                                   certificate_chain=list(config.certificate_chain))
        else:
            signer = signer.use_elliptic_key_signer(private_key=config.private_key)
    with _replacing(signature) as temporary:
        try:
            signer.sign(folder, temporary)
        except Exception as error:  # noqa: BLE001 (the library and Sigstore raise many kinds)
            raise BuildError(f"signing {signature} failed: {_first_line(error)}") from None


@contextmanager
def _replacing(path: str) -> Iterator[str]:
    """A temporary path beside `path` that replaces it if the block succeeds (never a partial signature)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def signed_files(signature: str) -> dict[str, str]:
    """name -> sha256 of each file a signature covers, read from its payload (not a verification)."""
    bundle = json.loads(Path(signature).read_text("utf-8"))
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return {resource["name"]: resource["digest"] for resource in statement["predicate"]["resources"]}


def verify_files(config: SigningConfig, folder: str, signature: str) -> list[str]:
    """Problems with `signature` over its files in `folder`, one line each naming the file; [] when valid."""
    _, _, verifying = _library()
    if not Path(signature).is_file():
        return [f"{signature}: missing (not signed)"]
    try:
        covered = signed_files(signature)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [f"{signature}: not a model-signing signature ({_first_line(error)})"]
    with _verifier(config, verifying) as verifier:
        try:
            verifier.set_ignore_unsigned_files(True).verify(Path(folder), Path(signature))
            return []
        except Exception as error:  # noqa: BLE001 (ValueError, InvalidSignature, OpenSSL errors)
            message = _first_line(error)
    if not message.startswith("Signature mismatch"):
        return [f"{signature}: {_not_valid(config)} ({message})"]
    problems = []
    for name, digest in sorted(covered.items()):
        path = Path(folder) / name
        if not path.is_file():
            problems.append(f"{path.as_posix()}: missing (signed in {signature})")
        elif sha256_file(path) != digest:
            problems.append(f"{path.as_posix()}: changed since it was signed (signature {signature} fails)")
    return problems or [f"{signature}: {message}"]


def _not_valid(config: SigningConfig) -> str:
    if config.mode == "certificate":
        return "not signed by a certificate the configured certificate-chain trusts"
    if config.mode == "sigstore":
        return f"not signed by {config.sigstore_identity}"
    return "not signed by the configured key"


@contextmanager
def _verifier(config: SigningConfig, verifying: Any) -> Iterator[Any]:
    """The library's verifier for the configured key, certificates or Sigstore identity."""
    verifier = verifying.Config()
    if config.mode == "sigstore":
        yield verifier.use_sigstore_verifier(identity=config.sigstore_identity, oidc_issuer=config.sigstore_issuer)
    elif config.mode == "certificate":
        yield verifier.use_certificate_verifier(certificate_chain=list(config.certificate_chain))
    elif config.public_key:
        yield verifier.use_elliptic_key_verifier(public_key=config.public_key)
    else:
        # No public key configured: the private key's own (written out: the library reads a file).
        from cryptography.hazmat.primitives import serialization

        assert config.private_key is not None
        public = load_private_key(config.private_key, config.where("private_key")).public_key()
        folder = tempfile.mkdtemp(prefix="tflmake-public-key.")
        try:
            path = Path(folder) / "public.pem"
            path.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo))
            yield verifier.use_elliptic_key_verifier(public_key=path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def describe(config: SigningConfig) -> str:
    """Who verification trusts, for messages: `key 1a2b3c4d5e6f7a8b`, the certificate chain, or the identity."""
    if config.mode == "sigstore":
        return f"Sigstore identity {config.sigstore_identity}"
    if config.mode == "certificate":
        return "the configured certificate-chain"
    from tflmake.signing.keys import verifying_key_id

    return f"key {verifying_key_id(config)}"


def sign_blobs(config: SigningConfig, statement: dict[str, Any], files: Sequence[str], signature: str) -> None:
    """Sign a shared-cache entry: `statement` (its task, key and roles) and its blob files, in that order."""
    with _blob_folder(statement, files) as (folder, names):
        sign_files(config, folder, names, signature)


def verify_blobs(config: SigningConfig, statement: dict[str, Any], files: Sequence[str], signature: str) -> str | None:
    """Why the signature does not cover exactly this `statement` and these blob files; None when it does."""
    with _blob_folder(statement, files) as (folder, _):
        problems = verify_files(config, folder, signature)
    return "; ".join(problem.replace(folder + "/", "") for problem in problems) or None


@contextmanager
def _blob_folder(statement: dict[str, Any], files: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
    """A temporary folder holding `statement.json` and each file as `blob-<n>` (hard links where possible)."""
    folder = tempfile.mkdtemp(prefix="tflmake-signed-entry.")
    try:
        names = ["statement.json"]
        Path(folder, names[0]).write_text(json.dumps(statement, sort_keys=True), "utf-8")
        for number, path in enumerate(files):
            names.append(f"blob-{number}")
            try:
                os.link(path, Path(folder, names[-1]))
            except OSError:
                shutil.copyfile(path, Path(folder, names[-1]))
        yield folder, names
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def public_key_id(path: str, setting: str) -> str:
    """The key id of the public key in `path` (for the report and messages)."""
    from tflmake.signing.keys import load_public_key

    return key_id(load_public_key(path, setting))


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
