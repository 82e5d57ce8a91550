"""What a SavedModel folder reproduces: its variables' values, not TensorFlow's bytes.

TensorFlow serialises one model differently in each process: `fingerprint.pb` is new on
every export, and `saved_model.pb` and the checkpoint's object graph name functions and
order nodes per process. A retrain that reproduces the weights reproduces the values of
the checkpoint's variables, so those are what a manifest records and `verify` checks.

Not the variables' names either: the checkpoint key a value is saved under is a path in
that per-process object graph. Measured with Keras 3.15's `model.export`: it saves the
variables again as `_all_variables/<n>`, in the order the traced serving function captured
them, and that order differs from one process to the next, so equal weights come back
under other keys (a serial build, exporting many models in one process, and a cluster job,
exporting one in a fresh process, disagreed; so can two runs of either). The digest is
therefore of the multiset of the variables' (dtype, shape, value) alone: each variable
hashed by itself, the hashes sorted. Any changed, added or removed value still changes it;
what it cannot see is values of one dtype and shape trading keys, which for a tflmake
build the manifest's sha256 of `keras.weights.h5` (saved by layer, byte for byte
reproducible) catches.
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
# Which digest `variables_digest` computes: part of the key its results are remembered by.
DIGEST_VERSION = "values-multiset-1"


def serialised_files(folder: Path) -> list[Path]:
    """The files under `folder` that TensorFlow serialised (compare them by `variables_digest`)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] in SERIALISED)


def variables_digest(folder: Path) -> str:
    """A hash of the multiset of the checkpoint variables' (dtype, shape, value); BuildError if unreadable."""
    return variables_digests(folder)[0]


def variables_digests(folder: Path) -> tuple[str, str]:
    """(`variables_digest`, the digest manifests recorded before it: names too, so per process).

    `verify` accepts either, so a manifest written (or restored from a cache) before the
    change still verifies.
    """
    by_name = hashlib.sha256()
    each: list[str] = []
    if not (folder / "variables" / "variables.index").is_file():  # a SavedModel without variables
        return hashlib.sha256().hexdigest(), by_name.hexdigest()
    tf = import_tensorflow()
    try:
        reader = tf.train.load_checkpoint(str(folder / "variables" / "variables"))
        for name, dtype in sorted(reader.get_variable_to_dtype_map().items()):
            if name == OBJECT_GRAPH:
                continue
            value = reader.get_tensor(name)
            header = f"{dtype.name} {list(getattr(value, 'shape', ()))}\n".encode()
            data = _value_bytes(value)
            by_name.update(name.encode() + b" " + header)
            by_name.update(data)
            each.append(hashlib.sha256(header + data).hexdigest())
    except Exception as error:  # TensorFlow's DataLossError, NotFoundError, ...: the file is damaged
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise BuildError(f"{(folder / 'variables').as_posix()}: unreadable checkpoint ({first_line})") from None
    return hashlib.sha256("".join(f"{h}\n" for h in sorted(each)).encode()).hexdigest(), by_name.hexdigest()


def _value_bytes(value: object) -> bytes:
    """A tensor's bytes; string tensors come back as bytes or object arrays of bytes."""
    import numpy as np

    if isinstance(value, bytes):
        return value
    array = np.asarray(value)
    if array.dtype.kind == "O":
        return b"\0".join(bytes(item) for item in array.ravel())
    return np.ascontiguousarray(array).tobytes()
