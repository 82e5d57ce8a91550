"""Model files as users have them: Keras 2 `.h5` files and TF 2.x SavedModels written with an optimizer.

The fixtures are written here with Keras 2 (`tf_keras`), never downloaded: the
shapes embedded teams ship (a depthwise-separable CNN, a small ResNet block, an
FC autoencoder), each trained with a legacy optimizer so its SavedModel holds
slot variables. The builds run with `tf_keras` hidden, as for a user who only has
Keras 3: that is where TF 2.21 fails on the SavedModels
(`'_UserObject' object has no attribute 'add_slot'`) and Keras 3 on the `.h5`
(`DepthwiseConv2D` with `groups`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.helpers import predict
from tests.support import Project, make_project

pytestmark = pytest.mark.integration

CLASSIFIER_DATA = '[dataset]\ntype = "digits"\nscale = 16.0\nshape = [8, 8, 1]\n'
AUTOENCODER_DATA = ('[dataset]\ntype = "npz"\npath = "../models/digits_pixels.npz"\n'
                    '[evaluation]\ntask = "regression"\n')
VARIANTS = ('[[variant]]\nname = "float32"\n[[variant]]\nname = "dynamic"\nquantize = "dynamic"\n'
            '[[variant]]\nname = "float16"\nquantize = "float16"\n'
            '[[variant]]\nname = "int8"\nquantize = "int8"\nc_array = true\n')
MODELS = ("dscnn", "resnet", "autoencoder")


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype(np.float32)[..., None], data.target


def dscnn(k: Any) -> Any:
    """MobileNet-like: conv, then depthwise-separable blocks (DepthwiseConv2D, SeparableConv2D)."""
    inputs = k.Input((8, 8, 1))
    x = k.layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.ReLU(6.0)(x)
    x = k.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.ReLU(6.0)(x)
    x = k.layers.Conv2D(16, 1, activation="relu")(x)
    x = k.layers.SeparableConv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    return k.Model(inputs, k.layers.Dense(10, activation="softmax")(x), name="dscnn")


def resnet(k: Any) -> Any:
    """A small ResNet: a stem and one residual block joined by Add."""
    inputs = k.Input((8, 8, 1))
    stem = k.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = k.layers.Conv2D(16, 3, padding="same")(stem)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.Activation("relu")(x)
    x = k.layers.Conv2D(16, 3, padding="same")(x)
    x = k.layers.Activation("relu")(k.layers.Add()([stem, x]))
    x = k.layers.MaxPooling2D()(x)
    x = k.layers.Flatten()(x)
    return k.Model(inputs, k.layers.Dense(10, activation="softmax")(x), name="resnet")


def autoencoder(k: Any) -> Any:
    """An FC autoencoder on the 64 pixels (the anomaly-detection benchmark's shape, smaller)."""
    inputs = k.Input((64,))
    x = inputs
    for units in (32, 8, 32):
        x = k.layers.Dense(units, activation="relu")(x)
    return k.Model(inputs, k.layers.Dense(64)(x), name="autoencoder")


def write_keras2_files(folder: Path) -> dict[str, np.ndarray]:
    """Each model trained with Keras 2 and saved as `.h5` and as a SavedModel; their outputs on a probe."""
    import tf_keras as k

    x, y = digits()
    pixels = x.reshape(len(x), 64)
    np.savez(folder / "digits_pixels.npz", x=pixels, y=pixels)
    outputs = {}
    for name, make in (("dscnn", dscnn), ("resnet", resnet), ("autoencoder", autoencoder)):
        k.utils.set_random_seed(0)
        model = make(k)
        # A legacy optimizer, as Keras 2 used by default: its slots are SavedModel slot variables.
        if name == "autoencoder":
            model.compile(k.optimizers.legacy.Adam(0.003), "mse")
            model.fit(pixels, pixels, epochs=30, batch_size=64, verbose=0)
        else:
            model.compile(k.optimizers.legacy.Adam(0.01), "sparse_categorical_crossentropy")
            model.fit(x, y, epochs=15, batch_size=64, verbose=0)
        model.save(folder / f"{name}.h5")
        model.save(folder / f"{name}_saved_model", save_format="tf")
        probe = pixels[:16] if name == "autoencoder" else x[:16]
        outputs[name] = model.predict(probe, verbose=0)
    return outputs


@contextmanager
def tf_keras_hidden(folder: Path) -> Iterator[None]:
    """Subprocesses started inside see no tf_keras: a package of that name that fails to import comes first."""
    (folder / "tf_keras").mkdir(parents=True, exist_ok=True)
    (folder / "tf_keras" / "__init__.py").write_text('raise ImportError("tf_keras hidden by the test")\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
        yield


@pytest.fixture(scope="module")
def legacy_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict[str, np.ndarray]]:
    """One spec per model file, all built once with tf_keras hidden."""
    project = make_project(tmp_path_factory.mktemp("legacy") / "project")
    models = project.root / "models"
    models.mkdir()
    outputs = write_keras2_files(models)
    for name in MODELS:
        data = AUTOENCODER_DATA if name == "autoencoder" else CLASSIFIER_DATA
        project.add_spec(f"{name}_h5", f'[model.source]\ntype = "keras_file"\n'
                         f'path = "../models/{name}.h5"\n{data}{VARIANTS}')
        project.add_spec(f"{name}_sm", f'[model.source]\ntype = "saved_model"\n'
                         f'path = "../models/{name}_saved_model"\n{data}{VARIANTS}')
    with tf_keras_hidden(project.root / "hidden"):
        run = project.doit()
    (project.root / "build.log").write_text(run.output)
    return project, outputs


def stamp(project: Project, model: str) -> dict[str, Any]:
    return dict(json.loads((project.build / model / "saved_model" / "tflmake_stamp.json").read_text()))


def report(project: Project, model: str) -> dict[str, Any]:
    return dict(json.loads((project.build / model / "report.json").read_text()))


@pytest.mark.parametrize("model", [f"{name}_{kind}" for name in MODELS for kind in ("h5", "sm")])
def test_keras2_file_builds_every_variant_with_the_source_outputs(
        legacy_project: tuple[Project, dict[str, np.ndarray]], model: str) -> None:
    """Each Keras 2 file builds all four variants; float32 gives the Keras 2 model's outputs."""
    project, outputs = legacy_project
    log = (project.root / "build.log").read_text()
    for variant in ("float32", "dynamic", "float16", "int8"):
        assert (project.build / model / f"{variant}.tflite").is_file(), log
    name = model.rsplit("_", 1)[0]
    x, _ = digits()
    probe = x[:16].reshape(16, 64) if name == "autoencoder" else x[:16]
    np.testing.assert_allclose(predict(project.build / model / "float32.tflite", probe),
                               outputs[name], atol=2e-5)


@pytest.mark.parametrize("name", ["dscnn", "resnet"])
def test_int8_classifiers_keep_their_accuracy(
        legacy_project: tuple[Project, dict[str, np.ndarray]], name: str) -> None:
    """The int8 variant of a loaded classifier is evaluated and within 3 points of float32."""
    project, _ = legacy_project
    for model in (f"{name}_h5", f"{name}_sm"):
        variants = report(project, model)["variants"]
        assert variants["float32"]["accuracy"] > 0.9
        assert variants["int8"]["accuracy"] > variants["float32"]["accuracy"] - 0.03


def test_int8_autoencoder_reconstructs_close_to_float(
        legacy_project: tuple[Project, dict[str, np.ndarray]]) -> None:
    """The loaded autoencoder's int8 reconstruction error stays near the float one."""
    project, _ = legacy_project
    for model in ("autoencoder_h5", "autoencoder_sm"):
        variants = report(project, model)["variants"]
        assert variants["float32"]["mse"] < 0.05
        assert variants["int8"]["mse"] < variants["float32"]["mse"] * 1.5 + 0.005


@pytest.mark.parametrize("model", [f"{name}_{kind}" for name in MODELS for kind in ("h5", "sm")])
def test_int8_firmware_runs_in_tflite_micro(
        legacy_project: tuple[Project, dict[str, np.ndarray]], model: str) -> None:
    """Each loaded model's int8 C array runs in TFLite Micro with a measured arena, as LiteRT does."""
    project, _ = legacy_project
    int8 = report(project, model)["variants"]["int8"]
    assert (project.build / model / "int8_model_data.c").is_file()
    assert 0 < int8["arena_bytes"] < 64 * 1024
    if model.startswith("autoencoder"):
        assert int8["micro"]["max_abs_diff_vs_litert"] < 0.05
    else:
        assert int8["micro"]["agreement_with_litert"] > 0.99


def test_loading_routes_are_recorded_and_shown(
        legacy_project: tuple[Project, dict[str, np.ndarray]]) -> None:
    """The route each file took is in the stamp, the report and the build output."""
    project, _ = legacy_project
    log = (project.root / "build.log").read_text()
    dscnn_stamp = stamp(project, "dscnn_h5")
    assert dscnn_stamp["loaded_by"] == "keras3_upgraded_config"
    assert sorted(change.split(":")[0] for change in dscnn_stamp["config_changes"]) == [
        'DepthwiseConv2D("depthwise_conv2d").groups', 'SeparableConv2D("separable_conv2d").groups',
        'SeparableConv2D("separable_conv2d").kernel_constraint',
        'SeparableConv2D("separable_conv2d").kernel_initializer',
        'SeparableConv2D("separable_conv2d").kernel_regularizer']
    assert "loaded ../models/dscnn.h5 with Keras 3, on its Keras 2 config upgraded: " \
           'DepthwiseConv2D("depthwise_conv2d").groups: dropped 1' in log
    assert stamp(project, "resnet_h5")["loaded_by"] == "keras3"
    for name in MODELS:
        saved_model = stamp(project, f"{name}_sm")
        assert saved_model["loaded_by"] == "saved_model_without_optimizer_slots"
        assert saved_model["optimizer_slots_dropped"] > 0
    assert report(project, "dscnn_h5")["loaded_by"] == "keras3_upgraded_config"
    assert "Model file loaded by: saved_model_without_optimizer_slots" in \
        (project.build / "resnet_sm" / "report.md").read_text()


def test_user_files_are_not_modified(legacy_project: tuple[Project, dict[str, np.ndarray]]) -> None:
    """The upgrade works on copies: the user's SavedModel still lists its optimizer slots."""
    project, _ = legacy_project
    from tflmake.ml.saved_model_copy import files_digest

    original = project.root / "models" / "dscnn_saved_model"
    assert stamp(project, "dscnn_sm")["files_sha256"] == files_digest(original)
    assert (project.build / "dscnn_sm" / "saved_model" / "saved_model.pb").read_bytes() != \
        (original / "saved_model.pb").read_bytes()


def test_second_build_runs_nothing(legacy_project: tuple[Project, dict[str, np.ndarray]]) -> None:
    """Loaded model files are cached like any source: a rebuild executes no task."""
    project, _ = legacy_project
    with tf_keras_hidden(project.root / "hidden"):
        run = project.doit()
    assert run.returncode == 0, run.output
    assert run.executed == []


def thresholded_model(k: Any) -> Any:
    """A layer class Keras 3 removed (ThresholdedReLU): only Keras 2 can load the file."""
    inputs = k.Input((8, 8, 1))
    x = k.layers.Flatten()(inputs)
    x = k.layers.ThresholdedReLU(theta=0.1)(k.layers.Dense(16)(x))
    return k.Model(inputs, k.layers.Dense(10, activation="softmax")(x))


def test_file_only_keras2_reads_uses_tf_keras_or_fails_in_one_line(project: Project) -> None:
    """Without tf_keras: one line naming file, class and what to do; with it: the tf_keras route."""
    import tf_keras as k

    k.utils.set_random_seed(0)
    model = thresholded_model(k)
    model.save(project.root / "thresholded.h5")
    probe = digits()[0][:8]
    expected = model.predict(probe, verbose=0)
    project.add_spec("thresholded", f'[model.source]\ntype = "keras_file"\npath = "../thresholded.h5"\n'
                     f'{CLASSIFIER_DATA}[[variant]]\nname = "float32"\n')
    with tf_keras_hidden(project.root / "hidden"):
        run = project.doit("savedmodel")
    assert run.returncode != 0
    assert ("thresholded (modelspecs/thresholded.toml): model.source.path: thresholded.h5: layer class "
            "ThresholdedReLU does not exist in Keras 3") in run.output
    assert "pip install tf_keras" in run.output and "unexpected" not in run.output

    run = project.doit("tflite")
    assert run.returncode == 0, run.output
    assert "loaded ../thresholded.h5 with Keras 2 (tf_keras)" in run.output
    assert stamp(project, "thresholded")["loaded_by"] == "tf_keras"
    np.testing.assert_allclose(predict(project.build / "thresholded" / "float32.tflite", probe),
                               expected, atol=1e-5)


def test_keras_file_written_by_tf_keras_uses_tf_keras_or_fails_in_one_line(project: Project) -> None:
    """A `.keras` file Keras 2 wrote: one line naming it without tf_keras; the tf_keras route with it."""
    import tf_keras as k

    k.utils.set_random_seed(0)
    model = dscnn(k)
    model.save(project.root / "keras2.keras")
    probe = digits()[0][:8]
    expected = model.predict(probe, verbose=0)
    project.add_spec("keras2", f'[model.source]\ntype = "keras_file"\npath = "../keras2.keras"\n'
                     f'{CLASSIFIER_DATA}[[variant]]\nname = "float32"\n')
    with tf_keras_hidden(project.root / "hidden"):
        run = project.doit("savedmodel")
    assert run.returncode != 0
    assert ("keras2 (modelspecs/keras2.toml): model.source.path: keras2.keras: written by Keras 2 "
            "(tf_keras), whose classes (Functional) Keras 3 cannot import") in run.output

    run = project.doit("tflite")
    assert run.returncode == 0, run.output
    assert stamp(project, "keras2")["loaded_by"] == "tf_keras"
    np.testing.assert_allclose(predict(project.build / "keras2" / "float32.tflite", probe),
                               expected, atol=1e-5)


def test_python_source_loads_pretrained_weights_without_training(project: Project) -> None:
    """`weights` plus `epochs = 0`: the entry's model gets the file's weights and is not trained."""
    import tf_keras as k

    k.utils.set_random_seed(0)
    keras2 = autoencoder(k)
    keras2.compile(k.optimizers.legacy.Adam(), "mse")
    x = digits()[0].reshape(-1, 64)
    keras2.fit(x, x, epochs=2, verbose=0)
    keras2.save(project.root / "pretrained.h5")
    # The same architecture, defined in Keras 3 by the user's own code.
    (project.specs / "nets.py").write_text(
        "import keras\n\n\ndef build():\n    inputs = keras.Input((64,))\n    x = inputs\n"
        "    for units in (32, 8, 32):\n        x = keras.layers.Dense(units, activation='relu')(x)\n"
        "    return keras.Model(inputs, keras.layers.Dense(64)(x))\n")
    np.savez(project.root / "pixels.npz", x=x, y=x)
    project.add_spec("pretrained", '[model.source]\ntype = "python"\nentry = "nets:build"\n'
                     'weights = "../pretrained.h5"\n[dataset]\ntype = "npz"\npath = "../pixels.npz"\n'
                     '[evaluation]\ntask = "regression"\n[train]\nepochs = 0\n'
                     '[[variant]]\nname = "float32"\n')
    run = project.doit()
    assert run.returncode == 0, run.output
    assert "loaded weights from ../pretrained.h5" in run.output and "epoch 1/" not in run.output
    np.testing.assert_allclose(predict(project.build / "pretrained" / "float32.tflite", x[:8]),
                               keras2.predict(x[:8], verbose=0), atol=1e-5)

    keras2.fit(x, x, epochs=1, verbose=0)  # new weights: the SavedModel is stale
    keras2.save(project.root / "pretrained.h5")
    run = project.doit()
    assert "savedmodel:pretrained" in run.executed
    np.testing.assert_allclose(predict(project.build / "pretrained" / "float32.tflite", x[:8]),
                               keras2.predict(x[:8], verbose=0), atol=1e-5)
