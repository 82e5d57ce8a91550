"""tflmake: TOML model specs in, cached SavedModels, quantized .tflite variants and C arrays out."""

from tflmake.errors import BuildError, SpecError, TflmakeError
from tflmake.spec import ModelSpec, Variant, load_spec, load_specs

__all__ = [
    "BuildError",
    "ModelSpec",
    "SpecError",
    "TflmakeError",
    "Variant",
    "load_spec",
    "load_specs",
]
__version__ = "0.1.0"
