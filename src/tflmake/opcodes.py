"""The operators a `.tflite` runs, read from its flatbuffer: shows what the converter fused."""

from __future__ import annotations


def operator_names(model: bytes) -> list[str]:
    """Every operator of every subgraph in execution order, by builtin name (custom ops by code).

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
            codes.append((operator_code.CustomCode() or b"CUSTOM").decode("utf-8", "replace"))
        else:
            codes.append(builtin_names.get(code, f"BUILTIN_{code}"))
    names: list[str] = []
    for subgraph_index in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(subgraph_index)
        names.extend(codes[subgraph.Operators(i).OpcodeIndex()]
                     for i in range(subgraph.OperatorsLength()))
    return names
