"""`[tool.tflmake.signing]`: parsing, resolving paths and environment variables, the hand-over to build steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from tflmake.signing import SETTINGS_ENV
from tflmake.signing.config import (
    SigningConfig,
    SigningConfigError,
    fragment,
    from_environment,
    parse_table,
    resolve,
    to_environment,
)


def settings(table: dict[str, object], root: Path, environ: dict[str, str] | None = None) -> SigningConfig:
    return resolve(parse_table(table, "pyproject.toml"), "pyproject.toml", environ or {}, root)


def test_a_private_key_turns_signing_on_with_an_absolute_path(tmp_path: Path) -> None:
    """A relative key path is resolved against the project folder; signing is on, in key mode."""
    (tmp_path / "key.pem").write_text("x")
    config = settings({"private-key": "key.pem"}, tmp_path)
    assert config.private_key == (tmp_path / "key.pem").as_posix()
    assert config.signs and config.verifies and config.mode == "key"


def test_only_a_public_key_verifies_without_signing(tmp_path: Path) -> None:
    (tmp_path / "key.pub").write_text("x")
    config = settings({"public-key": "key.pub", "require-signed-cache": True}, tmp_path)
    assert not config.signs and config.verifies and config.require_signed_cache


def test_private_key_env_names_a_variable_holding_the_path(tmp_path: Path) -> None:
    (tmp_path / "ci.pem").write_text("x")
    config = settings({"private-key-env": "CI_KEY"}, tmp_path, {"CI_KEY": str(tmp_path / "ci.pem")})
    assert config.private_key == (tmp_path / "ci.pem").as_posix()
    assert "private-key-env ($CI_KEY)" in config.where("private_key")


def test_unset_key_variable_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SigningConfigError, match=r"^pyproject.toml: tool.tflmake.signing.private-key-env: "
                       r"environment variable CI_KEY is not set"):
        settings({"private-key-env": "CI_KEY"}, tmp_path)


def test_missing_key_file_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SigningConfigError, match=r"^pyproject.toml: tool.tflmake.signing.private-key: cannot read "
                       r"keys/gone.pem: No such file or directory$"):
        settings({"private-key": "keys/gone.pem"}, tmp_path)


def test_unreadable_key_file_is_refused(tmp_path: Path) -> None:
    """A folder where a key should be cannot be read as a key."""
    (tmp_path / "keys").mkdir()
    with pytest.raises(SigningConfigError, match="tool.tflmake.signing.private-key: cannot read keys"):
        settings({"private-key": "keys"}, tmp_path)


def test_unknown_key_suggests_the_nearest(tmp_path: Path) -> None:
    with pytest.raises(SigningConfigError, match='tool.tflmake.signing.privat-key: unknown key; did you mean '
                       '"private-key"'):
        settings({"privat-key": "k.pem"}, tmp_path)


@pytest.mark.parametrize(("table", "message"), [
    ({"sigstore": "yes"}, "sigstore: expected true or false; got 'yes'"),
    ({"certificate-chain": "ca.crt"}, "certificate-chain: expected a list of paths"),
    ({"private-key": "a", "private-key-env": "B"}, "private-key-env: set either it or private-key, not both"),
    ({"certificate": "c.crt"}, "certificate: needs the certificate's private key"),
    ({"sigstore": True, "private-key": "k"}, "sigstore: Sigstore signs without a key"),
    ({"require-signed-cache": True}, "require-signed-cache: needs the key that signs the cache"),
    ({"encryption-key-env": "A=B"}, "encryption-key-env: expected the name of an environment variable"),
])
def test_wrong_settings_are_one_line_each(table: dict[str, object], message: str) -> None:
    with pytest.raises(SigningConfigError, match=f"^pyproject.toml: tool.tflmake.signing.{message}"):
        parse_table(table, "pyproject.toml")


def test_settings_reach_build_steps_through_the_environment(tmp_path: Path) -> None:
    """What the command resolved is what a build step (also a `-n` worker) reads back."""
    for name in ("key.pem", "ca.crt", "aes.key"):
        (tmp_path / name).write_text("x")
    config = settings({"private-key": "key.pem", "certificate-chain": ["ca.crt"], "encryption-key": "aes.key"},
                      tmp_path)
    assert from_environment({SETTINGS_ENV: to_environment(config)}) == config
    assert from_environment({}) is None


def test_the_task_cache_fragment_is_absent_when_signing_is_off(tmp_path: Path) -> None:
    """Signing off leaves the task cache's key as it was; a rewritten key file changes it."""
    (tmp_path / "key.pub").write_text("x")
    assert fragment(None) is None
    assert fragment(settings({"public-key": "key.pub"}, tmp_path)) is None
    (tmp_path / "key.pem").write_text("x")
    config = settings({"private-key": "key.pem"}, tmp_path)
    before = fragment(config)
    (tmp_path / "key.pem").write_text("a new key")
    assert fragment(config) != before
