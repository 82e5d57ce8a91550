"""Versions of the tools that make artifacts, read from package metadata (never by importing them).

Reading metadata costs ~1 ms per tool (the email parser reads each METADATA
file whole), which every up-to-date key pays on every run. So task loading keeps
the versions in a small file, valid while no directory on sys.path changed:
installing, upgrading or removing a package renames its `.dist-info` directory,
which moves its parent's mtime (the signal importlib.metadata's own lookup cache uses).
"""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata
from pathlib import Path

from tflmake import atomic

# A tool may be installed under any of these distribution names.
_DISTRIBUTIONS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tf-nightly", "tensorflow-macos"),
    "keras": ("keras", "keras-nightly"),
    "numpy": ("numpy",),
    "scikit-learn": ("scikit-learn",),
    "ai-edge-litert": ("ai-edge-litert", "ai-edge-litert-nightly"),
    "tflite-micro": ("tflite-micro", "tflite-micro-nightly"),
    "tflmake": ("tflmake",),
}

# Versions known to this process (read from metadata or seeded from the cache file),
# and the tools whose version was read from metadata, which the cache file lacks.
_versions: dict[str, str] = {}
_read_here: set[str] = set()


def tool_version(tool: str) -> str:
    """The installed version of `tool`, or "not installed"."""
    if tool not in _versions:
        _versions[tool] = _read_version(tool)
        _read_here.add(tool)
    return _versions[tool]


def tool_versions(*tools: str) -> dict[str, str]:
    """`{tool: version}` for the given tools; part of each task's up-to-date key."""
    return {tool: tool_version(tool) for tool in tools}


def known_versions() -> dict[str, str]:
    """Every version this process knows, read or cached: what the tasks described so far used."""
    return dict(_versions)


def _read_version(tool: str) -> str:
    for distribution in _DISTRIBUTIONS.get(tool, (tool,)):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def _environment() -> dict[str, int]:
    """The mtime of every directory packages are installed in: any install changes one.

    The running script's directory and the working directory are left out: they
    differ between `doit`, `tflmake` and `python -c`, and hold programs, not packages.
    """
    started_from = {os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv else "", os.getcwd()}
    state = {}
    for entry in sys.path:
        directory = os.path.abspath(entry)
        if directory in started_from:
            continue
        try:
            state[directory] = os.stat(directory).st_mtime_ns
        except OSError:
            continue
    return state


def load_cached_versions(path: str) -> None:
    """Seed this process's versions from `path` if the environment has not changed since."""
    try:
        stored = json.loads(Path(path).read_text("utf-8"))
        if stored["environment"] == _environment() and isinstance(stored["versions"], dict):
            _versions.update({tool: version for tool, version in stored["versions"].items()
                              if isinstance(version, str) and tool not in _versions})
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache or an unusable one: read the metadata


def save_cached_versions(path: str) -> None:
    """Write the versions known so far for the next run, if any had to be read from metadata."""
    if _read_here:
        atomic.write_text(path, json.dumps({"environment": _environment(), "versions": _versions},
                                           sort_keys=True))
        _read_here.clear()
