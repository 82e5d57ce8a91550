"""The C front end files of a firmware bundle: raw sensor data to the model's input tensor."""

from __future__ import annotations

import numpy as np

from tflmake import atomic
from tflmake.errors import BuildError
from tflmake.frontend.table import FRONT_ENDS
from tflmake.kinds import DATASET_KINDS
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec
from tflmake.tflite.modelinfo import ModelInfo, TensorInfo
from tflmake.tflite.quantize import Quantization


def has_front_end(spec: ModelSpec) -> bool:
    """The data set's raw data reaches the model through a generated C front end."""
    return spec.dataset is not None and DATASET_KINDS[spec.dataset["type"]].front_end


def front_end_prefix(spec: ModelSpec, variant: str) -> str:
    """The C prefix of a variant's front end: `<model>_<variant>`, like its files' names."""
    return f"{spec.name}_{variant}"


def write_front_end(spec: ModelSpec, layout: Layout, variant: str, info: ModelInfo) -> None:
    """`firmware/<model>_<variant>_frontend.h/.c`: raw data to input 0, quantized as the model takes it."""
    assert spec.dataset is not None
    if len(info.inputs) != 1:
        raise BuildError(f"dataset.type: a {spec.dataset['type']} data set feeds one input, but "
                         f"{layout.tflite(spec.name, variant)} has {len(info.inputs)}")
    front_end = FRONT_ENDS[spec.dataset["type"]]
    header, source = front_end.render(front_end_prefix(spec, variant), front_end.contract(spec.dataset),
                                      tensor_quantization(info.inputs[0]))
    header_path, source_path = layout.frontend_sources(spec.name, variant)
    atomic.write_text(header_path, header)
    atomic.write_text(source_path, source)


def tensor_quantization(tensor: TensorInfo) -> Quantization:
    """How real values map to the tensor (scale 0: it takes real values)."""
    return Quantization(np.dtype(tensor.dtype), tensor.scale or 0.0, tensor.zero_point or 0)
