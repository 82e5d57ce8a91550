"""Selective precision with the converter: int8 everywhere except the ops keep_float names.

The converter has no public denylist; its QuantizationDebugger does
(`denylisted_nodes`, op output tensor names) and returns the plain quantized
model without debug instrumentation. Node names come from a float conversion
of the same model, so the patterns are matched against real tensor names.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tflmake.ml.tensorflow import import_tensorflow
from tflmake.spec.load import Variant
from tflmake.tflite.opcodes import matching_names, output_tensor_names


def convert_keeping_float(converter: Any, variant: Variant,
                          samples: Callable[[], Iterator[list[np.ndarray]]]) -> bytes:
    """The int8 model with every op whose output keep_float matches left in float."""
    nodes = matching_names(variant.keep_float, output_tensor_names(float_model(converter)))
    return quantize_keeping(converter, nodes, samples)


def float_model(converter: Any) -> bytes:
    """The float32 conversion of what a configured int8 converter converts (its op names are the debugger's)."""
    tf = import_tensorflow()
    float_converter = copy.copy(converter)
    float_converter.optimizations = []
    float_converter.representative_dataset = None
    float_converter.target_spec = tf.lite.TargetSpec()
    float_converter.inference_input_type = float_converter.inference_output_type = tf.float32
    return bytes(float_converter.convert())


def quantize_keeping(converter: Any, nodes: list[str],
                     samples: Callable[[], Iterator[list[np.ndarray]]]) -> bytes:
    """The int8 model of a configured converter with the ops whose output tensors `nodes` names in float."""
    tf = import_tensorflow()
    # The debugger quantizes the body; I/O stays float32 (the spec allows only io_type float32).
    converter.inference_input_type = converter.inference_output_type = tf.float32
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=samples,
        debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=nodes))
    return bytes(debugger.get_nondebug_quantized_model())
