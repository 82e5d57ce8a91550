"""The operators a `.tflite` runs, read from its flatbuffer: shows what the converter fused."""

from __future__ import annotations

from typing import Any

# The custom operator Vela puts in place of each part of a model the Ethos-U NPU runs.
ETHOS_U_OPERATOR = "CUSTOM:ethos-u"


def operator_names(model: bytes) -> list[str]:
    """Every operator of every subgraph in execution order: builtin names, `CUSTOM:<code>` for custom ops.

    Reads the flatbuffer with the schema module LiteRT ships, which needs only
    `flatbuffers`, not TensorFlow.
    """
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    builtin_names = {code: name for name, code in vars(schema.BuiltinOperator).items()
                     if not name.startswith("_")}
    codes: list[str] = []
    for index in range(root.OperatorCodesLength()):
        operator_code = root.OperatorCodes(index)
        # Codes above 127 live in BuiltinCode; older files only fill the deprecated byte.
        code = max(operator_code.BuiltinCode(), operator_code.DeprecatedBuiltinCode())
        if code == schema.BuiltinOperator.CUSTOM:
            codes.append(f"CUSTOM:{(operator_code.CustomCode() or b'').decode('utf-8', 'replace')}")
        else:
            codes.append(builtin_names.get(code, f"BUILTIN_{code}"))
    names: list[str] = []
    for subgraph_index in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(subgraph_index)
        names.extend(codes[subgraph.Operators(i).OpcodeIndex()]
                     for i in range(subgraph.OperatorsLength()))
    return names


def output_tensor_names(model: bytes) -> list[str]:
    """The name of every operator's output tensors, in execution order (what keep_float matches)."""
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    names: list[str] = []
    for subgraph_index in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(subgraph_index)
        for op_index in range(subgraph.OperatorsLength()):
            operator = subgraph.Operators(op_index)
            names.extend((subgraph.Tensors(operator.Outputs(i)).Name() or b"").decode("utf-8", "replace")
                         for i in range(operator.OutputsLength()))
    return names


def float_operator_outputs(model: bytes) -> list[tuple[str, str]]:
    """(operator, first output tensor name) of every op computing a float32 tensor, in execution order.

    What a float model's ops could stay in float in an int8 one: shape arithmetic (int32) is never quantized.
    """
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    found: list[tuple[str, str]] = []
    operators = iter(operator_names(model))
    for subgraph_index in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(subgraph_index)
        for op_index in range(subgraph.OperatorsLength()):
            operator, op = subgraph.Operators(op_index), next(operators)
            if operator.OutputsLength() == 0:
                continue
            tensor = subgraph.Tensors(operator.Outputs(0))
            if tensor.Type() == schema.TensorType.FLOAT32:
                found.append((op, (tensor.Name() or b"").decode("utf-8", "replace")))
    return found


def matching_names(patterns: tuple[str, ...], names: list[str]) -> list[str]:
    """The names any pattern finds (re.search), in order; BuildError naming a pattern that finds none."""
    import re

    from tflmake.errors import BuildError

    for pattern in patterns:
        if not any(re.search(pattern, name) for name in names):
            raise BuildError(f'keep_float: "{pattern}" matches no op output tensor; the names are: '
                             + ", ".join(names))
    return [name for name in names if any(re.search(pattern, name) for pattern in patterns)]


def npu_placement(original: list[str], compiled: list[str]) -> dict[str, Any]:
    """Where a Vela-compiled model's ops run, from its operators and the original model's.

    Every operator of the compiled model but ETHOS_U_OPERATOR runs on the CPU
    (Vela leaves ops it cannot place on the NPU unchanged); the original model's
    other ops were folded into the NPU operators.
    """
    cpu = [name for name in compiled if name != ETHOS_U_OPERATOR]
    return {"ops": len(original), "npu_ops": len(original) - len(cpu), "cpu_ops": cpu,
            "ethos_u_operators": compiled.count(ETHOS_U_OPERATOR)}
