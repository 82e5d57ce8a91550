"""tflmake: TOML model specs in, cached SavedModels, quantized .tflite variants and C arrays out."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (every command imports this package)
if TYPE_CHECKING:
    from typing import Any

    from tflmake.errors import BuildError, SpecError, TflmakeError
    from tflmake.spec.load import ModelSpec, Variant, load_spec, load_specs

# The public API, imported on first use: doit imports this package for every
# command in the environment (tflmake's state backend), tflmake project or not.
_EXPORTS = {
    "BuildError": "tflmake.errors",
    "SpecError": "tflmake.errors",
    "TflmakeError": "tflmake.errors",
    "ModelSpec": "tflmake.spec.load",
    "Variant": "tflmake.spec.load",
    "load_spec": "tflmake.spec.load",
    "load_specs": "tflmake.spec.load",
}
__all__ = ["BuildError", "ModelSpec", "SpecError", "TflmakeError", "Variant", "load_spec", "load_specs"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tflmake' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
