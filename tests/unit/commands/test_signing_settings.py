"""`[tool.tflmake.signing]` through the `tflmake` command: one-line errors, the environment build steps read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.keyfiles import write_private_key, write_public_key, write_rsa_key
from tests.support import Project
from tflmake.commands.main import main, project_settings, tflmake_environment
from tflmake.signing import ENCRYPTION_KEY_ENV, KEY_ENV, SETTINGS_ENV


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def configure(project: Project, table: str) -> None:
    (project.root / "pyproject.toml").write_text(f"[tool.tflmake.signing]\n{table}")


def test_key_paths_reach_build_steps_and_nothing_else(cli_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """TFLMAKE_SIGNING_KEY and TFLMAKE_ENCRYPTION_KEY hold absolute paths for the run, and are unset afterwards."""
    write_private_key(cli_project.root / "key.pem")
    (cli_project.root / "aes.key").write_bytes(os.urandom(16))
    monkeypatch.setenv("AES_KEY_FILE", "aes.key")
    configure(cli_project, 'private-key = "key.pem"\nencryption-key-env = "AES_KEY_FILE"\n')
    settings = project_settings(Path("pyproject.toml"))
    with tflmake_environment(settings):
        assert os.environ[KEY_ENV] == (cli_project.root / "key.pem").as_posix()
        assert os.environ[ENCRYPTION_KEY_ENV] == (cli_project.root / "aes.key").as_posix()
        assert "BEGIN" not in os.environ[SETTINGS_ENV]  # paths, never the key's bytes
    assert KEY_ENV not in os.environ and ENCRYPTION_KEY_ENV not in os.environ


def test_signing_off_unsets_what_a_shell_left(cli_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without [tool.tflmake.signing] the build steps see no key, whatever the shell exported."""
    monkeypatch.setenv(KEY_ENV, "/somewhere/key.pem")
    with tflmake_environment(project_settings(Path("pyproject.toml"))):
        assert KEY_ENV not in os.environ and SETTINGS_ENV not in os.environ
    assert os.environ[KEY_ENV] == "/somewhere/key.pem"


def test_missing_key_is_one_line_without_traceback(cli_project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    configure(cli_project, 'private-key = "keys/ci.pem"\n')
    code, out, err = run(capsys, "list")
    assert code == 2 and out == ""
    assert err == ("tflmake: error: pyproject.toml: tool.tflmake.signing.private-key: cannot read keys/ci.pem: "
                   "No such file or directory\n")


def test_wrong_key_type_stops_the_build_with_one_line(cli_project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    """The key is checked when the tasks are described, before anything builds."""
    (cli_project.specs / "m.toml").write_text((Path(__file__).parents[2] / "data/specs/digits_mlp.toml").read_text())
    write_rsa_key(cli_project.root / "rsa.pem")
    configure(cli_project, 'private-key = "rsa.pem"\n')
    code, _, err = run(capsys, "list")
    assert code == 2 and "Traceback" not in err
    assert err.startswith("tflmake: error: pyproject.toml: tool.tflmake.signing.private-key: ")
    assert "wrong key type RSA; expected an EC P-256 key" in err and len(err.splitlines()) == 1


def test_a_public_key_that_does_not_match(cli_project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_project.specs / "m.toml").write_text((Path(__file__).parents[2] / "data/specs/digits_mlp.toml").read_text())
    write_private_key(cli_project.root / "key.pem")
    write_public_key(cli_project.root / "other.pub", write_private_key(cli_project.root / "other.pem"))
    configure(cli_project, 'private-key = "key.pem"\npublic-key = "other.pub"\n')
    code, _, err = run(capsys, "list")
    assert code == 2 and len(err.splitlines()) == 1
    assert "tool.tflmake.signing.public-key: other.pub (key " in err and "does not match the private key" in err


def test_signing_tasks_are_listed_only_when_on(cli_project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_project.specs / "m.toml").write_text((Path(__file__).parents[2] / "data/specs/digits_mlp.toml").read_text())
    _, off, _ = run(capsys, "list", "--all")
    assert "sign" not in off
    write_private_key(cli_project.root / "key.pem")
    configure(cli_project, 'private-key = "key.pem"\n')
    _, on, _ = run(capsys, "list", "--all")
    assert "sign:m.int8" in on and "sign_manifest:m" in on
    assert set(off.splitlines()) < set(on.splitlines())
