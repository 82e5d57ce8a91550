"""`[tool.tflmake.signing]`: which key signs the build, which key or certificates verify it.

Parsed (`parse_table`) and then resolved (`resolve`: a key named by an environment
variable is looked up, every path made absolute and checked readable) by the
`tflmake` command, which hands the result to its build steps in one environment
variable, as it does the cache settings. Paths only: no key's bytes ever enter the
settings, the build folder, the cache or a log.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from tflmake.errors import TflmakeError
from tflmake.signing import SETTINGS_ENV

TABLE = "tool.tflmake.signing"


class SigningConfigError(TflmakeError):
    """The signing settings, or a key or certificate they name, are wrong."""


class SettingKey(NamedTuple):
    """One key of `[tool.tflmake.signing]`: its field, check, what the message says was expected, and help."""

    field: str
    valid: Callable[[Any], bool]
    expected: str
    help: str


def _path(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _variable(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "=" not in value


# The table's keys, as data: the settings reference (docs/gen) is generated from it.
KEYS: dict[str, SettingKey] = {
    "private-key": SettingKey(
        "private_key", _path, "a path (a string)",
        "PEM EC P-256 private key that signs every variant's shipped files and each manifest.json; relative "
        "to the project folder. Signing is on when this, `private-key-env` or `sigstore` is set."),
    "private-key-env": SettingKey(
        "private_key_env", _variable, "the name of an environment variable",
        "Name of an environment variable holding the private key's path (for CI secrets); instead of "
        "`private-key`."),
    "certificate": SettingKey(
        "certificate", _path, "a path (a string)",
        "Certificate mode: PEM signing certificate of the private key (must not be expired); the signatures "
        "carry it and `certificate-chain`."),
    "certificate-chain": SettingKey(
        "certificate_chain", lambda v: isinstance(v, list) and all(_path(item) for item in v),
        "a list of paths", "Certificate mode: PEM certificates from the signing certificate's issuer up to the "
        "root; signing includes them, verification trusts them."),
    "sigstore": SettingKey(
        "sigstore", lambda v: isinstance(v, bool), "true or false",
        "Sign with Sigstore's public keyless service instead of a key (online; opens a browser or uses ambient "
        "CI credentials)."),
    "sigstore-identity": SettingKey(
        "sigstore_identity", _path, "an identity (a string)",
        "Sigstore: the signer identity (e-mail or workflow URL) `tflmake verify` accepts."),
    "sigstore-issuer": SettingKey(
        "sigstore_issuer", _path, "an OIDC issuer URL (a string)",
        "Sigstore: the OpenID Connect issuer of that identity, e.g. https://github.com/login/oauth."),
    "public-key": SettingKey(
        "public_key", _path, "a path (a string)",
        "PEM EC P-256 public key that `tflmake verify` and `require-signed-cache` accept signatures from "
        "(default: the private key's own public key)."),
    "require-signed-cache": SettingKey(
        "require_signed_cache", lambda v: isinstance(v, bool), "true or false",
        "Restore a shared-cache entry only with a valid signature from the public key (or certificate chain); "
        "otherwise refuse it and build locally."),
    "encryption-key": SettingKey(
        "encryption_key", _path, "a path (a string)",
        "File holding a 16- or 32-byte AES key (raw or hex) for encrypted model arrays; handed to build steps "
        "as TFLMAKE_ENCRYPTION_KEY."),
    "encryption-key-env": SettingKey(
        "encryption_key_env", _variable, "the name of an environment variable",
        "Name of an environment variable holding the encryption key file's path; instead of `encryption-key`."),
}

# Settings that name a file (resolved to an absolute path and checked readable), by field.
_FILE_FIELDS = ("private_key", "certificate", "public_key", "encryption_key")


@dataclass(frozen=True)
class SigningConfig:
    """The signing settings of one build, every path absolute once resolved."""

    private_key: str | None = None
    certificate: str | None = None
    certificate_chain: tuple[str, ...] = ()
    sigstore: bool = False
    sigstore_identity: str | None = None
    sigstore_issuer: str | None = None
    public_key: str | None = None
    require_signed_cache: bool = False
    encryption_key: str | None = None
    # The setting each resolved path came from, for messages: "pyproject.toml: tool.tflmake.signing.private-key".
    origins: dict[str, str] = field(default_factory=dict)

    @property
    def signs(self) -> bool:
        """The build signs what it ships."""
        return bool(self.private_key) or self.sigstore

    @property
    def mode(self) -> str:
        """How signatures are made and checked: `key`, `certificate` or `sigstore`."""
        return "sigstore" if self.sigstore else "certificate" if self.certificate or self.certificate_chain else "key"

    @property
    def verifies(self) -> bool:
        """Signatures can be checked: a public key, a private key to derive it from, certificates or an identity."""
        return bool(self.public_key or self.private_key or self.certificate_chain
                    or (self.sigstore_identity and self.sigstore_issuer))

    def where(self, name: str) -> str:
        """The setting `name` (a field) came from, for a message."""
        return self.origins.get(name, f"{TABLE}.{name.replace('_', '-')}")


def parse_table(table: Any, where: str) -> dict[str, Any]:
    """`[tool.tflmake.signing]` checked key by key: field -> value; `where` names the file in messages."""
    if not isinstance(table, dict):
        raise SigningConfigError(f"{where}: {TABLE}: expected a table; got {table!r}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else f"; expected one of {', '.join(KEYS)}"
            raise SigningConfigError(f"{where}: {TABLE}.{key}: unknown key{hint}")
        setting = KEYS[key]
        if not setting.valid(value):
            raise SigningConfigError(f"{where}: {TABLE}.{key}: expected {setting.expected}; got {value!r}")
        values[setting.field] = value
    _check_combination(values, where)
    return values


def _check_combination(values: dict[str, Any], where: str) -> None:
    def both(first: str, second: str) -> None:
        if first in values and second in values:
            raise SigningConfigError(f"{where}: {TABLE}.{second.replace('_', '-')}: set either it or "
                                     f"{first.replace('_', '-')}, not both")

    both("private_key", "private_key_env")
    both("encryption_key", "encryption_key_env")
    has_private = "private_key" in values or "private_key_env" in values
    if values.get("sigstore") and has_private:
        raise SigningConfigError(f"{where}: {TABLE}.sigstore: Sigstore signs without a key; remove private-key "
                                 "(or set sigstore = false)")
    if "certificate" in values and not has_private:
        raise SigningConfigError(f"{where}: {TABLE}.certificate: needs the certificate's private key "
                                 "(private-key or private-key-env)")
    if values.get("sigstore") and ("sigstore_identity" in values) != ("sigstore_issuer" in values):
        raise SigningConfigError(f"{where}: {TABLE}: set sigstore-identity and sigstore-issuer together")
    if values.get("require_signed_cache") and not (has_private or "public_key" in values
                                                   or "certificate_chain" in values):
        raise SigningConfigError(f"{where}: {TABLE}.require-signed-cache: needs the key that signs the cache: "
                                 "public-key (or private-key, or certificate-chain)")


def resolve(values: dict[str, Any], where: str, environ: Mapping[str, str], root: Path = Path(".")) -> SigningConfig:
    """The settings with keys named by environment variables looked up and every path absolute and readable.

    Args:
        values: what `parse_table` returned.
        root: the project folder relative paths start from.
    """
    resolved: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, value in values.items():
        if name.endswith("_env"):
            target = name.removesuffix("_env")
            setting = f"{where}: {TABLE}.{target.replace('_', '-')}-env"
            path = environ.get(value, "")
            if not path:
                raise SigningConfigError(f"{setting}: environment variable {value} is not set (it should hold "
                                         "the key file's path)")
            resolved[target], origins[target] = path, f"{setting} (${value})"
        elif name == "certificate_chain":
            resolved[name] = tuple(value)
            origins[name] = f"{where}: {TABLE}.certificate-chain"
        else:
            resolved[name] = value
            origins[name] = f"{where}: {TABLE}.{name.replace('_', '-')}"
    for name in (*_FILE_FIELDS, "certificate_chain"):
        if name in resolved:
            paths = resolved[name] if name == "certificate_chain" else (resolved[name],)
            absolute = tuple(_readable(root, path, origins[name]) for path in paths)
            resolved[name] = absolute if name == "certificate_chain" else absolute[0]
    return SigningConfig(**resolved, origins=origins)


def _readable(root: Path, path: str, setting: str) -> str:
    """`path` (relative to `root`) made absolute, after checking it is a file this process can open."""
    full = (root / os.path.expanduser(path)).absolute()
    try:
        with open(full, "rb"):
            pass
    except OSError as error:
        raise SigningConfigError(f"{setting}: cannot read {path}: {error.strerror or error}") from None
    if not full.is_file():
        raise SigningConfigError(f"{setting}: {path} is not a file")
    return full.as_posix()


def to_environment(config: SigningConfig) -> str:
    return json.dumps(asdict(config), sort_keys=True)


def from_environment(environ: Mapping[str, str] = os.environ) -> SigningConfig | None:
    """The settings the tflmake command resolved for this run, or None (nothing signed or verified)."""
    text = environ.get(SETTINGS_ENV)
    if not text:
        return None
    values = json.loads(text)
    values["certificate_chain"] = tuple(values.get("certificate_chain", ()))
    return SigningConfig(**values)


def fragment(config: SigningConfig | None) -> dict[str, Any] | None:
    """What the task dicts depend on (the task cache's key): the settings and each key file's size and mtime.

    A rewritten key file (a new key at the same path) changes it, so the tasks are described
    again and the sign tasks' keys carry the new key id.
    """
    if config is None or not config.signs:
        return None
    files = [path for path in (config.private_key, config.certificate, *config.certificate_chain) if path]
    stats = []
    for path in files:
        try:
            stat = os.stat(path)
            stats.append((path, stat.st_size, stat.st_mtime_ns))
        except OSError:
            stats.append((path, -1, -1))
    return {"settings": to_environment(config), "files": stats}
