"""Copy a user's SavedModel so that its serving signature loads without any Keras object.

A TF 2.x SavedModel written by Keras 2 with a (legacy) optimizer lists the
optimizer's slot variables in its object graph. TensorFlow re-creates them with
Keras 2's `Optimizer.add_slot`; without Keras 2 installed, the optimizer comes
back as a plain object and both `tf.saved_model.load` and
`TFLiteConverter.from_saved_model` fail with
`'_UserObject' object has no attribute 'add_slot'`. The converter only needs the
serving signature and the model's variables, so the copy's object graph drops the
slot references (the slot values stay in the checkpoint, unread); every other
file is copied byte for byte.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from tflmake.errors import BuildError
from tflmake.ml.tensorflow import import_tensorflow

# Routes a SavedModel source takes, as recorded in the stamp's "loaded_by".
AS_IS = "saved_model_as_is"
WITHOUT_OPTIMIZER_SLOTS = "saved_model_without_optimizer_slots"


def copy_saved_model(source: Path, work: Path) -> dict[str, Any]:
    """Copy a SavedModel into `work`; return its stamp (the files' hash and the route)."""
    if not (source / "saved_model.pb").is_file():
        raise BuildError(f"model.source.path: {source} is not a SavedModel "
                         "(no saved_model.pb inside)")
    shutil.copytree(source, work, dirs_exist_ok=True)
    slots = drop_optimizer_slots(work / "saved_model.pb", source / "saved_model.pb")
    stamp: dict[str, Any] = {"source": "saved_model", "files_sha256": files_digest(source),
             "loaded_by": WITHOUT_OPTIMIZER_SLOTS if slots else AS_IS}
    if slots:
        stamp["optimizer_slots_dropped"] = slots
    check_serving_signature(work, source)
    return stamp


def drop_optimizer_slots(saved_model_pb: Path, shown: Path) -> int:
    """Remove the slot-variable references from a `saved_model.pb` (the user's `shown`); return how many."""
    import_tensorflow()
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString(saved_model_pb.read_bytes())
    except Exception:  # protobuf's DecodeError, whatever module defines it; its text adds nothing
        raise BuildError(f"model.source.path: {shown} cannot be parsed as a SavedModel "
                         "(a corrupt or partly copied file?)") from None
    slots = 0
    for meta_graph in saved_model.meta_graphs:
        for node in meta_graph.object_graph_def.nodes:
            slots += len(node.slot_variables)
            del node.slot_variables[:]
    if slots:
        saved_model_pb.write_bytes(saved_model.SerializeToString(deterministic=True))
    return slots


def check_serving_signature(directory: Path, shown: Path) -> None:
    """Fail in one line, naming the file, when the copy cannot be loaded or has no signature.

    The converter would fail too, but with TensorFlow's traceback and not the file's name.
    """
    tf = import_tensorflow()
    try:
        loaded = tf.saved_model.load(str(directory))
    except Exception as error:  # TensorFlow raises many types for a SavedModel it cannot load
        cause = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
        raise BuildError(f"model.source.path: TensorFlow cannot load the SavedModel {shown} "
                         f"({cause}); re-export it with model.export() (Keras 3) or "
                         "tf.saved_model.save with a serving signature") from None
    if not loaded.signatures:
        raise BuildError(f"model.source.path: the SavedModel {shown} has no signature to convert; "
                         "re-export it with model.export() (Keras 3) or tf.saved_model.save "
                         "with signatures=")


def files_digest(source: Path) -> str:
    """A hash of every file's relative path and bytes."""
    digest = hashlib.sha256()
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(file.relative_to(source).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()
