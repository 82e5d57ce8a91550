"""modelfacts on flatbuffers written with LiteRT's schema module: batch and Dense weight scales."""

from __future__ import annotations

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from tflmake.tflite.modelfacts import dense_granularity, dense_weight_scale_counts, input_batch, planned_tensor_bytes


def tensor(shape: list[int], signature: list[int] | None = None, scales: int = 0) -> schema.TensorT:
    made = schema.TensorT()
    made.shape, made.shapeSignature = shape, signature
    if scales:
        made.quantization = schema.QuantizationParametersT()
        made.quantization.scale = [0.5] * scales
        made.quantization.zeroPoint = [0] * scales
    return made


def model(tensors: list[schema.TensorT], dense_weights: tuple[int, ...] = ()) -> bytes:
    """A one-subgraph model: input tensor 0, one FULLY_CONNECTED per index in `dense_weights`."""
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.FULLY_CONNECTED
    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = tensors, [0], [0]
    subgraph.operators = []
    for weights in dense_weights:
        operator = schema.OperatorT()
        operator.opcodeIndex, operator.inputs, operator.outputs = 0, [0, weights], [0]
        subgraph.operators.append(operator)
    root = schema.ModelT()
    root.version, root.operatorCodes, root.subgraphs = 3, [code], [subgraph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(root.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_batch_is_none_when_the_shape_signature_says_minus_one() -> None:
    assert input_batch(model([tensor([1, 8], [-1, 8])])) is None


def test_batch_is_the_fixed_first_dimension() -> None:
    """Without a shape signature (a fixed-shape model) the shape itself tells."""
    assert input_batch(model([tensor([1, 8], [1, 8])])) == 1
    assert input_batch(model([tensor([1, 8])])) == 1


def test_dense_granularity_counts_the_scales_of_each_weight_tensor() -> None:
    per_tensor = model([tensor([1, 8]), tensor([4, 8], scales=1), tensor([2, 4], scales=1)], (1, 2))
    per_channel = model([tensor([1, 8]), tensor([4, 8], scales=4)], (1,))
    float_weights = model([tensor([1, 8]), tensor([4, 8])], (1,))
    assert dense_weight_scale_counts(per_tensor) == [1, 1]
    assert (dense_granularity(per_tensor), dense_granularity(per_channel)) == ("per-tensor", "per-channel")
    assert dense_weight_scale_counts(float_weights) == [0] and dense_granularity(float_weights) is None


def test_planned_tensor_bytes_counts_only_tensors_without_data_each_aligned() -> None:
    """Like a Vela model: scratch, input and output in the arena; the command stream is constant."""
    stream, scratch, io_in, io_out = tensor([2752]), tensor([1152]), tensor([1, 8, 8, 1]), tensor([1, 10])
    for made, kind in ((stream, schema.TensorType.UINT8), (scratch, schema.TensorType.UINT8),
                       (io_in, schema.TensorType.INT8), (io_out, schema.TensorType.INT8)):
        made.type = kind
    stream.buffer, scratch.buffer, io_in.buffer, io_out.buffer = 1, 0, 0, 0
    data = model([io_in, stream, scratch, io_out])
    root = schema.ModelT.InitFromPackedBuf(data, 0)
    empty, constant = schema.BufferT(), schema.BufferT()
    constant.data = [7] * 2752
    root.buffers = [empty, constant]
    builder = flatbuffers.Builder(1024)
    builder.Finish(root.Pack(builder), file_identifier=b"TFL3")
    assert planned_tensor_bytes(bytes(builder.Output()), 16) == 1152 + 64 + 16
