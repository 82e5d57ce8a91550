"""Where a Vela-compiled model's ops run, from its operator codes."""

from __future__ import annotations

from tflmake.tflite.opcodes import ETHOS_U_OPERATOR, npu_placement


def test_a_model_vela_placed_whole_has_every_op_on_the_npu() -> None:
    original = ["CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX"]
    assert npu_placement(original, [ETHOS_U_OPERATOR]) == {
        "ops": 6, "npu_ops": 6, "cpu_ops": [], "ethos_u_operators": 1}


def test_ops_vela_left_in_the_model_run_on_the_cpu() -> None:
    """Every operator but Vela's own is a CPU fallback, split NPU parts counted."""
    placement = npu_placement(["CONV_2D", "TANH", "FULLY_CONNECTED"],
                              [ETHOS_U_OPERATOR, "TANH", ETHOS_U_OPERATOR])
    assert placement == {"ops": 3, "npu_ops": 2, "cpu_ops": ["TANH"], "ethos_u_operators": 2}
