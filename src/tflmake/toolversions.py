"""Versions of the tools that make artifacts, read from package metadata (never by importing them)."""

from __future__ import annotations

from functools import cache
from importlib import metadata

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


@cache
def tool_version(tool: str) -> str:
    """The installed version of `tool`, or "not installed"."""
    for distribution in _DISTRIBUTIONS.get(tool, (tool,)):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def tool_versions(*tools: str) -> dict[str, str]:
    """`{tool: version}` for the given tools; part of each task's up-to-date key."""
    return {tool: tool_version(tool) for tool in tools}
