"""Spec loading: good specs normalise, bad specs fail with every problem named by key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import MINIMAL_SPEC, spec_problems, write_spec
from tflmake.errors import SpecError
from tflmake.spec.load import load_spec, load_specs

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["digits_mlp", "digits_cnn"])
def test_example_specs_are_valid(name: str) -> None:
    """The tests' copies of the examples load without errors (CI builds the shipped ones, .ci/run)."""
    spec = load_spec(REPO / "tests" / "data" / "specs" / f"{name}.toml")
    assert spec.name == name
    assert {v.name for v in spec.variants} >= {"float32", "int8"}


def test_mnist_example_is_valid() -> None:
    """The network example (the tests' copy of examples/mnist_mlp.toml) is a valid spec too."""
    assert load_spec(REPO / "tests" / "data" / "specs" / "mnist_mlp.toml").dataset["type"] == "mnist"


def test_defaults_are_filled_from_the_schema(tmp_path: Path) -> None:
    """Omitted keys get the schema's defaults; the name defaults to the file stem."""
    spec = load_spec(write_spec(tmp_path, MINIMAL_SPEC))
    assert spec.name == "demo"
    assert spec.train == {"epochs": 5, "batch_size": 32, "optimizer": "adam",
                          "learning_rate": 0.001, "loss": "sparse_categorical_crossentropy",
                          "metrics": ["accuracy"], "seed": 0}
    assert spec.representative == {"samples": 100, "seed": 0}
    variant = spec.variants[0]
    assert (variant.quantize, variant.io_type, variant.c_array) == ("none", "float32", False)
    assert spec.dataset is not None and spec.dataset["test_fraction"] == 0.2


def test_paths_resolve_against_the_spec_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative path in a spec is relative to the spec's folder, not the working directory."""
    (tmp_path / "specs" / "models").mkdir(parents=True)
    (tmp_path / "specs" / "models" / "m.keras").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    text = MINIMAL_SPEC.replace('type = "layers"\ninput_shape = [8, 8]\nlayers = [{ type = "Flatten" }, '
                           '{ type = "Dense", units = 10 }]', 'type = "keras_file"\npath = "models/m.keras"')
    spec = load_spec(write_spec(tmp_path / "specs", text))
    assert spec.resolve(spec.source["path"]) == "specs/models/m.keras"


def test_enum_error_names_spec_key_and_choices(tmp_path: Path) -> None:
    """A bad quantize value is reported with file, key path, choices and the value given."""
    text = MINIMAL_SPEC + '\n[[variant]]\nname = "q"\nquantize = "int3"\n'
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(tmp_path, text))
    assert str(caught.value) == (
        f"{(tmp_path / 'demo.toml').as_posix()}: variant[1].quantize: expected one of none, "
        'dynamic, float16, int8, int16x8, int4_weights; got "int3"')


def test_unknown_key_suggests_the_nearest(tmp_path: Path) -> None:
    """A typo in a key is an error with a did-you-mean suggestion."""
    found = spec_problems(tmp_path, MINIMAL_SPEC + 'quantise = "int8"\n')
    assert found == ['variant[0].quantise: unknown key; did you mean "quantize"?']


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    """Several mistakes in one spec come back together, one line each."""
    text = MINIMAL_SPEC.replace('name = "float32"', 'name = "Float32"\nc_array = "yes"') + \
        "[train]\nepochs = -1\n"
    found = spec_problems(tmp_path, text)
    assert any(p.startswith("variant[0].name: expected a name of lowercase") for p in found)
    assert 'variant[0].c_array: expected a boolean; got "yes"' in found
    assert "train.epochs: expected a number >= 0; got -1" in found


def test_missing_required_key(tmp_path: Path) -> None:
    """A layers source without input_shape names the missing key."""
    found = spec_problems(tmp_path, MINIMAL_SPEC.replace("input_shape = [8, 8]\n", ""))
    assert found == ["model.source.input_shape: required key is missing"]


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    """Broken TOML is reported with its position."""
    found = spec_problems(tmp_path, "[model\nname = 1\n")
    assert len(found) == 1
    assert found[0].startswith("TOML syntax error:") and "line 1" in found[0]


def test_duplicate_variant_names(tmp_path: Path) -> None:
    """Two variants with one name are an error naming both indices."""
    found = spec_problems(tmp_path, MINIMAL_SPEC + '\n[[variant]]\nname = "float32"\n')
    assert found == ['variant[1].name: "float32" is already used by variant[0]; '
                     "variant names must be unique"]


def test_io_type_only_with_int8(tmp_path: Path) -> None:
    """io_type on a non-int8 variant is rejected."""
    found = spec_problems(tmp_path, MINIMAL_SPEC + 'io_type = "int8"\n')
    assert found == ['variant[0].io_type: only allowed with quantize = "int8"; '
                     'this variant has quantize = "none"']


def test_train_with_loaded_source(tmp_path: Path) -> None:
    """[train] makes no sense for a SavedModel that is used as is."""
    (tmp_path / "sm").mkdir()
    text = ('[model.source]\ntype = "saved_model"\npath = "sm"\n[train]\nepochs = 2\n'
            '[[variant]]\nname = "f"\n')
    assert spec_problems(tmp_path, text) == [
        'train: a model loaded from "saved_model" is used as is, not trained; remove [train]']


def test_missing_source_file(tmp_path: Path) -> None:
    """A path that does not exist is named, resolved against the spec folder."""
    text = '[model.source]\ntype = "keras_file"\npath = "nope.keras"\n[[variant]]\nname = "f"\n'
    assert spec_problems(tmp_path, text) == [
        f"model.source.path: no such file: {(tmp_path / 'nope.keras').as_posix()}"]


PRETRAINED = ('[model.source]\ntype = "python"\nentry = "nets:build"\nweights = "{weights}"\n'
              '[dataset]\ntype = "digits"\n[train]\nepochs = 0\n[[variant]]\nname = "f"\n')


def test_python_source_with_weights_and_no_training_is_valid(tmp_path: Path) -> None:
    """`weights` on a python source and `[train] epochs = 0` load; the weights file is kept as given."""
    (tmp_path / "nets.py").write_text("")
    (tmp_path / "net.weights.h5").write_bytes(b"")
    spec = load_spec(write_spec(tmp_path, PRETRAINED.format(weights="net.weights.h5")))
    assert spec.source["weights"] == "net.weights.h5" and spec.train and spec.train["epochs"] == 0


def test_missing_weights_file_is_named(tmp_path: Path) -> None:
    """A weights file that does not exist is named with its key, resolved against the spec folder."""
    (tmp_path / "nets.py").write_text("")
    assert spec_problems(tmp_path, PRETRAINED.format(weights="gone.h5")) == [
        f"model.source.weights: no such file: {(tmp_path / 'gone.h5').as_posix()}"]


def test_weights_file_must_be_a_keras_weights_format(tmp_path: Path) -> None:
    """A weights path Keras cannot read by its suffix is refused before any build."""
    (tmp_path / "nets.py").write_text("")
    problems = spec_problems(tmp_path, PRETRAINED.format(weights="net.ckpt"))
    assert problems[0].startswith("model.source.weights: expected a path ending in .weights.h5, .h5")


def test_calibrated_variant_needs_a_dataset(tmp_path: Path) -> None:
    """int8 without [dataset] cannot calibrate."""
    (tmp_path / "m.keras").write_bytes(b"x")
    text = ('[model.source]\ntype = "keras_file"\npath = "m.keras"\n'
            '[[variant]]\nname = "q"\nquantize = "int8"\n')
    assert spec_problems(tmp_path, text) == [
        'variant[0].quantize: "int8" calibrates on a representative set, so the spec needs '
        "a [dataset] section"]


def test_invalid_file_stem_needs_explicit_name(tmp_path: Path) -> None:
    """A file name that is not a valid model name must be overridden with model.name."""
    found = spec_problems(tmp_path, MINIMAL_SPEC, name="My-Model")
    assert found[0].startswith('model.name: the file name "My-Model" is not a valid model name')


def test_name_cannot_escape_build_dir(tmp_path: Path) -> None:
    """Path traversal in a model name is rejected by the name pattern."""
    found = spec_problems(tmp_path, '[model]\nname = "../evil"\n' + MINIMAL_SPEC.lstrip())
    assert found[0].startswith('model.name: expected a name of lowercase letters')


def test_broken_spec_does_not_hide_good_ones(tmp_path: Path) -> None:
    """load_specs returns the good specs and an error per broken one."""
    good = write_spec(tmp_path, MINIMAL_SPEC, "good")
    bad = write_spec(tmp_path, "[model", "bad")
    specs, errors = load_specs([good, bad])
    assert [s.name for s in specs] == ["good"]
    assert [e.spec_path for e in errors] == [bad.as_posix()]


def test_two_specs_with_one_model_name(tmp_path: Path) -> None:
    """Both specs claiming a model name fail, each naming the other."""
    first = write_spec(tmp_path, '[model]\nname = "same"\n' + MINIMAL_SPEC.lstrip(), "a")
    second = write_spec(tmp_path, '[model]\nname = "same"\n' + MINIMAL_SPEC.lstrip(), "b")
    specs, errors = load_specs([first, second])
    assert specs == []
    assert len(errors) == 2 and all("used by more than one spec" in str(e) for e in errors)
