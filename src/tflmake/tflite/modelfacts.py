"""What the converter controls left in a `.tflite`, read from its bytes: batch, Dense weight scales, tensor bytes.

The report states these as measured, not as the spec asked, so a variant whose
bytes did not take an option (e.g. a frozen graph, whose batch the TF1
converter fixes) is described as it is. Read with LiteRT's schema module, like `opcodes`.
"""

from __future__ import annotations

from typing import Any


def input_batch(model: bytes) -> int | None:
    """The batch dimension of the first input: an int when fixed, None when dynamic (-1)."""
    from ai_edge_litert import schema_py_generated as schema

    main = schema.Model.GetRootAs(model, 0).Subgraphs(0)
    if main is None or main.InputsLength() == 0:
        return None
    tensor = main.Tensors(main.Inputs(0))
    signature = tensor.ShapeSignatureAsNumpy() if tensor.ShapeSignatureLength() else None
    shape = signature if signature is not None else \
        (tensor.ShapeAsNumpy() if tensor.ShapeLength() else None)
    if shape is None or len(shape) == 0 or int(shape[0]) < 0:
        return None
    return int(shape[0])


def dense_weight_scale_counts(model: bytes) -> list[int]:
    """For each FULLY_CONNECTED op, how many scales its weight tensor has (0 when float)."""
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    counts = []
    for subgraph_index in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(subgraph_index)
        for op_index in range(subgraph.OperatorsLength()):
            operator = subgraph.Operators(op_index)
            if _builtin_code(root.OperatorCodes(operator.OpcodeIndex())) != \
                    schema.BuiltinOperator.FULLY_CONNECTED:
                continue
            quantization = subgraph.Tensors(operator.Inputs(1)).Quantization()
            counts.append(quantization.ScaleLength() if quantization is not None else 0)
    return counts


def dense_granularity(model: bytes) -> str | None:
    """"per-tensor", "per-channel" or "mixed" for quantized Dense weights; None when there are none."""
    quantized = [count for count in dense_weight_scale_counts(model) if count > 0]
    if not quantized:
        return None
    if all(count == 1 for count in quantized):
        return "per-tensor"
    return "per-channel" if all(count > 1 for count in quantized) else "mixed"


def _builtin_code(operator_code: Any) -> int:
    # Codes above 127 live in BuiltinCode; older files only fill the deprecated byte.
    return int(max(operator_code.BuiltinCode(), operator_code.DeprecatedBuiltinCode()))


# Bytes per element of the tensor types a planned (non-constant) tensor can have.
_ELEMENT_BYTES = {"FLOAT32": 4, "FLOAT16": 2, "FLOAT64": 8, "INT8": 1, "UINT8": 1, "INT16": 2, "UINT16": 2,
                  "INT32": 4, "UINT32": 4, "INT64": 8, "UINT64": 8, "BOOL": 1}


def planned_tensor_bytes(model: bytes, alignment: int) -> int:
    """The bytes of every tensor without constant data (inputs, outputs, activations, NPU scratch),
    each rounded up to `alignment`: what an arena holds if no two of them share memory."""
    from ai_edge_litert import schema_py_generated as schema

    from tflmake.errors import BuildError

    root = schema.Model.GetRootAs(model, 0)
    type_names = {value: name for name, value in vars(schema.TensorType).items() if not name.startswith("_")}
    total = 0
    for subgraph_index in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(subgraph_index)
        for tensor_index in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(tensor_index)
            buffer = root.Buffers(tensor.Buffer()) if tensor.Buffer() < root.BuffersLength() else None
            if buffer is not None and (buffer.DataLength() > 0 or buffer.Offset() > 0):
                continue
            type_name = type_names.get(tensor.Type(), str(tensor.Type()))
            if type_name not in _ELEMENT_BYTES:
                raise BuildError(f"tensor {tensor_index} has type {type_name}, whose size is not known")
            elements = 1
            for dimension in (tensor.ShapeAsNumpy() if tensor.ShapeLength() else ()):
                elements *= max(int(dimension), 1)
            total += -(-elements * _ELEMENT_BYTES[type_name] // alignment) * alignment
    return total
