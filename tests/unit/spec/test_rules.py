"""Optimization keys: which combinations are spec errors, and what each variant's key holds."""

from __future__ import annotations

from pathlib import Path

from tests.support import MINIMAL_SPEC, spec_problems, write_spec
from tflmake.spec.load import load_spec


def load(tmp_path: Path, text: str) -> object:
    return load_spec(write_spec(tmp_path, text))


def variant(body: str) -> str:
    return MINIMAL_SPEC + '\n[[variant]]\nname = "v"\n' + body + "\n"


def test_float16_with_the_litert_quantizer_is_an_error_naming_the_variant(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant('quantize = "float16"\nbackend = "litert_quantizer"'))
    assert found == ['variant[1].quantize: "float16" is not available with backend = '
                     '"litert_quantizer"; use one of dynamic, int8, int16x8, int4_weights or '
                     'backend = "converter"']


def test_int4_weights_needs_the_litert_quantizer(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant('quantize = "int4_weights"'))
    assert found == ['variant[1].quantize: "int4_weights" is not available with backend = '
                     '"converter"; use one of none, dynamic, float16, int8, int16x8 or '
                     'backend = "litert_quantizer"']


def test_litert_quantizer_needs_a_plain_float32_variant(tmp_path: Path) -> None:
    """The quantizer starts from a float .tflite; a spec without one says so."""
    text = MINIMAL_SPEC.replace('name = "float32"', 'name = "float32"\nquantize = "dynamic"') + \
        '\n[[variant]]\nname = "v"\nquantize = "int8"\nbackend = "litert_quantizer"\n'
    found = spec_problems(tmp_path, text)
    assert len(found) == 1 and found[0].startswith('variant[1].backend: "litert_quantizer" quantizes')


def test_litert_quantizer_chooses_its_io_types(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant('quantize = "int8"\nbackend = "litert_quantizer"\nio_type = "int8"'))
    assert len(found) == 1 and found[0].startswith(
        'variant[1].io_type: backend = "litert_quantizer" chooses the input and output types itself')


def test_recipe_is_only_for_the_litert_quantizer_and_its_file_must_exist(tmp_path: Path) -> None:
    assert spec_problems(tmp_path, variant('quantize = "int8"\nrecipe = "r.json"')) == [
        'variant[1].recipe: only with backend = "litert_quantizer"']
    found = spec_problems(tmp_path, variant('quantize = "int8"\nbackend = "litert_quantizer"\nrecipe = "r.json"'))
    assert found == [f"variant[1].recipe: no such file: {(tmp_path / 'r.json').as_posix()}"]


def test_keep_float_must_be_regular_expressions(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant('quantize = "int8"\nkeep_float = ["dense(", "ok"]'))
    assert len(found) == 1 and found[0].startswith('variant[1].keep_float[0]: "dense(" is not a regular')


def test_keep_float_with_the_converter_is_int8_with_float_io_only(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant('quantize = "dynamic"\nkeep_float = ["dense"]'))
    assert len(found) == 1 and found[0].startswith(
        'variant[1].keep_float: with backend = "converter" only for quantize = "int8"')
    load(tmp_path, variant('quantize = "dynamic"\nkeep_float = ["dense"]\nbackend = "litert_quantizer"'))


def test_qat_is_only_for_int8_and_prune_not_with_the_litert_quantizer(tmp_path: Path) -> None:
    assert spec_problems(tmp_path, variant('quantize = "dynamic"\nqat = { epochs = 1 }')) == [
        'variant[1].qat: only for quantize = "int8"; this variant has quantize = "dynamic"']
    found = spec_problems(tmp_path, variant('quantize = "int8"\nbackend = "litert_quantizer"\n'
                                       "prune = { sparsity = 0.5 }"))
    assert found[0].startswith('variant[1].prune: only with backend = "converter"')


def test_sparse_encoding_is_refused_for_firmware_bundles(tmp_path: Path) -> None:
    """TFLite Micro has no DENSIFY kernel, so a c_array variant must store zeros densely."""
    found = spec_problems(tmp_path, variant('quantize = "int8"\nc_array = true\n'
                                       'prune = { sparsity = 0.5, encoding = "sparse" }'))
    assert found == ['variant[1].prune.encoding: "sparse" needs the DENSIFY op, which TFLite Micro '
                     'does not have; use encoding = "dense" for a c_array variant']


def test_prune_sparsity_is_required_and_below_one(tmp_path: Path) -> None:
    assert spec_problems(tmp_path, variant("prune = { epochs = 1 }")) == [
        "variant[1].prune.sparsity: required key is missing"]
    assert spec_problems(tmp_path, variant("prune = { sparsity = 1.0 }"))[0].startswith(
        "variant[1].prune.sparsity:")


def test_plain_variants_keep_their_old_key_and_options_fill_defaults(tmp_path: Path) -> None:
    """A variant without optimizations has the key it had before; prune gets its defaults."""
    spec = load(tmp_path, variant('quantize = "int8"\nprune = { sparsity = 0.5 }'))
    assert spec.variant("float32").fragment() == {"name": "float32", "quantize": "none",  # type: ignore[attr-defined]
                                                  "io_type": "float32"}
    assert spec.variant("v").fragment()["prune"] == {  # type: ignore[attr-defined]
        "sparsity": 0.5, "schedule": "polynomial", "epochs": 2, "encoding": "dense"}


def test_an_accelerator_on_a_variant_that_is_not_full_integer_is_refused_with_the_reason(tmp_path: Path) -> None:
    """Vela needs integer ops: int16x8 (not full integer in QUANTIZE_MODES) is refused, naming int8."""
    found = spec_problems(tmp_path, variant('quantize = "int16x8"\naccelerator = "ethos-u55-128"'))
    assert found == ['variant[1].accelerator: the Ethos-U NPU runs full-integer models (quantize = "int8"); '
                     'this variant has quantize = "int16x8" (int16 activations, int8 weights, calibrated), '
                     "so Vela would leave every op on the CPU"]


def test_an_accelerator_on_an_int8_variant_is_accepted_with_vela_s_defaults(tmp_path: Path) -> None:
    """Unset system_config and memory_mode are the accelerator's defaults from ACCELERATORS."""
    spec = load_spec(write_spec(tmp_path, variant('quantize = "int8"\naccelerator = "ethos-u65-256"')))
    assert spec.variant("v").vela_options() == {
        "accelerator": "ethos-u65-256", "system_config": "Ethos_U65_Client_Server",
        "memory_mode": "Dedicated_Sram_384KB"}


def test_an_unknown_accelerator_is_refused_listing_vela_s_configs(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant('quantize = "int8"\naccelerator = "ethos-u55-100"'))
    assert len(found) == 1 and found[0].startswith("variant[1].accelerator: expected one of ethos-u55-32, ")


def test_vela_keys_without_an_accelerator_are_refused(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant('quantize = "int8"\nsystem_config = "Ethos_U55_Deep_Embedded"'))
    assert found == ["variant[1].system_config: only with accelerator (the Ethos-U configuration Vela "
                     "compiles for)"]


def test_a_vela_config_file_must_exist_and_name_its_sections(tmp_path: Path) -> None:
    """Your own .ini replaces Vela's, so its system config and memory mode must be named."""
    found = spec_problems(tmp_path, variant('quantize = "int8"\naccelerator = "ethos-u55-128"\n'
                                            'vela_config = "my.ini"'))
    assert found == ["variant[1].system_config: needed with vela_config (name a section of my.ini)",
                     "variant[1].memory_mode: needed with vela_config (name a section of my.ini)",
                     f"variant[1].vela_config: no such file: {(tmp_path / 'my.ini').as_posix()}"]


SEARCH = "keep_float_search = { max_accuracy_drop = 0.01 }"


def test_keep_float_search_is_accepted_on_converter_int8_with_float_io(tmp_path: Path) -> None:
    """The target becomes part of the variant's key (its fragment)."""
    spec = load_spec(write_spec(tmp_path, variant(f'quantize = "int8"\n{SEARCH}')))
    searched = spec.variant("v")
    assert searched.keep_float_search == {"max_accuracy_drop": 0.01}
    assert searched.fragment()["keep_float_search"] == {"max_accuracy_drop": 0.01}
    assert "keep_float_search" not in spec.variant("float32").fragment()


def test_keep_float_search_is_refused_on_modes_that_are_not_full_integer_with_the_reason(tmp_path: Path) -> None:
    """dynamic, int16x8 and float32 have no int8 model whose ops the converter could keep in float."""
    for mode, doc in (("dynamic", "int8 weights, float activations"), ("none", "float32"),
                      ("int16x8", "int16 activations, int8 weights, calibrated")):
        found = spec_problems(tmp_path, variant(f'quantize = "{mode}"\n{SEARCH}'))
        assert found == [f'variant[1].keep_float_search: only for quantize = "int8": the converter keeps ops '
                         f'in float only in a full-integer model; this variant has quantize = "{mode}" ({doc})']


def test_keep_float_search_is_refused_with_the_litert_quantizer_int8_io_or_keep_float(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant(f'quantize = "int8"\nbackend = "litert_quantizer"\n{SEARCH}'))
    assert found == ['variant[1].keep_float_search: only with backend = "converter" (each candidate is '
                     "converted from the model with the converter's keep_float path)"]
    found = spec_problems(tmp_path, variant(f'quantize = "int8"\nio_type = "int8"\n{SEARCH}'))
    assert found == ['variant[1].keep_float_search: needs io_type = "float32" (the converter keeps ops in '
                     'float only with float input and output); this variant has io_type = "int8"']
    found = spec_problems(tmp_path, variant(f'quantize = "int8"\nkeep_float = ["dense"]\n{SEARCH}'))
    assert found == ["variant[1].keep_float_search: the search chooses the ops to keep in float itself; "
                     "remove keep_float or keep_float_search"]


def test_keep_float_search_needs_an_evaluation_task_that_measures_accuracy(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, variant(f'quantize = "int8"\n{SEARCH}') + '[evaluation]\ntask = "regression"\n')
    assert found == ['variant[1].keep_float_search: max_accuracy_drop is measured only for evaluation.task = '
                     '"classification"; this model has task = "regression"']


def test_keep_float_search_needs_its_target_as_a_fraction(tmp_path: Path) -> None:
    """The target is required and in the gate's unit (0.01 = 1 point), so 1.0 would allow anything and 5 is out."""
    assert any("keep_float_search" in p and "max_accuracy_drop" in p
               for p in spec_problems(tmp_path, variant('quantize = "int8"\nkeep_float_search = {}')))
    assert any("keep_float_search.max_accuracy_drop" in p
               for p in spec_problems(tmp_path, variant('quantize = "int8"\nkeep_float_search = '
                                                        '{ max_accuracy_drop = 5 }')))


EXPORTED = MINIMAL_SPEC.replace('name = "float32"', 'name = "float32"\nc_array = true')


def test_select_fills_in_flash_and_the_stable_symbol(tmp_path: Path) -> None:
    """`[select]` alone ships the smallest flash as g_<model>_selected_model_data."""
    spec = load_spec(write_spec(tmp_path, EXPORTED + "\n[select]\n"))
    assert spec.select == {"minimize": "flash", "symbol": "g_{model}_selected_model_data"}
    assert spec.selected_symbol() == "g_demo_selected_model_data"
    assert load_spec(write_spec(tmp_path, EXPORTED)).select is None


def test_select_needs_an_exported_variant(tmp_path: Path) -> None:
    """Only a variant with a firmware bundle can be shipped."""
    assert spec_problems(tmp_path, MINIMAL_SPEC + "\n[select]\n") == [
        "select: only variants with c_array = true have a firmware bundle to ship; set c_array = true "
        "on at least one variant"]


def test_select_needs_measurements(tmp_path: Path) -> None:
    text = EXPORTED.replace('[dataset]\ntype = "digits"\n', "").replace('type = "layers"', 'type = "keras_file"\n'
                                                                          'path = "m.keras"')
    (tmp_path / "m.keras").write_text("")
    found = spec_problems(tmp_path, text.replace("input_shape = [8, 8]\nlayers = [{ type = \"Flatten\" }, "
                                                 "{ type = \"Dense\", units = 10 }]\n", "") + "\n[select]\n")
    assert found == ["select: choosing a variant needs every variant's measurements, so the spec needs a "
                     "[dataset] section"]


def test_no_variant_may_take_the_selected_bundle_s_name(tmp_path: Path) -> None:
    """`selected` names the stable files; a variant called so would write over them."""
    found = spec_problems(tmp_path, EXPORTED.replace('name = "float32"', 'name = "selected"') + "\n[select]\n")
    assert found == ['variant[0].name: "selected" names the files of the [select] bundle '
                     "(firmware/<model>_selected_*); rename the variant"]


def test_select_symbol_must_differ_from_every_variant_s_symbol(tmp_path: Path) -> None:
    """With one exported variant `[c_array] symbol` may be fixed: the selected one must still differ."""
    text = EXPORTED + '\n[c_array]\nsymbol = "g_model"\n\n[select]\nsymbol = "g_model"\n'
    assert spec_problems(tmp_path, text) == [
        'select.symbol: "g_model" is also the [c_array] symbol of variant "float32"; the selected '
        "bundle's names must differ from every variant's"]


def test_select_symbol_takes_only_the_model_placeholder(tmp_path: Path) -> None:
    found = spec_problems(tmp_path, EXPORTED + '\n[select]\nsymbol = "g_{variant}"\n')
    assert found == ['select.symbol: "g_{variant}" may contain only the placeholder {model}']


def test_a_select_typo_is_a_schema_error(tmp_path: Path) -> None:
    """An unknown criterion is refused with the allowed ones."""
    found = spec_problems(tmp_path, EXPORTED + '\n[select]\nminimize = "size"\n')
    assert len(found) == 1 and found[0].startswith("select.minimize") and "flash" in found[0]
