"""What firmware needs to know about a `.tflite`: its ops and its input/output tensors.

Read with the flatbuffer schema module LiteRT ships (it imports neither
TensorFlow nor a hand-written parser); the op list comes from `opcodes`, the one
reader of operator codes. The import happens inside the function, so loading
tasks never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tflmake.errors import BuildError
from tflmake.tflite.opcodes import operator_names

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
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(data, 0)
    if model.SubgraphsLength() == 0:
        raise BuildError("the .tflite has no subgraph")
    type_names = {value: name for name, value in vars(schema.TensorType).items() if not name.startswith("_")}
    ops = dict.fromkeys(operator_names(data))  # first-use order, each once
    main = model.Subgraphs(0)
    inputs = tuple(_tensor_info(main.Tensors(main.Inputs(i)), type_names, f"input {i}")
                   for i in range(main.InputsLength()))
    outputs = tuple(_tensor_info(main.Tensors(main.Outputs(i)), type_names, f"output {i}")
                    for i in range(main.OutputsLength()))
    return ModelInfo(tuple(ops), inputs, outputs)


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
