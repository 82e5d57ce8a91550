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


def test_float_operator_outputs_skip_ops_computing_integer_shapes() -> None:
    """SHAPE's int32 output is never quantized, so it is no candidate to keep in float."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from tflmake.tflite.opcodes import float_operator_outputs

    def tensor(name: bytes, kind: int) -> schema.TensorT:
        made = schema.TensorT()
        made.name, made.type, made.shape = name, kind, [1, 8]
        return made

    codes = []
    for builtin in (schema.BuiltinOperator.SHAPE, schema.BuiltinOperator.FULLY_CONNECTED):
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = builtin
        codes.append(code)
    subgraph = schema.SubGraphT()
    subgraph.tensors = [tensor(b"in", schema.TensorType.FLOAT32), tensor(b"shape", schema.TensorType.INT32),
                        tensor(b"dense/MatMul", schema.TensorType.FLOAT32)]
    subgraph.inputs, subgraph.outputs, subgraph.operators = [0], [2], []
    for index, (inputs, outputs) in enumerate((([0], [1]), ([0], [2]))):
        operator = schema.OperatorT()
        operator.opcodeIndex, operator.inputs, operator.outputs = index, inputs, outputs
        subgraph.operators.append(operator)
    root = schema.ModelT()
    root.version, root.operatorCodes, root.subgraphs = 3, codes, [subgraph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(root.Pack(builder), file_identifier=b"TFL3")
    assert float_operator_outputs(bytes(builder.Output())) == [("FULLY_CONNECTED", "dense/MatMul")]
