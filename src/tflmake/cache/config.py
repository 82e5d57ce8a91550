"""Where the artifact caches live and what a build may do with them.

Two levels: the local cache (a folder in the user's cache directory, on by
default, read and written by every build) and the shared cache (any URL,
read-only unless CI says read-write). Read from `[tool.tflmake.cache]`, then
the environment (TFLMAKE_CACHE_URL, TFLMAKE_CACHE_MODE, TFLMAKE_CACHE_LOCAL,
TFLMAKE_CACHE_LOCAL_DIR), then the command line, later ones winning. The
`tflmake` command hands the result to its build steps (also those `doit -n`
forks) in one environment variable, so a step needs no pyproject.toml of its
own; a plain `doit` run reads the table itself (see `for_build_steps`).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from tflmake.cache import SETTINGS_ENV
from tflmake.errors import TflmakeError

URL_ENV = "TFLMAKE_CACHE_URL"
MODE_ENV = "TFLMAKE_CACHE_MODE"
LOCAL_ENV = "TFLMAKE_CACHE_LOCAL"
LOCAL_DIR_ENV = "TFLMAKE_CACHE_LOCAL_DIR"
LOCAL_MAX_MB = 2048.0  # the local cache's default bound: 2 GiB
_SWITCH = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "off": False, "no": False}


@dataclass(frozen=True)
class Mode:
    """What a build may do with the cache in one mode."""

    reads: bool
    writes: bool


# Developers read what CI wrote; only CI should run read-write (see docs/shared-cache.md, "Trust model").
MODES = {"off": Mode(reads=False, writes=False), "read": Mode(reads=True, writes=False),
         "read-write": Mode(reads=True, writes=True)}


@dataclass(frozen=True)
class CacheConfig:
    """The cache settings of one build."""

    url: str | None = None
    mode: str = "read"
    namespace: str = ""
    storage_options: dict[str, Any] = field(default_factory=dict)
    max_blob_mb: float = 1024.0
    local: bool = True
    local_dir: str = ""  # "" : the user's cache folder (see default_local_dir)
    local_max_mb: float = LOCAL_MAX_MB

    @property
    def reads(self) -> bool:
        """The shared cache is read."""
        return bool(self.url) and MODES[self.mode].reads

    @property
    def writes(self) -> bool:
        """The shared cache is written."""
        return bool(self.url) and MODES[self.mode].writes

    @property
    def active(self) -> bool:
        """A stale cacheable task asks some cache (the local one, the shared one or both)."""
        return self.local or self.reads or self.writes

    def local_folder(self, environ: Mapping[str, str] = os.environ) -> str:
        """The local cache's folder, absolute: TFLMAKE_CACHE_LOCAL_DIR, else `local-dir`, else the user's."""
        folder = environ.get(LOCAL_DIR_ENV) or self.local_dir or default_local_dir(environ)
        return os.path.abspath(os.path.expanduser(folder))


def default_local_dir(environ: Mapping[str, str] = os.environ) -> str:
    """`$XDG_CACHE_HOME/tflmake`, else `~/.cache/tflmake` (the XDG base directory rule)."""
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the spec says a relative value is to be ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tflmake")


class CacheConfigError(TflmakeError):
    """The cache settings are wrong."""


# Key in the table -> (field, check, what the message says was expected).
_KEYS: dict[str, tuple[str, Any, str]] = {
    "url": ("url", lambda v: isinstance(v, str) and bool(v), "a folder path or fsspec URL (a string)"),
    "mode": ("mode", lambda v: v in MODES, f"one of {', '.join(MODES)}"),
    "namespace": ("namespace", lambda v: isinstance(v, str), "a string"),
    "storage-options": ("storage_options", lambda v: isinstance(v, dict), "a table of fsspec options"),
    "max-blob-mb": ("max_blob_mb", lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v > 0,
                    "a positive number"),
    "local": ("local", lambda v: isinstance(v, bool), "true or false"),
    "local-dir": ("local_dir", lambda v: isinstance(v, str) and bool(v), "a folder path (a string)"),
    "local-max-mb": ("local_max_mb", lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v > 0,
                     "a positive number"),
}


def parse_table(table: Any, where: str) -> CacheConfig:
    """`[tool.tflmake.cache]` as a CacheConfig; `where` names the file in error messages."""
    if not isinstance(table, dict):
        raise CacheConfigError(f"{where}: tool.tflmake.cache: expected a table; got {table!r}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            close = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else f"; expected one of {', '.join(_KEYS)}"
            raise CacheConfigError(f"{where}: tool.tflmake.cache.{key}: unknown key{hint}")
        name, valid, expected = _KEYS[key]
        if not valid(value):
            raise CacheConfigError(f"{where}: tool.tflmake.cache.{key}: expected {expected}; got {value!r}")
        values[name] = value
    return CacheConfig(**values)


def with_overrides(config: CacheConfig, environ: Mapping[str, str], url: str | None = None,
                   mode: str | None = None) -> CacheConfig:
    """`config` with the environment's and then the command line's url and mode applied (and the
    environment's local cache switch; its folder is read by `local_folder`)."""
    for source, new_url, new_mode in (("environment", environ.get(URL_ENV), environ.get(MODE_ENV)),
                                      ("command line", url, mode)):
        if new_mode is not None and new_mode not in MODES:
            raise CacheConfigError(f"{source}: cache mode: expected one of {', '.join(MODES)}; got {new_mode!r}")
        config = replace(config, url=new_url or config.url, mode=new_mode or config.mode)
    switch = environ.get(LOCAL_ENV, "")
    if switch:
        if switch.lower() not in _SWITCH:
            raise CacheConfigError(f"environment: {LOCAL_ENV}: expected 1 or 0 (on or off); got {switch!r}")
        config = replace(config, local=_SWITCH[switch.lower()])
    return config


def resolved(config: CacheConfig, environ: Mapping[str, str] = os.environ) -> CacheConfig:
    """`config` with the local cache's folder made absolute (build steps may run elsewhere)."""
    return replace(config, local_dir=config.local_folder(environ) if config.local else config.local_dir)


def to_environment(config: CacheConfig) -> str:
    return json.dumps(asdict(config), sort_keys=True)


def from_environment(environ: Mapping[str, str] = os.environ) -> CacheConfig | None:
    """The settings the tflmake command resolved for this run, or None (not run by the tflmake command)."""
    text = environ.get(SETTINGS_ENV)
    if not text:
        return None
    return CacheConfig(**json.loads(text))


def for_build_steps(environ: Mapping[str, str] = os.environ, pyproject: str = "pyproject.toml") -> CacheConfig:
    """What a stale task's action uses: the tflmake command's settings, else (a plain `doit`) the local cache
    as `[tool.tflmake.cache]` and the environment set it. The shared cache is the tflmake command's alone."""
    config = from_environment(environ)
    if config is not None:
        return config
    import tomllib

    try:
        with open(pyproject, "rb") as file:
            table = tomllib.load(file).get("tool", {}).get("tflmake", {}).get("cache", {})
    except FileNotFoundError:
        table = {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CacheConfigError(f"{pyproject}: {error}") from None
    local_only = replace(parse_table(table, pyproject), url=None)
    return resolved(with_overrides(local_only, {name: environ[name] for name in (LOCAL_ENV,) if name in environ}),
                    environ)


# A token of the current `tflmake` run, so the processes of one `doit -n` run share
# what they learned about an unreachable cache (one warning, no further attempts).
RUN_ENV = "TFLMAKE_CACHE_RUN"
