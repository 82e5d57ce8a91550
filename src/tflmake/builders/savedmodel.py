"""Build `saved_model/`: define or load the Keras model, train it if defined, export it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tflmake import atomic
from tflmake.builders import training
from tflmake.builders._tensorflow import import_keras
from tflmake.builders.dataset import read_split
from tflmake.errors import BuildError
from tflmake.paths import Layout
from tflmake.spec import ModelSpec


def build(spec: ModelSpec, layout: Layout) -> None:
    target = layout.saved_model_dir(spec.name)
    with atomic.directory_for_write(target) as work:
        if spec.source["type"] == "saved_model":
            stamp = copy_saved_model(Path(spec.resolve(spec.source["path"])), work)
        else:
            stamp = export_keras_model(spec, layout, work)
        stamp_name = Path(layout.saved_model_stamp(spec.name)).name
        (work / stamp_name).write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")


def export_keras_model(spec: ModelSpec, layout: Layout, work: Path) -> dict[str, Any]:
    keras = import_keras()
    # A fresh session resets Keras' layer-name counters, so names (and the .tflite
    # bytes) do not depend on what this process built before.
    keras.backend.clear_session()
    seed = spec.train["seed"] if spec.train else 0
    keras.utils.set_random_seed(seed)
    model = make_model(spec)
    if spec.dataset:
        data = read_split(layout, spec.name)
        check_input_shape(model, data["x_train"], spec)
        if spec.trains:
            training.train(model, spec, data)
    return export_with_stamp(model, spec, work, Path(layout.keras_weights(spec.name)).name)


def export_with_stamp(model: Any, spec: ModelSpec, work: Path, weights_name: str) -> dict[str, Any]:
    """Write the SavedModel and the Keras weights into `work`; return the stamp's content.

    The weights let pruning and QAT fine-tune the trained model (a SavedModel
    cannot be loaded back as Keras); the layer list is what the report shows
    next to the TFLite ops, so a reader sees what the converter fused.
    """
    model.export(str(work), format="tf_saved_model", verbose=False)
    model.save_weights(str(work / weights_name))
    return {"model": spec.name, "source": spec.source["type"],
            "weights_sha256": weights_digest(model),
            "input_shape": [list(shape)[1:] for shape in _input_shapes(model)],
            "keras_layers": keras_layers(model)}


def load_trained_model(spec: ModelSpec, weights: str) -> Any:
    """The spec's Keras model with the weights a savedmodel or prune task saved."""
    keras = import_keras()
    keras.backend.clear_session()
    keras.utils.set_random_seed(spec.train["seed"] if spec.train else 0)
    model = make_model(spec)
    model.load_weights(weights)
    return model


def keras_layers(model: Any) -> list[str]:
    """Each layer as `Class` or `Class(activation)`, in order: the graph before conversion."""
    names = []
    for layer in model.layers:
        activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
        names.append(type(layer).__name__ + ("" if activation == "linear" else f"({activation})"))
    return names


def make_model(spec: ModelSpec) -> Any:
    """The Keras model a spec describes (not yet trained)."""
    source = spec.source
    if source["type"] == "layers":
        return training.model_from_layers(spec)
    if source["type"] == "keras_file":
        return load_keras_file(spec)
    return call_python_entry(spec)


def load_keras_file(spec: ModelSpec) -> Any:
    keras = import_keras()
    path = spec.resolve(spec.source["path"])
    trust = spec.source.get("trust_code", False)
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise BuildError(f"model.source.path: {path} is not a .keras file (not a zip archive)")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=not trust)
    except ValueError as error:
        if "safe_mode" in str(error) or "lambda" in str(error).lower():
            raise BuildError(
                f"model.source.path: {path} contains code (e.g. a Lambda layer) that Keras "
                "safe mode refuses to run. If you trust this file, set "
                "model.source.trust_code = true") from None
        raise BuildError(f"model.source.path: cannot load {path}: {error}") from None
    except OSError as error:
        raise BuildError(f"model.source.path: cannot load {path}: {error}") from None


def call_python_entry(spec: ModelSpec) -> Any:
    """Import `module.path:function` from the spec's folder and call it."""
    keras = import_keras()
    module_name, function_name = spec.source["entry"].split(":")
    relative = module_name.replace(".", "/")
    file = Path(spec.folder) / f"{relative}.py"
    if not file.is_file():
        file = Path(spec.folder) / relative / "__init__.py"
    sys.path.insert(0, str(Path(spec.folder).resolve()))
    try:
        loader_spec = importlib.util.spec_from_file_location(f"_tflmake_{spec.name}", file)
        assert loader_spec and loader_spec.loader
        module = importlib.util.module_from_spec(loader_spec)
        loader_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(Path(spec.folder).resolve()))
    function = getattr(module, function_name, None)
    if not callable(function):
        raise BuildError(f'model.source.entry: "{module_name}" has no function '
                         f'"{function_name}"')
    model = function()
    if not isinstance(model, keras.Model):
        raise BuildError(f'model.source.entry: {spec.source["entry"]}() returned '
                         f"{type(model).__name__}, expected a Keras model")
    return model


def check_input_shape(model: Any, x: np.ndarray, spec: ModelSpec) -> None:
    expected = tuple(_input_shapes(model)[0])[1:]
    actual = tuple(x.shape[1:])
    if len(expected) != len(actual) or any(e not in (None, a) for e, a in zip(expected, actual, strict=False)):
        raise BuildError(f"model input shape {expected} does not match the data set's sample "
                         f"shape {actual}; set dataset.shape (or the model's input_shape)")


def _input_shapes(model: Any) -> list[tuple[Any, ...]]:
    return [tuple(tensor.shape) for tensor in model.inputs]


def weights_digest(model: Any) -> str:
    """A hash of every weight, in order: equal for equal models, whatever the files say."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(str(weights.shape).encode())
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


def copy_saved_model(source: Path, work: Path) -> dict[str, Any]:
    """Copy a user's SavedModel as is; its stamp hashes its files."""
    if not (source / "saved_model.pb").is_file():
        raise BuildError(f"model.source.path: {source} is not a SavedModel "
                         "(no saved_model.pb inside)")
    shutil.copytree(source, work, dirs_exist_ok=True)
    digest = hashlib.sha256()
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(file.relative_to(source).as_posix().encode())
        digest.update(file.read_bytes())
    return {"source": "saved_model", "files_sha256": digest.hexdigest()}
