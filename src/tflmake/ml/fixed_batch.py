"""A converter for a SavedModel's serving signature with its batch dimension fixed (`batch = 1`).

`from_saved_model` converts the signature as exported, batch None, and the
converter then spells every `Flatten` as SHAPE + STRIDED_SLICE + PACK + RESHAPE.
Tracing the loaded signature again with a `[1, ...]` input (the converter's
documented `from_concrete_functions` route) lets it fold them into one RESHAPE.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tflmake.errors import BuildError
from tflmake.ml.tensorflow import import_tensorflow

SIGNATURE = "serving_default"


def fixed_batch_converter(saved_model: str, batch: int, graph_state: tuple[int, int]) -> Any:
    """A fresh converter of the traced signature (concrete functions cannot be deep-copied like
    from_saved_model's converters, but one trace serves every variant of the model)."""
    tf = import_tensorflow()
    loaded, concrete = _traced(saved_model, batch, graph_state)
    # `loaded` keeps the variables alive while the converter runs.
    return tf.lite.TFLiteConverter.from_concrete_functions([concrete], loaded)


@lru_cache(maxsize=4)
def _traced(saved_model: str, batch: int, graph_state: tuple[int, int]) -> tuple[Any, Any]:
    """The loaded SavedModel and its signature traced at `[batch, ...]`: once per process and model.

    `graph_state` (saved_model.pb's mtime and size) makes a SavedModel
    rewritten in the same process, by a retrain, load again.
    """
    tf = import_tensorflow()
    loaded = tf.saved_model.load(saved_model)
    if SIGNATURE not in loaded.signatures:
        raise BuildError(f'{saved_model} has no "{SIGNATURE}" signature to convert with a fixed '
                         f"batch (it has: {', '.join(loaded.signatures) or 'none'}); "
                         'set batch = "dynamic"')
    signature = loaded.signatures[SIGNATURE]
    specs = {}
    for name, spec in signature.structured_input_signature[1].items():
        if spec.shape.rank is None or spec.shape.rank == 0:
            raise BuildError(f'input "{name}" of {saved_model} has no batch dimension to fix '
                             f"(shape {spec.shape}); set batch = \"dynamic\"")
        specs[name] = tf.TensorSpec([batch, *spec.shape[1:]], spec.dtype, name=name)
    function = tf.function(lambda **inputs: signature(**inputs))
    return loaded, function.get_concrete_function(**specs)
