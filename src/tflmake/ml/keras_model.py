"""The Keras model a spec describes: made, loaded with pretrained weights, checked, exported with its stamp.

Shared by the savedmodel, prune and tflite (QAT) builders, which fine-tune or
re-create the trained model from its saved weights.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tflmake.console import progress
from tflmake.errors import BuildError
from tflmake.ml import training
from tflmake.ml.legacy_keras import ROUTES, load_model_file
from tflmake.ml.tensorflow import import_keras
from tflmake.spec.load import ModelSpec
from tflmake.spec.python_entry import entry_parts, isolated_import


def load_weights(model: Any, spec: ModelSpec) -> None:
    """Pretrained weights (`[model.source] weights`) into a model a python entry built."""
    path = spec.resolve(spec.source["weights"])
    try:
        model.load_weights(path)
    except (ValueError, TypeError, KeyError, OSError) as error:
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise BuildError(f"model.source.weights: cannot load {path} into the model "
                         f"{spec.source['entry']}() built: {reason}") from None
    progress(f"    loaded weights from {spec.source['weights']}")


def export_with_stamp(model: Any, spec: ModelSpec, work: Path, weights_name: str,
                      export: Callable[[Any, str], None] = ROUTES["keras3"].export) -> dict[str, Any]:
    """Write the SavedModel and the Keras weights into `work`; return the stamp's content.

    The weights let pruning and QAT fine-tune the trained model (a SavedModel
    cannot be loaded back as Keras); the layer list is what the report shows
    next to the TFLite ops, so a reader sees what the converter fused.
    """
    export(model, str(work))
    model.save_weights(str(work / weights_name))
    return {"model": spec.name, "source": spec.source["type"],
            "weights_sha256": weights_digest(model),
            "input_shape": [list(shape)[1:] for shape in _input_shapes(model)],
            "keras_layers": keras_layers(model)}


def load_trained_model(spec: ModelSpec, weights: str) -> Any:
    """The spec's Keras model with the weights a savedmodel or prune task saved.

    Call it inside `private_random.seeded_session`, around the fine-tuning too.
    """
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
    return KERAS_MODEL_MAKERS[spec.source["type"]](spec)


def load_keras_file(spec: ModelSpec) -> Any:
    return load_model_file(spec.resolve(spec.source["path"]), spec.source.get("trust_code", False)).model


def call_python_entry(spec: ModelSpec) -> Any:
    """Import `module.path:function` from the spec's folder, in isolation, and call it."""
    keras = import_keras()
    module_name, function_name = entry_parts(spec.source["entry"])
    with isolated_import(spec.folder, module_name) as module:
        function = getattr(module, function_name, None)
        if not callable(function):
            raise BuildError(f'model.source.entry: "{module_name}" has no function '
                             f'"{function_name}"')
        model = function()
    if not isinstance(model, keras.Model):
        raise BuildError(f'model.source.entry: {spec.source["entry"]}() returned '
                         f"{type(model).__name__}, expected a Keras model")
    return model


# One per source kind with `keras = True` (tests/unit/test_kinds.py checks they agree).
KERAS_MODEL_MAKERS = {"layers": training.model_from_layers, "keras_file": load_keras_file,
                      "python": call_python_entry}


def check_input_shape(model: Any, x: np.ndarray, spec: ModelSpec) -> None:
    expected = tuple(_input_shapes(model)[0])[1:]
    actual = tuple(x.shape[1:])
    if len(expected) != len(actual) or any(e not in (None, a) for e, a in zip(expected, actual, strict=False)):
        raise BuildError(f"model input shape {expected} does not match the data set's sample "
                         f"shape {actual}; set dataset.shape (or the model's input_shape)")


def output_units(model: Any) -> int | None:
    """The size of a model's one output, `[batch, units]`; None for several outputs or another rank."""
    outputs = list(getattr(model, "outputs", None) or [])
    shape = tuple(outputs[0].shape) if len(outputs) == 1 else ()
    return shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None


def _input_shapes(model: Any) -> list[tuple[Any, ...]]:
    return [tuple(tensor.shape) for tensor in model.inputs]


def weights_digest(model: Any) -> str:
    """A hash of every weight, in order: equal for equal models, whatever the files say."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(str(weights.shape).encode())
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()
