"""What a SavedModel folder reproduces: its variables' values, not TensorFlow's bytes.

TensorFlow serialises one model differently in each process: `fingerprint.pb` is new on
every export, and `saved_model.pb` and the checkpoint's object graph name functions and
order nodes per process. A retrain that reproduces the weights reproduces the values of
the checkpoint's variables, so those are what a manifest records and `verify` checks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tflmake.errors import BuildError
from tflmake.ml.tensorflow import import_tensorflow

# The top-level entries of a SavedModel folder that TensorFlow writes (everything else,
# such as tflmake's stamp and the Keras weights, is reproducible byte for byte).
SERIALISED = frozenset({"saved_model.pb", "fingerprint.pb", "variables"})
# The checkpoint's own description of the object graph: serialised per process too.
OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"


def serialised_files(folder: Path) -> list[Path]:
    """The files under `folder` that TensorFlow serialised (compare them by `variables_digest`)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] in SERIALISED)


def variables_digest(folder: Path) -> str:
    """A hash of every checkpoint variable's name, dtype, shape and value; BuildError if unreadable."""
    digest = hashlib.sha256()
    if not (folder / "variables" / "variables.index").is_file():
        return digest.hexdigest()  # a SavedModel without variables
    tf = import_tensorflow()
    try:
        reader = tf.train.load_checkpoint(str(folder / "variables" / "variables"))
        for name, dtype in sorted(reader.get_variable_to_dtype_map().items()):
            if name == OBJECT_GRAPH:
                continue
            value = reader.get_tensor(name)
            digest.update(f"{name} {dtype.name} {list(getattr(value, 'shape', ()))}\n".encode())
            digest.update(_value_bytes(value))
    except Exception as error:  # TensorFlow's DataLossError, NotFoundError, ...: the file is damaged
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise BuildError(f"{(folder / 'variables').as_posix()}: unreadable checkpoint ({first_line})") from None
    return digest.hexdigest()


def _value_bytes(value: object) -> bytes:
    """A tensor's bytes; string tensors come back as bytes or object arrays of bytes."""
    import numpy as np

    if isinstance(value, bytes):
        return value
    array = np.asarray(value)
    if array.dtype.kind == "O":
        return b"\0".join(bytes(item) for item in array.ravel())
    return np.ascontiguousarray(array).tobytes()
