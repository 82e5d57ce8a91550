"""A bundle's C text renamed equals the same bundle rendered under the new names."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.emit.test_firmware import bundle
from tflmake.emit.firmware import render_header, render_source
from tflmake.emit.opresolver import render_op_resolver
from tflmake.emit.rename import front_end_renames, model_renames, rename
from tflmake.frontend.table import FRONT_ENDS
from tflmake.spec.load import _defaults, _type_defaults
from tflmake.tflite.quantize import Quantization

# The symbol template of tests/support.CNN_FIRMWARE: no `_model_data`, so file names and symbol differ.
OLD = ("g_m_int8", "m_int8")
NEW = ("g_m_selected_model_data", "m_selected")
RENAMES = model_renames(OLD[0], NEW[0], OLD[1], NEW[1])


@pytest.mark.parametrize("render", [render_header, render_source])
def test_renamed_model_data_equals_the_bundle_rendered_under_the_new_names(render: object) -> None:
    """Symbol, macros, header guard and the included header's name all move; the data does not."""
    old = render(bundle(symbol=OLD[0], header_name=f"{OLD[1]}_model_data.h"))  # type: ignore[operator]
    new = render(bundle(symbol=NEW[0], header_name=f"{NEW[1]}_model_data.h"))  # type: ignore[operator]
    assert old != new
    assert rename(old, RENAMES) == new


def test_renamed_op_resolver_equals_the_one_rendered_under_the_new_symbol() -> None:
    ops = ("CONV_2D", "FULLY_CONNECTED", "SOFTMAX")
    old = render_op_resolver(symbol=OLD[0], ops=ops, comment="m/int8")
    assert rename(old, RENAMES) == render_op_resolver(symbol=NEW[0], ops=ops, comment="m/int8")


@pytest.mark.parametrize("kind", ["audio_folder", "image_folder"])
def test_renamed_front_end_equals_the_one_rendered_under_the_new_prefix(kind: str) -> None:
    """Functions, statics, types, macros, guard, include and comments named `<model>_<variant>` all move."""
    options = _defaults("dataset") | _type_defaults("dataset", kind) | {"type": kind}
    front_end = FRONT_ENDS[kind]
    quantization = Quantization(np.dtype(np.int8), 0.05, -3)
    old = front_end.render(OLD[1], front_end.contract(options), quantization)  # type: ignore[arg-type]
    new = front_end.render(NEW[1], front_end.contract(options), quantization)  # type: ignore[arg-type]
    assert [rename(text, front_end_renames(OLD[1], NEW[1])) for text in old] == list(new)


def test_a_name_inside_a_longer_name_is_left_alone() -> None:
    """Only whole names move: `xg_m_int8` and `g_m_int8` inside `TFLMAKE_` guards differ in kind."""
    text = "xg_m_int8 g_m_int8_len TFLMAKE_G_M_INT8_H_ m_int8 \"m_int8_model_data.h\""
    assert rename(text, RENAMES) == ("xg_m_int8 g_m_selected_model_data_len "
                                     "TFLMAKE_G_M_SELECTED_MODEL_DATA_H_ m_int8 \"m_selected_model_data.h\"")


def test_a_symbol_equal_to_the_header_stem_renames_the_file_name_as_a_file() -> None:
    """With symbol "{model}_{variant}_model_data" the include is still the file's stable name."""
    renames = model_renames("m_int8_model_data", "g_m_selected_model_data", "m_int8", "m_selected")
    assert rename('#include "m_int8_model_data.h"\nm_int8_model_data_len', renames) == \
        '#include "m_selected_model_data.h"\ng_m_selected_model_data_len'
