"""Drop the debug name strings TFLite Micro never reads from a `.tflite` (`strip_names`).

The converter copies every traced op's scope into its tensor names (Keras 3
writes `model_1/dense_5_1/...`), which in firmware is flash nobody reads. This
is the safe subset of TFLite's `flatbuffer_utils.strip_strings`: it clears the
names of intermediate tensors, the subgraph names and the model description,
but keeps the SignatureDefs (LiteRT's signature runner, the evaluation's input
order and the LiteRT Quantizer's calibration use them; `strip_strings` drops
them) and the names of each subgraph's inputs and outputs (the firmware header
and the report name them). Metadata and custom op codes stay, as there.

Written again with LiteRT's schema module (object API). Python's flatbuffers
builder ignores the schema's `force_align: 16` on buffer data, which the C++
converter honours and kernels reading int32 biases may rely on, so buffers are
packed 16-byte aligned here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tflmake.errors import BuildError

# The schema's `Buffer.data (force_align: 16)`.
BUFFER_ALIGNMENT = 16
# Packages whose versions decide the rewritten bytes (the schema module and the builder).
REWRITE_TOOLS = ("ai-edge-litert", "flatbuffers")


def strip_names(model: bytes) -> bytes:
    """The model without intermediate tensor names, subgraph names and description; same bytes every time."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    root = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model, 0))
    if any(buffer.offset > 1 for buffer in root.buffers or ()):
        # Data stored after the flatbuffer (models over 2 GB) would lose its offsets.
        raise BuildError("strip_names: the .tflite keeps buffer data outside the flatbuffer, which "
                         "cannot be written again; set strip_names = false")
    root.description = None
    for subgraph in root.subgraphs or ():
        # Index lists are numpy arrays: `array([0]) or ()` would be (), so test for None.
        interface = {int(i) for indices in (subgraph.inputs, subgraph.outputs) if indices is not None
                     for i in indices}
        subgraph.name = None
        for index, tensor in enumerate(subgraph.tensors or ()):
            if index not in interface:
                tensor.name = None
    root.buffers = [_aligned(buffer) for buffer in root.buffers or ()]
    builder = flatbuffers.Builder(len(model))
    builder.Finish(root.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@cache
def _aligned_buffer_type() -> Any:
    """BufferT whose data vector starts on a BUFFER_ALIGNMENT boundary when packed."""
    from ai_edge_litert import schema_py_generated as schema

    class AlignedBuffer(schema.BufferT):  # type: ignore[misc]
        def Pack(self, builder: Any) -> int:  # noqa: N802 (the schema module's method name)
            data = None
            if self.data is not None:
                raw = bytes(bytearray(self.data))
                # flatbuffers' own CreateByteVector, with the schema's alignment instead of 1.
                builder.StartVector(1, len(raw), BUFFER_ALIGNMENT)
                builder.head -= len(raw)
                builder.Bytes[builder.head:builder.head + len(raw)] = raw
                data = builder.EndVector()
            schema.BufferStart(builder)
            if data is not None:
                schema.BufferAddData(builder, data)
            schema.BufferAddOffset(builder, self.offset)
            schema.BufferAddSize(builder, self.size)
            return int(schema.BufferEnd(builder))

    return AlignedBuffer


def _aligned(buffer: Any) -> Any:
    copy = _aligned_buffer_type()()
    copy.data, copy.offset, copy.size = buffer.data, buffer.offset, buffer.size
    return copy
