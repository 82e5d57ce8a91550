"""Load a `keras_file` source the way its file needs: Keras 3, Keras 3 on an upgraded Keras 2 config, or tf_keras.

Keras 3 reads `.keras` files and most Keras 2 `.h5` files, but rejects some
arguments Keras 2 wrote into an `.h5`'s `model_config` (see keras_compat). Such a
file is loaded from a temporary copy whose config was upgraded; if Keras 3 still
refuses it and Keras 2 (`tf_keras`) is installed, Keras 2 loads it. Which route
was taken is printed and kept in the SavedModel's stamp.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tflmake.errors import BuildError
from tflmake.ml.keras_compat import failure_line, has_code_layers, upgrade_config
from tflmake.ml.tensorflow import import_keras, import_tensorflow


def _export_keras3(model: Any, work: str) -> None:
    model.export(work, format="tf_saved_model", verbose=False)


def _export_tf_keras(model: Any, work: str) -> None:
    model.export(work)  # tf_keras' export: a "serve" endpoint, also the default signature


@dataclass(frozen=True)
class Route:
    """One way of loading a model file: its name (kept in the stamp) and how its models export."""

    name: str
    description: str
    export: Callable[[Any, str], None]


ROUTES = {route.name: route for route in (
    Route("keras3", "Keras 3", _export_keras3),
    Route("keras3_upgraded_config", "Keras 3, on its Keras 2 config upgraded", _export_keras3),
    Route("tf_keras", "Keras 2 (tf_keras)", _export_tf_keras),
)}


@dataclass(frozen=True)
class LoadedModel:
    """A model read from a file, with the route that read it and the config changes made."""

    model: Any
    route: Route
    changes: list[str] = field(default_factory=list)

    def summary(self, path: str) -> str:
        """The build-output line: file, route, and the config changes if any."""
        line = f"    loaded {path} with {self.route.description}"
        return line + (f": {'; '.join(self.changes)}" if self.changes else "")


def load_model_file(path: str, trust_code: bool) -> LoadedModel:
    """The model in a `.keras` or `.h5` file, by the first route that reads it."""
    if path.endswith(".keras"):
        return _load_keras_zip(path, trust_code)
    config = read_model_config(path)
    try:
        upgraded, changes = upgrade_config(config, path)
    except BuildError as error:
        fallback = _with_tf_keras(path, config, trust_code)
        if fallback is None:
            raise BuildError(f"model.source.path: {error}") from None
        return fallback
    try:
        if not changes:
            return LoadedModel(_keras3_load(path, trust_code, path), ROUTES["keras3"])
        with tempfile.TemporaryDirectory(prefix="tflmake_h5_") as folder:
            copy = str(Path(folder) / Path(path).name)
            shutil.copyfile(path, copy)
            write_model_config(copy, upgraded)
            model = _keras3_load(copy, trust_code, path)
        return LoadedModel(model, ROUTES["keras3_upgraded_config"], [str(c) for c in changes])
    except (TypeError, ValueError, KeyError) as error:
        tried = "tried Keras 3" + (f" after {len(changes)} config upgrade(s)" if changes else "")
        fallback = _with_tf_keras(path, config, trust_code)
        if fallback is None:
            raise BuildError(f"model.source.path: {failure_line(path, str(error), tried)}") from None
        return fallback


def _load_keras_zip(path: str, trust_code: bool) -> LoadedModel:
    """A `.keras` file: Keras 3, or tf_keras for one Keras 2 wrote (its classes live in tf_keras)."""
    if not zipfile.is_zipfile(path):
        raise BuildError(f"model.source.path: {path} is not a .keras file (not a zip archive)")
    try:
        return LoadedModel(_keras3_load(path, trust_code, path), ROUTES["keras3"])
    except (TypeError, ValueError, KeyError) as error:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json")) if "config.json" in archive.namelist() else {}
        fallback = _with_tf_keras(path, config, trust_code)
        if fallback is None:
            raise BuildError(f"model.source.path: {failure_line(path, str(error), 'tried Keras 3')}") from None
        return fallback


def read_model_config(path: str) -> Any:
    """The `model_config` JSON of an `.h5` model file."""
    import h5py

    try:
        with h5py.File(path, "r") as file:
            text = file.attrs.get("model_config")
    except OSError as error:
        raise BuildError(f"model.source.path: cannot read {path} as HDF5: {error}") from None
    if text is None:
        raise BuildError(f"model.source.path: {path} holds weights only (no model_config); use a "
                         'python source that builds the model, with weights = "<this file>"')
    return json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)


def write_model_config(path: str, config: Any) -> None:
    """Replace the `model_config` of an `.h5` file (a temporary copy: the user's file is never edited)."""
    import h5py

    with h5py.File(path, "r+") as file:
        file.attrs["model_config"] = json.dumps(config)


def _keras3_load(path: str, trust_code: bool, shown: str) -> Any:
    keras = import_keras()
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=not trust_code)
    except ValueError as error:
        if "safe_mode" in str(error) or "lambda" in str(error).lower():
            raise BuildError(
                f"model.source.path: {shown} contains code (e.g. a Lambda layer) that Keras "
                "safe mode refuses to run. If you trust this file, set "
                "model.source.trust_code = true") from None
        raise
    except OSError as error:
        raise BuildError(f"model.source.path: cannot load {shown}: {error}") from None


def _with_tf_keras(path: str, config: Any, trust_code: bool) -> LoadedModel | None:
    """Keras 2's own loader, when installed; never for code layers the user did not trust.

    Keras 2 has no safe mode for `.h5` files, so a Lambda layer would run unasked.
    """
    if has_code_layers(config) and not trust_code:
        return None
    try:
        import tf_keras
    except ImportError:
        return None
    import_tensorflow()
    try:
        model = tf_keras.models.load_model(path, compile=False, safe_mode=not trust_code)
    except (TypeError, ValueError) as error:
        raise BuildError(f"model.source.path: neither Keras 3 nor Keras 2 (tf_keras) can load "
                         f"{path}: {str(error).strip().splitlines()[0][:300]}") from None
    return LoadedModel(model, ROUTES["tf_keras"])
