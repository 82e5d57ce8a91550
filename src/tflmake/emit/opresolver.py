"""The op resolver header: register exactly a model's ops on a `MicroMutableOpResolver<N>`."""

from __future__ import annotations

from collections.abc import Sequence

from tflmake.emit.carray import include_guard
from tflmake.errors import BuildError

# Builtin operator (schema name) -> MicroMutableOpResolver method, as declared in
# tensorflow/lite/micro/micro_mutable_op_resolver.h. Spelled out rather than derived:
# TFLM's names do not follow one rule (CONV_2D -> AddConv2D, PADV2 -> AddPadV2,
# CUMSUM -> AddCumSum, BATCH_MATMUL -> AddBatchMatMul).
RESOLVER_METHODS: dict[str, str] = {
    "ABS": "AddAbs",
    "ADD": "AddAdd",
    "ADD_N": "AddAddN",
    "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin",
    "ASSIGN_VARIABLE": "AddAssignVariable",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_ARGS": "AddBroadcastArgs",
    "BROADCAST_TO": "AddBroadcastTo",
    "CALL_ONCE": "AddCallOnce",
    "CAST": "AddCast",
    "CEIL": "AddCeil",
    "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D",
    "COS": "AddCos",
    "CUMSUM": "AddCumSum",
    "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv",
    "ELU": "AddElu",
    "EQUAL": "AddEqual",
    "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill",
    "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected",
    "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater",
    "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish",
    "IF": "AddIf",
    "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D",
    "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog",
    "LOG_SOFTMAX": "AddLogSoftmax",
    "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr",
    "LOGISTIC": "AddLogistic",
    "MAX_POOL_2D": "AddMaxPool2D",
    "MAXIMUM": "AddMaximum",
    "MEAN": "AddMean",
    "MINIMUM": "AddMinimum",
    "MIRROR_PAD": "AddMirrorPad",
    "MUL": "AddMul",
    "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack",
    "PAD": "AddPad",
    "PADV2": "AddPadV2",
    "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize",
    "READ_VARIABLE": "AddReadVariable",
    "REDUCE_MAX": "AddReduceMax",
    "RELU": "AddRelu",
    "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "ROUND": "AddRound",
    "RSQRT": "AddRsqrt",
    "SELECT_V2": "AddSelectV2",
    "SHAPE": "AddShape",
    "SIN": "AddSin",
    "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit",
    "SPLIT_V": "AddSplitV",
    "SQRT": "AddSqrt",
    "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub",
    "SUM": "AddSum",
    "SVDF": "AddSvdf",
    "TANH": "AddTanh",
    "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "UNPACK": "AddUnpack",
    "VAR_HANDLE": "AddVarHandle",
    "WHILE": "AddWhile",
    "ZEROS_LIKE": "AddZerosLike",
}

# Custom ops TFLM ships a registration for (custom code -> method).
CUSTOM_RESOLVER_METHODS: dict[str, str] = {
    "TFLite_Detection_PostProcess": "AddDetectionPostprocess",
    # Vela's operator for the parts of a model the Ethos-U NPU runs (needs TFLM's ethos_u kernel).
    "ethos-u": "AddEthosU",
}


def resolver_methods(ops: Sequence[str]) -> list[str]:
    """The `Add...` method for each op (`CUSTOM:<code>` for custom ops); BuildError names any
    op TFLite Micro's MicroMutableOpResolver cannot register."""
    methods: list[str] = []
    for op in ops:
        if op.startswith("CUSTOM:"):
            method = CUSTOM_RESOLVER_METHODS.get(op.removeprefix("CUSTOM:"))
            shown = f'custom op "{op.removeprefix("CUSTOM:")}"'
        else:
            method = RESOLVER_METHODS.get(op)
            shown = f"op {op}"
        if method is None:
            raise BuildError(f"the model uses {shown}, which TFLite Micro's "
                             "MicroMutableOpResolver has no Add method for; "
                             "remove it from the model or register it by hand")
        methods.append(method)
    return methods


def render_op_resolver(*, symbol: str, ops: Sequence[str], comment: str) -> str:
    """The C++ header: the op count, a resolver type alias and an inline register function."""
    guard = include_guard(f"{symbol}_op_resolver.h")
    count = f"{symbol.upper()}_OP_COUNT"
    calls = "".join(f"  if (resolver.{method}() != kTfLiteOk) return kTfLiteError;  /* {op} */\n"
                    for op, method in zip(ops, resolver_methods(ops), strict=True))
    return f"""\
/* {comment}
 * Generated by tflmake; do not edit. C++ only: include after the TFLite Micro headers
 * are on the include path. */
#ifndef {guard}
#define {guard}

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

/* The number of distinct ops the model uses: {", ".join(ops) or "none"}. */
#define {count} {len(ops)}u

/* A resolver with exactly enough slots for this model. */
typedef tflite::MicroMutableOpResolver<{count}> {symbol}_op_resolver;

/* Registers every op the model uses on `resolver`; kTfLiteError if one fails. */
inline TfLiteStatus {symbol}_register_ops({symbol}_op_resolver& resolver) {{
{calls}  return kTfLiteOk;
}}

#endif /* {guard} */
"""
