"""The firmware header/source text: C literals, I/O constants, labels, golden vectors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tflmake.emit.carray import format_bytes
from tflmake.emit.firmware import Bundle, Golden, c_float, c_string, render_header, render_source
from tflmake.tflite.modelinfo import TensorInfo

INT8_IN = TensorInfo("in", (1, 2, 2), "INT8", 0.5, -3)
FLOAT_OUT = TensorInfo("out", (1, 3), "FLOAT32")


def bundle(**changes: object) -> Bundle:
    fields: dict[str, object] = dict(
        symbol="g_m_v_model_data", header_name="v_model_data.h", data=bytes(range(20)),
        sha256="ab" * 32, alignment=16, section=None, comment="m/v", inputs=(INT8_IN,),
        outputs=(FLOAT_OUT,), arena_bytes_measured=1000, arena_bytes=2032, arena_margin="m",
        labels=("a", 'b"?', "é"),
        golden=Golden((np.array([[[1, -2], [3, -128]]], np.int8),),
                      (np.array([[0.25, 1e-7, -3.0]], np.float32),), "sample 0"))
    fields.update(changes)
    return Bundle(**fields)  # type: ignore[arg-type]


def test_c_float_round_trips_float32() -> None:
    """Every emitted float literal parses back to the same float32."""
    for value in (0.00392156886, 1.0, -3.0, 1e-7, 12345.678, np.float32(1 / 3)):
        text = c_float(float(value))
        assert text.endswith("f")
        assert np.float32(float(text[:-1])) == np.float32(value)


def test_c_float_integral_value_has_a_decimal_point() -> None:
    """`1` alone is an int and `1f` is not C; integral floats become `1.0f`."""
    assert c_float(1.0) == "1.0f"


def test_c_float_rejects_infinity() -> None:
    """C has no portable infinity literal, so emitting one must fail loudly."""
    with pytest.raises(ValueError):
        c_float(float("inf"))


def test_c_string_escapes_quotes_question_marks_and_non_ascii() -> None:
    """Quotes, backslashes and `?` (trigraphs) are escaped; UTF-8 bytes become octal escapes."""
    assert c_string('a"b\\c??=é') == r'"a\"b\\c\?\?=\303\251"'


def test_include_guard_differs_between_models() -> None:
    """Two models' `int8_model_data.h` can be included in one translation unit."""
    header = render_header(bundle(symbol="g_a_int8_model_data"))
    assert "#ifndef TFLMAKE_G_A_INT8_MODEL_DATA_H_" in header


def test_header_has_quantization_constants_only_for_quantized_tensors() -> None:
    """The int8 input gets SCALE/ZERO_POINT; the float output gets neither."""
    header = render_header(bundle())
    assert "#define G_M_V_MODEL_DATA_INPUT0_SCALE 0.5f" in header
    assert "#define G_M_V_MODEL_DATA_INPUT0_ZERO_POINT (-3)" in header
    assert "#define G_M_V_MODEL_DATA_INPUT0_SHAPE {1, 2, 2}" in header
    assert "typedef int8_t g_m_v_model_data_input0_t;" in header
    assert "typedef float g_m_v_model_data_output0_t;" in header
    assert "OUTPUT0_SCALE" not in header
    assert "#define G_M_V_MODEL_DATA_OUTPUT0_QUANTIZED 0" in header


def test_header_has_sha256_and_arena_sizes() -> None:
    """The sha256 is a string constant; both arena numbers are there."""
    header = render_header(bundle())
    assert f'#define G_M_V_MODEL_DATA_SHA256 "{"ab" * 32}"' in header
    assert "#define G_M_V_MODEL_DATA_ARENA_BYTES_MEASURED 1000u" in header
    assert "#define G_M_V_MODEL_DATA_ARENA_BYTES 2032u" in header


def test_source_has_labels_and_golden_vectors() -> None:
    """Labels are escaped strings; golden arrays hold the values in the I/O types."""
    source = render_source(bundle())
    assert r'"b\"\?",' in source
    assert "g_m_v_model_data_golden_input0[G_M_V_MODEL_DATA_INPUT0_ELEMENTS] = {\n" \
           "  1, -2, 3, -128,\n};" in source
    assert "0.25f, 1.00000001e-07f, -3.0f," in source


def test_no_labels_or_golden_means_no_declarations() -> None:
    """A model without a data set gets neither labels nor a self-test."""
    header = render_header(bundle(labels=None, golden=None))
    assert "_labels" not in header and "golden" not in header


def test_section_attribute_only_when_configured() -> None:
    """`section` puts the array in a named section; without it there is no attribute."""
    assert "TFLMAKE_SECTION" not in render_source(bundle())
    with_section = render_source(bundle(section=".rodata.model"))
    assert 'g_m_v_model_data[] TFLMAKE_SECTION(".rodata.model") = {' in with_section


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_synthetic_bundle_compiles_pedantically(tmp_path: Path) -> None:
    """Float golden values, escaped labels and a section compile as strict C99."""
    b = bundle(section=".rodata.model")
    (tmp_path / b.header_name).write_text(render_header(b))
    (tmp_path / "v_model_data.c").write_text(render_source(b))
    result = subprocess.run(
        ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c",
         "v_model_data.c", "-o", "v.o"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("length", [0, 1, 11, 12, 13, 25, 1000])
def test_format_bytes_matches_a_plain_loop(length: int) -> None:
    """The vectorised formatter equals the obvious loop, including a short last line."""
    data = bytes((i * 37 + 11) % 256 for i in range(length))
    expected = "".join("  " + ", ".join(f"0x{b:02x}" for b in data[i:i + 12]) + ",\n"
                       for i in range(0, length, 12))
    assert format_bytes(data) == expected


def test_header_states_the_raw_input_scale_next_to_the_quantization() -> None:
    text = render_header(bundle(raw_scale=16.0))
    assert "#define G_M_V_MODEL_DATA_INPUT0_RAW_SCALE 16.0f\n" in text
    assert "q = round(raw / RAW_SCALE / SCALE) + ZERO_POINT" in text
    assert "RAW_SCALE" not in render_header(bundle())


def test_golden_raw_sample_is_declared_and_defined_in_its_raw_type() -> None:
    """With a front end, the golden vector starts at the sensor: int16 PCM declared in the header, defined in C."""
    raw = np.array([0, -32768, 32767, 5], np.int16)
    header, source = render_header(bundle(golden_raw=raw)), render_source(bundle(golden_raw=raw))
    assert "#define G_M_V_MODEL_DATA_GOLDEN_RAW_ELEMENTS 4" in header
    assert "extern const int16_t g_m_v_model_data_golden_raw[G_M_V_MODEL_DATA_GOLDEN_RAW_ELEMENTS];" in header
    assert "0, -32768, 32767, 5," in source
    assert "golden_raw" not in render_header(bundle())


def test_input_contract_steps_are_stated_above_input_zero() -> None:
    """The header states every step from raw data to input 0, in order, in a comment."""
    header = render_header(bundle(contract=("raw: dtype int16", "1. normalize: divide_by max", "2. quantize")))
    assert "Input contract" in header
    assert header.index("raw: dtype int16") < header.index("1. normalize") < header.index("2. quantize")


def test_an_estimated_arena_is_named_so_and_says_how() -> None:
    """An Ethos-U model's arena is estimated, never labelled MEASURED."""
    header = render_header(bundle(arena_estimate="the sum of the tensors"))
    assert "ESTIMATED: the sum of the tensors." in header
    assert "#define G_M_V_MODEL_DATA_ARENA_BYTES_ESTIMATED 1000u" in header
    assert "MEASURED" not in header and "#define G_M_V_MODEL_DATA_ARENA_BYTES 2032u" in header


def test_a_golden_vector_from_another_model_says_which() -> None:
    golden = Golden((np.zeros((1, 2, 2), np.int8),), (np.zeros((1, 3), np.float32),), "sample 0",
                    ran_on="The outputs are int8.tflite's.")
    header = render_header(bundle(golden=golden))
    assert "float to about 1e-5).\n * The outputs are int8.tflite's. */" in header
