"""Op names -> MicroMutableOpResolver methods, and the resolver header."""

from __future__ import annotations

import pytest

from tflmake.emit.opresolver import render_op_resolver, resolver_methods
from tflmake.errors import BuildError


def test_methods_follow_tflm_spelling() -> None:
    """Names TFLM does not derive by one rule are spelled as in micro_mutable_op_resolver.h."""
    ops = ["FULLY_CONNECTED", "CONV_2D", "MAX_POOL_2D", "DEPTHWISE_CONV_2D", "PADV2",
           "CUMSUM", "BATCH_MATMUL", "UNIDIRECTIONAL_SEQUENCE_LSTM", "SOFTMAX", "QUANTIZE",
           "DEQUANTIZE", "RESHAPE"]
    assert resolver_methods(ops) == [
        "AddFullyConnected", "AddConv2D", "AddMaxPool2D", "AddDepthwiseConv2D", "AddPadV2",
        "AddCumSum", "AddBatchMatMul", "AddUnidirectionalSequenceLSTM", "AddSoftmax",
        "AddQuantize", "AddDequantize", "AddReshape"]


def test_unknown_builtin_op_is_a_build_error_naming_it() -> None:
    """An op TFLM cannot register stops the build and says which op."""
    with pytest.raises(BuildError, match="op RANDOM_UNIFORM"):
        resolver_methods(["FULLY_CONNECTED", "RANDOM_UNIFORM"])


def test_unknown_custom_op_is_a_build_error_naming_it() -> None:
    """Custom ops are named by their custom code."""
    with pytest.raises(BuildError, match='custom op "MyOp"'):
        resolver_methods(["CUSTOM:MyOp"])


def test_header_sizes_resolver_to_the_op_count() -> None:
    """N in MicroMutableOpResolver<N> is the number of ops; each op is registered once."""
    text = render_op_resolver(symbol="g_m", ops=["CONV_2D", "SOFTMAX"], comment="c")
    assert "#define G_M_OP_COUNT 2u" in text
    assert "tflite::MicroMutableOpResolver<G_M_OP_COUNT> g_m_op_resolver;" in text
    assert text.count("resolver.Add") == 2
    assert "resolver.AddConv2D()" in text and "resolver.AddSoftmax()" in text


def test_vela_s_ethos_u_operator_registers_with_add_ethos_u() -> None:
    """A Vela model's NPU parts are the custom op "ethos-u", which TFLM registers with AddEthosU."""
    assert resolver_methods(["CUSTOM:ethos-u", "SOFTMAX"]) == ["AddEthosU", "AddSoftmax"]
