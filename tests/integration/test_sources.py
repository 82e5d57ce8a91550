"""Every model source type builds: .keras file, SavedModel, Python builder, frozen graph."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from tests.integration.helpers import predict
from tests.support import Project, make_project

DATASET = '[dataset]\ntype = "digits"\nscale = 16.0\nshape = [8, 8]\n'
VARIANTS = '[[variant]]\nname = "float32"\n[[variant]]\nname = "int8"\nquantize = "int8"\n'


def tiny_model():  # type: ignore[no-untyped-def]
    import keras

    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                             keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


@pytest.fixture(scope="module")
def sources_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, np.ndarray, np.ndarray]:
    """One project with a spec per source type, built once; also the reference outputs."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    project = make_project(tmp_path_factory.mktemp("sources") / "project")
    models = project.root / "models"
    models.mkdir()
    model = tiny_model()
    probe = np.random.default_rng(0).random((4, 8, 8), dtype=np.float32)
    reference = model.predict(probe, verbose=0)

    model.save(models / "tiny.keras")
    project.add_spec("from_keras", f'[model.source]\ntype = "keras_file"\n'
                     f'path = "../models/tiny.keras"\n{DATASET}{VARIANTS}')

    model.export(str(models / "tiny_saved_model"), format="tf_saved_model", verbose=False)
    project.add_spec("from_saved_model", f'[model.source]\ntype = "saved_model"\n'
                     f'path = "../models/tiny_saved_model"\n{DATASET}{VARIANTS}')

    function = tf.function(lambda x: model(x)).get_concrete_function(
        tf.TensorSpec([1, 8, 8], tf.float32, name="pixels"))
    frozen = convert_variables_to_constants_v2(function)
    tf.io.write_graph(frozen.graph.as_graph_def(), str(models), "tiny.pb", as_text=False)
    output_name = frozen.outputs[0].op.name
    project.add_spec("from_frozen_graph", f'[model.source]\ntype = "frozen_graph"\n'
                     f'path = "../models/tiny.pb"\ninput_arrays = ["pixels"]\n'
                     f'output_arrays = ["{output_name}"]\n'
                     f'input_shapes = {{ pixels = [1, 8, 8] }}\n{DATASET}{VARIANTS}')

    (project.specs / "builders").mkdir()
    (project.specs / "builders" / "__init__.py").write_text("")
    (project.specs / "builders" / "mlp.py").write_text(textwrap.dedent("""
        import keras

        def build():
            return keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                                     keras.layers.Dense(32, activation="relu"),
                                     keras.layers.Dense(10, activation="softmax")])

        def not_a_model():
            return 42
        """))
    project.add_spec("from_python", f'[model.source]\ntype = "python"\n'
                     f'entry = "builders.mlp:build"\n{DATASET}[train]\nepochs = 3\n{VARIANTS}')
    project.add_spec("returns_junk", f'[model.source]\ntype = "python"\n'
                     f'entry = "builders.mlp:not_a_model"\n{DATASET}{VARIANTS}')
    run = project.doit()
    (project.root / "build.log").write_text(run.output)
    return project, reference, probe


@pytest.mark.parametrize("name", ["from_keras", "from_saved_model", "from_frozen_graph"])
def test_loaded_sources_convert_unchanged(sources_project: tuple, name: str) -> None:
    """A loaded model is used as is: its float32 .tflite gives the source model's outputs."""
    project, reference, probe = sources_project
    tflite = project.build / name / "float32.tflite"
    assert tflite.is_file(), (project.root / "build.log").read_text()
    np.testing.assert_allclose(predict(tflite, probe), reference, atol=1e-5)
    assert (project.build / name / "int8.tflite").is_file()


def test_python_source_is_trained(sources_project: tuple) -> None:
    """A model from a Python builder is compiled with [train] and trained on the data set."""
    project, _, _ = sources_project
    from tests.integration.helpers import accuracy

    model = project.build / "from_python"
    assert accuracy(model / "float32.tflite", model / "dataset.npz") > 0.8


@pytest.mark.parametrize(("name", "source"), [("from_keras", "models/tiny.keras"),
                                              ("from_python", "modelspecs/builders/mlp.py"),
                                              ("from_saved_model", "models/tiny_saved_model/saved_model.pb")])
def test_manifest_records_the_sha256_of_the_source_files(sources_project: tuple, name: str, source: str) -> None:
    """manifest.json lists each file the model was made from with its sha256 (provenance a reviewer can check)."""
    import hashlib
    import json

    project, _, _ = sources_project
    inputs = json.loads((project.build / name / "manifest.json").read_text())["inputs"]
    recorded = {(project.root / path).resolve(): digest for path, digest in inputs.items()}
    expected = project.root / source
    assert recorded[expected.resolve()] == hashlib.sha256(expected.read_bytes()).hexdigest()


def test_python_entry_returning_junk_fails_clearly(sources_project: tuple) -> None:
    """An entry that does not return a Keras model fails with a one-line reason."""
    project, _, _ = sources_project
    log = (project.root / "build.log").read_text()
    assert ("returns_junk (modelspecs/returns_junk.toml): model.source.entry: "
            "builders.mlp:not_a_model() returned int, expected a Keras model") in log


def test_keras_file_whose_input_does_not_match_the_data_fails_first_naming_both_shapes(
        sources_project: tuple, project: Project) -> None:
    """A loaded .keras model is checked against the data set's sample shape before anything converts
    or calibrates: one line with both shapes, and no .tflite is attempted."""
    built, _, _ = sources_project
    model = (built.root / "models" / "tiny.keras").as_posix()
    project.add_spec("wrong_shape", f'[model.source]\ntype = "keras_file"\npath = "{model}"\n'
                     f'{DATASET.replace("[8, 8]", "[8, 8, 1]")}{VARIANTS}')
    run = project.doit()
    assert run.returncode != 0
    assert ("wrong_shape (modelspecs/wrong_shape.toml): model input shape (8, 8) does not match the data "
            "set's sample shape (8, 8, 1)") in run.output, run.output
    assert "savedmodel:wrong_shape FAILED" in run.output
    assert not list(project.build.glob("wrong_shape/*.tflite"))


def test_lambda_layer_is_refused_without_trust_code(project: Project) -> None:
    """A .keras file with a Lambda layer is not loaded unless the spec opts in."""
    import keras

    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Lambda(lambda x: x * 2.0),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    model.save(project.root / "lambda.keras")
    spec = (f'[model.source]\ntype = "keras_file"\npath = "../lambda.keras"\n{DATASET}'
            '[[variant]]\nname = "float32"\n')
    project.add_spec("unsafe", spec)
    run = project.doit("tflite")
    assert run.returncode != 0
    assert "Keras safe mode refuses to run" in run.output and "trust_code = true" in run.output
    project.add_spec("unsafe", spec.replace('lambda.keras"', 'lambda.keras"\ntrust_code = true'))
    run = project.doit("tflite")
    assert run.returncode == 0, run.output


def test_mnist_offline_fails_with_a_clear_message(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without network, the MNIST data set fails naming the download and the offline options."""
    from tests.support import SPECS

    project.add_spec("mnist_mlp", (SPECS / "mnist_mlp.toml").read_text())
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(key, "http://127.0.0.1:9")  # nothing listens there: offline
    monkeypatch.setenv("KERAS_HOME", str(project.root / "keras_home"))
    run = project.doit("dataset")
    assert run.returncode != 0
    assert 'dataset.type: "mnist" downloads MNIST through Keras and the download failed' \
        in run.output
    assert 'type = "digits"' in run.output
