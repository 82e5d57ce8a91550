"""`batch`, `per_channel_dense`, `strip_names`: defaults, spec errors, up-to-date keys, report and firmware text."""

from __future__ import annotations

from pathlib import Path

from tests.support import MINIMAL_SPEC, changed_tasks, spec_problems, tasks_of, write_spec
from tflmake.report.summary import converter_note
from tflmake.spec.load import ModelSpec, load_spec

FROZEN = """
[model.source]
type = "frozen_graph"
path = "g.pb"
input_arrays = ["x"]
output_arrays = ["y"]

[[variant]]
name = "float32"
"""


def load(tmp_path: Path, text: str) -> ModelSpec:
    return load_spec(write_spec(tmp_path, text))


def variant(body: str) -> str:
    return MINIMAL_SPEC + '\n[[variant]]\nname = "v"\n' + body + "\n"


def test_c_array_variants_default_to_batch_1_and_the_others_stay_dynamic(tmp_path: Path) -> None:
    """Firmware variants convert from a [1, ...] signature unless they say otherwise."""
    spec = load(tmp_path, variant('quantize = "int8"\nc_array = true'))
    assert spec.variant("v").batch == 1
    assert spec.variant("float32").batch == "dynamic"


def test_batch_dynamic_keeps_a_c_array_variant_dynamic(tmp_path: Path) -> None:
    spec = load(tmp_path, variant('quantize = "int8"\nc_array = true\nbatch = "dynamic"'))
    assert spec.variant("v").batch == "dynamic"


def test_batch_1_as_a_float_is_the_integer_1(tmp_path: Path) -> None:
    """TOML's 1.0 passes the schema's enum; the key must not differ from batch = 1's."""
    spec = load(tmp_path, variant("batch = 1.0"))
    assert spec.variant("v").batch == 1 and isinstance(spec.variant("v").batch, int)
    assert spec.variant("v").fragment()["batch"] == 1


def test_a_batch_other_than_1_or_dynamic_is_an_error(tmp_path: Path) -> None:
    assert spec_problems(tmp_path, variant("batch = 4")) == [
        "variant[1].batch: expected one of 1, dynamic; got 4"]


def test_a_litert_quantizer_variant_takes_the_batch_of_its_float_source(tmp_path: Path) -> None:
    """Its default stays dynamic, and setting batch on it names the variant to set it on."""
    spec = load(tmp_path, variant('quantize = "int8"\nbackend = "litert_quantizer"\nc_array = true'))
    assert spec.variant("v").batch == "dynamic"
    found = spec_problems(tmp_path, variant('quantize = "int8"\nbackend = "litert_quantizer"\nbatch = 1'))
    assert found == ['variant[1].batch: backend = "litert_quantizer" quantizes the float32 .tflite, '
                     'whose batch it keeps; set batch on variant "float32" instead']


def test_batch_on_a_frozen_graph_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "g.pb").write_bytes(b"")
    found = spec_problems(tmp_path, FROZEN + "batch = 1\n")
    assert len(found) == 1 and found[0].startswith('variant[0].batch: a "frozen_graph" model gets its batch')
    assert load(tmp_path, FROZEN + "c_array = true\n").variant("float32").batch == "dynamic"


def test_per_channel_dense_false_needs_int8_weights(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant('quantize = "float16"\nper_channel_dense = false'))
    assert found == ["variant[1].per_channel_dense: only for quantize = dynamic, int8, int16x8 (the "
                     'modes with int8 weights); this variant has quantize = "float16"']


def test_per_channel_dense_false_needs_the_converter(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant(
        'quantize = "int8"\nbackend = "litert_quantizer"\nper_channel_dense = false'))
    assert found == ['variant[1].per_channel_dense: only with backend = "converter" (a LiteRT '
                     "Quantizer recipe sets the granularity itself)"]


def test_the_keys_enter_a_variants_fragment_only_when_they_change_its_bytes(tmp_path: Path) -> None:
    """Plain variants keep the key they had before the options existed (no rebuild on upgrade)."""
    spec = load(tmp_path, variant('quantize = "int8"\nc_array = true\nper_channel_dense = false'))
    assert spec.variant("float32").fragment() == {"name": "float32", "quantize": "none", "io_type": "float32"}
    assert spec.variant("v").fragment() == {"name": "v", "quantize": "int8", "io_type": "float32",
                                            "batch": 1, "per_channel_dense": False, "strip_names": True}


def test_c_array_variants_default_to_strip_names_and_the_others_keep_them(tmp_path: Path) -> None:
    """Firmware variants drop the debug names TFLite Micro never reads unless they say otherwise."""
    spec = load(tmp_path, variant('quantize = "int8"\nc_array = true'))
    assert spec.variant("v").strip_names is True
    assert spec.variant("float32").strip_names is False


def test_strip_names_can_be_set_either_way(tmp_path: Path) -> None:
    """false keeps a firmware variant's names (and its pre-key up-to-date key); true strips a host one."""
    kept = load(tmp_path, variant('quantize = "int8"\nc_array = true\nstrip_names = false')).variant("v")
    assert kept.strip_names is False and "strip_names" not in kept.fragment()
    stripped = load(tmp_path, variant("strip_names = true")).variant("v")
    assert stripped.strip_names is True and stripped.fragment()["strip_names"] is True


def test_strip_names_must_be_a_boolean(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant('strip_names = "yes"'))
    assert len(found) == 1 and found[0].startswith("variant[1].strip_names:")


def test_a_float_source_the_litert_quantizer_matches_names_in_must_keep_them(tmp_path: Path) -> None:
    """keep_float and recipe regexes match tensor names of the float32 .tflite: stripping it is an error."""
    text = MINIMAL_SPEC.replace('name = "float32"', 'name = "float32"\nc_array = true') + \
        '\n[[variant]]\nname = "v"\nquantize = "int8"\nbackend = "litert_quantizer"\nkeep_float = ["dense"]\n'
    assert spec_problems(tmp_path, text) == [
        'variant[0].strip_names: variant "v" (backend = "litert_quantizer") matches its keep_float or '
        "recipe regexes against the tensor names of this variant's .tflite, which strip_names = true "
        "(the default with c_array = true) removes; set strip_names = false"]
    assert load(tmp_path, text.replace("c_array = true", "c_array = true\nstrip_names = false"))
    plain = text.replace('keep_float = ["dense"]\n', "")
    assert load(tmp_path, plain).variant("float32").strip_names is True


def test_a_stripping_variants_key_holds_the_versions_of_the_rewriting_packages(tmp_path: Path) -> None:
    """The rewritten bytes depend on LiteRT's schema module and the flatbuffers builder; others' keys do not."""
    tasks = tasks_of(tmp_path)
    stripping = tasks["tflite:digits_mlp.int8"]["uptodate"][0].config["tools"]
    plain = tasks["tflite:digits_mlp.float32"]["uptodate"][0].config["tools"]
    assert {"tensorflow", "ai-edge-litert", "flatbuffers"} <= set(stripping)
    assert set(plain) == {"tensorflow"}


def test_strip_names_change_touches_only_that_variant(tmp_path: Path) -> None:
    edit = ('io_type = "int8"\n', 'io_type = "int8"\nstrip_names = false\n')
    assert changed_tasks(tmp_path, edit) == {"tflite:digits_mlp.int8", "manifest:digits_mlp"}


def test_per_channel_dense_change_touches_only_that_variant(tmp_path: Path) -> None:
    edit = ('io_type = "int8"\n', 'io_type = "int8"\nper_channel_dense = false\n')
    assert changed_tasks(tmp_path, edit) == {"tflite:digits_mlp.int8", "manifest:digits_mlp"}


def test_batch_change_touches_only_that_variant(tmp_path: Path) -> None:
    edit = ('io_type = "int8"\n', 'io_type = "int8"\nbatch = "dynamic"\n')
    assert changed_tasks(tmp_path, edit) == {"tflite:digits_mlp.int8", "manifest:digits_mlp"}


def test_dataset_scale_is_in_the_firmware_bundles_key(tmp_path: Path) -> None:
    """The bundle states the scale (RAW_SCALE), so editing it rebuilds the bundle itself."""
    assert "carray:digits_mlp.int8" in changed_tasks(tmp_path, ("scale = 16.0", "scale = 8.0"))
    key = tasks_of(tmp_path)["carray:digits_mlp.int8"]["uptodate"][0].config
    assert key["raw_scale"] == 16.0


def test_report_note_says_the_measured_batch_and_dense_granularity() -> None:
    assert converter_note({"batch": 1, "dense_weights": "per-tensor"}) == \
        " (batch 1, Dense weights per-tensor)"
    assert converter_note({"batch": None, "dense_weights": None}) == " (dynamic batch)"
    assert converter_note({"batch": 1, "dense_weights": None, "host_kernels": "XNNPACK"}) == " (batch 1)"
    assert converter_note({"batch": 1, "dense_weights": None, "host_kernels": "built-in kernels: why"}) == \
        " (batch 1, host latency on built-in kernels: why)"
    assert converter_note({}) == ""
