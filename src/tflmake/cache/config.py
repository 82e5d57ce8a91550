"""Where the shared artifact cache lives and what a build may do with it.

Read from `[tool.tflmake.cache]`, then the environment (TFLMAKE_CACHE_URL,
TFLMAKE_CACHE_MODE), then the command line, later ones winning. The `tflmake`
command hands the result to its build steps (also those `doit -n` forks) in
one environment variable, so a step needs no pyproject.toml of its own.
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

    @property
    def reads(self) -> bool:
        return bool(self.url) and MODES[self.mode].reads

    @property
    def writes(self) -> bool:
        return bool(self.url) and MODES[self.mode].writes


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
    """`config` with the environment's and then the command line's url and mode applied."""
    for source, new_url, new_mode in (("environment", environ.get(URL_ENV), environ.get(MODE_ENV)),
                                      ("command line", url, mode)):
        if new_mode is not None and new_mode not in MODES:
            raise CacheConfigError(f"{source}: cache mode: expected one of {', '.join(MODES)}; got {new_mode!r}")
        config = replace(config, url=new_url or config.url, mode=new_mode or config.mode)
    return config


def to_environment(config: CacheConfig) -> str:
    return json.dumps(asdict(config), sort_keys=True)


def from_environment(environ: Mapping[str, str] = os.environ) -> CacheConfig | None:
    """The settings the tflmake command resolved for this run, or None (no cache)."""
    text = environ.get(SETTINGS_ENV)
    if not text:
        return None
    return CacheConfig(**json.loads(text))


# A token of the current `tflmake` run, so the processes of one `doit -n` run share
# what they learned about an unreachable cache (one warning, no further attempts).
RUN_ENV = "TFLMAKE_CACHE_RUN"
