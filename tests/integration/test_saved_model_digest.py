"""The SavedModel variables' digest depends on their values, not on the checkpoint keys a process gave them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tflmake.ml.saved_model_digest import OBJECT_GRAPH, variables_digest, variables_digests

pytestmark = pytest.mark.integration

# Export one small Keras model, after exporting `others` other models in the same process: the
# serial build's situation (others > 0) against a cluster job's (a fresh process, others == 0).
EXPORT = """
import sys
import keras
out, others = sys.argv[1], int(sys.argv[2])
def model(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(12, activation="relu"), keras.layers.Dense(3)])
for n in range(others):
    model(100 + n).export(f"{out}-other{n}", format="tf_saved_model", verbose=False)
model(1).export(out, format="tf_saved_model", verbose=False)
"""


def checkpoint(folder: Path) -> dict[str, bytes]:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(folder / "variables" / "variables"))
    return {name: np.asarray(reader.get_tensor(name)).tobytes()
            for name in reader.get_variable_to_dtype_map() if name != OBJECT_GRAPH}


def test_keras_exports_of_equal_weights_in_other_processes_digest_equal(tmp_path: Path) -> None:
    """Keras 3 saves a model's variables under `_all_variables/<n>` in an order that varies per
    process (the serial build against a cluster job's: measured as other keys for mlp12's weights);
    the digest of equal weights is the same in every process, whatever keys they got."""
    runs = {f"{name}{n}": (subprocess.Popen([sys.executable, "-c", EXPORT, str(tmp_path / f"{name}{n}"), str(others)],
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            for name, others in (("fresh", 0), ("second", 1)) for n in range(2)}
    for run in runs.values():
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr[-2000:]
    folders = [tmp_path / name for name in runs]
    values = [sorted(checkpoint(folder).values()) for folder in folders]
    assert all(found == values[0] for found in values)
    assert {variables_digest(folder) for folder in folders} == {variables_digest(folders[0])}


def save_module(folder: Path, variables: dict[str, np.ndarray]) -> Path:
    """A SavedModel whose checkpoint holds `variables` under keys named after theirs, in their order."""
    import tensorflow as tf

    module = tf.Module()
    for name, value in variables.items():
        setattr(module, name, tf.Variable(value))
    tf.saved_model.save(module, str(folder))
    return folder


def test_equal_values_under_other_keys_digest_equal_and_a_changed_value_differs(tmp_path: Path) -> None:
    """Equal values saved under other keys in another order: one digest; a changed, added, removed
    or retyped value: another."""
    kernel = np.arange(12, dtype=np.float32).reshape(3, 4)
    bias = np.array([0.5, -1.0, 2.0, 0.0], dtype=np.float32)
    steps = np.array(7, dtype=np.int64)
    one = save_module(tmp_path / "one", {"kernel": kernel, "bias": bias, "steps": steps})
    renamed = save_module(tmp_path / "renamed", {"zz": steps, "b": kernel, "a": bias})
    assert set(checkpoint(one)) != set(checkpoint(renamed))
    assert variables_digests(one)[1] != variables_digests(renamed)[1]  # the digest by name: per key
    assert variables_digest(one) == variables_digest(renamed)
    changed = kernel.copy()
    changed[1, 2] += 1e-3
    assert variables_digest(save_module(tmp_path / "changed", {"kernel": changed, "bias": bias, "steps": steps})) \
        != variables_digest(one)
    assert variables_digest(save_module(tmp_path / "added", {"kernel": kernel, "bias": bias, "steps": steps,
                                                              "extra": bias})) != variables_digest(one)
    assert variables_digest(save_module(tmp_path / "removed", {"kernel": kernel, "bias": bias})) \
        != variables_digest(one)
    assert variables_digest(save_module(tmp_path / "retyped", {"kernel": kernel, "bias": bias,
                                                                "steps": steps.astype(np.int32)})) \
        != variables_digest(one)
