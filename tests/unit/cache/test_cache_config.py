"""[tool.tflmake.cache], the environment and the command line make one CacheConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from tflmake.cache.config import (
    CacheConfig,
    CacheConfigError,
    from_environment,
    parse_table,
    to_environment,
    with_overrides,
)
from tflmake.commands.main import main, parse_options, project_settings


def test_table_gives_every_setting() -> None:
    """Every documented key lands in its field."""
    config = parse_table({"url": "s3://bucket/cache", "mode": "read-write", "namespace": "v2",
                          "storage-options": {"anon": True}, "max-blob-mb": 50}, "pyproject.toml")
    assert config == CacheConfig("s3://bucket/cache", "read-write", "v2", {"anon": True}, 50)
    assert config.reads and config.writes


def test_default_mode_reads_and_never_writes() -> None:
    """Developers read what CI wrote: the default mode does not write."""
    config = parse_table({"url": "/srv/cache"}, "pyproject.toml")
    assert config.reads and not config.writes


def test_no_url_means_no_cache() -> None:
    assert not CacheConfig().reads and not CacheConfig(mode="read-write").writes


def test_unknown_key_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(CacheConfigError,
                       match=r'pyproject.toml: tool.tflmake.cache.urll: unknown key; did you mean "url"'):
        parse_table({"urll": "x"}, "pyproject.toml")


def test_bad_mode_names_the_choices() -> None:
    with pytest.raises(CacheConfigError, match=r"tool.tflmake.cache.mode: expected one of off, read, read-write; "
                                               r"got 'write'"):
        parse_table({"url": "x", "mode": "write"}, "pyproject.toml")


def test_command_line_beats_environment_beats_file() -> None:
    """Precedence: --cache-url/--cache-mode, then TFLMAKE_CACHE_URL/MODE, then pyproject.toml."""
    base = CacheConfig(url="/file", mode="read")
    environ = {"TFLMAKE_CACHE_URL": "/env", "TFLMAKE_CACHE_MODE": "read-write"}
    assert with_overrides(base, environ) == CacheConfig(url="/env", mode="read-write")
    assert with_overrides(base, environ, url="/flag", mode="off") == CacheConfig(url="/flag", mode="off")


def test_bad_mode_in_environment_is_an_error() -> None:
    with pytest.raises(CacheConfigError, match="environment: cache mode"):
        with_overrides(CacheConfig(), {"TFLMAKE_CACHE_MODE": "sometimes"})


def test_settings_survive_the_environment_round_trip() -> None:
    """What the tflmake command hands its build steps is what it resolved."""
    config = CacheConfig("s3://b", "read-write", "ns", {"key": "k"}, 7.5)
    assert from_environment({"TFLMAKE_CACHE_SETTINGS": to_environment(config)}) == config
    assert from_environment({}) is None


def test_pyproject_cache_table_is_read(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.tflmake]\nbuild-dir = "out"\n[tool.tflmake.cache]\nurl = "/c"\nmode = "off"\n')
    settings = project_settings(pyproject)
    assert settings.build_dir == "out" and settings.cache == CacheConfig(url="/c", mode="off")


def test_flags_set_url_and_mode_and_no_cache_turns_it_off() -> None:
    settings, rest = parse_options(["--cache-url", "/c", "--cache-mode=read-write", "list"],
                                   project_settings(Path("/nonexistent/pyproject.toml")))
    assert settings.cache == CacheConfig(url="/c", mode="read-write") and rest == ["list"]
    settings, _ = parse_options(["--no-cache"], settings)
    assert not settings.cache.reads and not settings.cache.writes


def test_cli_reports_a_bad_cache_key_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.tflmake.cache]\nmax-blob-mb = "big"\n')
    assert main(["validate"]) == 2
    assert capsys.readouterr().err == ("tflmake: error: pyproject.toml: tool.tflmake.cache.max-blob-mb: "
                                       "expected a positive number; got 'big'\n")
