"""Sign a variant's shipped files (`.tflite`, Vela's `.tflite`, the firmware bundle) into `<variant>.sig`.

The signature is in the OpenSSF model-signing format, over those files in the model's
folder, so `model_signing verify key build/<model> --signature build/<model>/<variant>.sig
--public_key KEY --ignore_unsigned_files` accepts it. Signing never changes the files it covers.
"""

from __future__ import annotations

from pathlib import Path

from tflmake.errors import BuildError
from tflmake.paths import Layout
from tflmake.signing.config import SigningConfig, from_environment
from tflmake.signing.shipped import variant_shipped_files
from tflmake.signing.signature import sign_files
from tflmake.spec.load import ModelSpec


def build(spec: ModelSpec, layout: Layout, variant_name: str) -> None:
    files = variant_shipped_files(spec, layout, variant_name)
    sign_in_model_folder(layout, spec.name, files, layout.signature(spec.name, variant_name))


def sign_in_model_folder(layout: Layout, model: str, files: list[str], signature: str) -> None:
    """Sign `files` (paths under the model's folder) with the run's signing settings into `signature`."""
    folder = Path(layout.model_dir(model))
    sign_files(signing_settings(), folder.as_posix(), [Path(path).relative_to(folder).as_posix() for path in files],
               signature)


def signing_settings() -> SigningConfig:
    """The signing settings the tflmake command handed to this build step."""
    config = from_environment()
    if config is None or not config.signs:
        raise BuildError("signing is not configured for this run; run the build through the tflmake command "
                         "with [tool.tflmake.signing] in pyproject.toml")
    return config
