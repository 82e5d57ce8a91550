"""What firmware needs to know about a `.tflite`: its ops and its input/output tensors.

Read with tflite-micro's generated flatbuffer schema (it imports neither
TensorFlow nor a hand-written parser); the import happens inside the function,
so loading tasks never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tflmake.errors import BuildError

# Schema TensorType name -> (C element type, numpy dtype name). Types firmware cannot
# declare portably (float16, strings, resources, ...) are left out on purpose.
ELEMENT_TYPES: dict[str, tuple[str, str]] = {
    "FLOAT32": ("float", "float32"),
    "INT8": ("int8_t", "int8"),
    "UINT8": ("uint8_t", "uint8"),
    "INT16": ("int16_t", "int16"),
    "UINT16": ("uint16_t", "uint16"),
    "INT32": ("int32_t", "int32"),
    "UINT32": ("uint32_t", "uint32"),
    "INT64": ("int64_t", "int64"),
    "BOOL": ("uint8_t", "bool"),
}


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output as firmware sees it."""

    name: str
    shape: tuple[int, ...]
    type: str
    scale: float | None = None
    zero_point: int | None = None

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    @property
    def c_type(self) -> str:
        return ELEMENT_TYPES[self.type][0]

    @property
    def dtype(self) -> str:
        return ELEMENT_TYPES[self.type][1]

    @property
    def elements(self) -> int:
        count = 1
        for dimension in self.shape:
            count *= dimension
        return count


@dataclass(frozen=True)
class ModelInfo:
    """Ops in first-use order (builtin names, or `CUSTOM:<code>`) and the I/O tensors."""

    ops: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


def read_model_info(data: bytes) -> ModelInfo:
    """Parse the flatbuffer; raise BuildError for I/O tensors firmware cannot describe."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() == 0:
        raise BuildError("the .tflite has no subgraph")
    op_names = _enum_names(schema.BuiltinOperator)
    type_names = _enum_names(schema.TensorType)
    ops: dict[str, None] = {}
    for subgraph_index in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(subgraph_index)
        for op_index in range(subgraph.OperatorsLength()):
            code = model.OperatorCodes(subgraph.Operators(op_index).OpcodeIndex())
            ops.setdefault(_op_name(code, op_names), None)
    main = model.Subgraphs(0)
    inputs = tuple(_tensor_info(main.Tensors(main.Inputs(i)), type_names, f"input {i}")
                   for i in range(main.InputsLength()))
    outputs = tuple(_tensor_info(main.Tensors(main.Outputs(i)), type_names, f"output {i}")
                    for i in range(main.OutputsLength()))
    return ModelInfo(tuple(ops), inputs, outputs)


def _enum_names(enum: type) -> dict[int, str]:
    return {value: name for name, value in vars(enum).items() if not name.startswith("_")}


def _op_name(code: Any, names: dict[int, str]) -> str:
    # Codes above 127 live only in BuiltinCode; old models only fill the deprecated byte.
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = names.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        return f"CUSTOM:{(code.CustomCode() or b'').decode('utf-8', 'replace')}"
    return name


def _tensor_info(tensor: Any, type_names: dict[int, str], role: str) -> TensorInfo:
    name = (tensor.Name() or b"").decode("utf-8", "replace")
    type_name = type_names.get(tensor.Type(), str(tensor.Type()))
    if type_name not in ELEMENT_TYPES:
        raise BuildError(f'{role} "{name}" has element type {type_name}, which the firmware '
                         f"bundle cannot declare (supported: {', '.join(ELEMENT_TYPES)})")
    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
    quantization = tensor.Quantization()
    if quantization is None or quantization.ScaleLength() == 0:
        return TensorInfo(name, shape, type_name)
    if quantization.ScaleLength() != 1:
        raise BuildError(f'{role} "{name}" is quantized per channel '
                         f"({quantization.ScaleLength()} scales); firmware I/O needs one scale")
    return TensorInfo(name, shape, type_name, float(quantization.Scale(0)),
                      int(quantization.ZeroPoint(0)))
