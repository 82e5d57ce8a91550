"""Build `<variant>.tflite`: convert the SavedModel (or frozen graph) with the variant's quantization."""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np

from tflmake import atomic
from tflmake.console import progress
from tflmake.errors import BuildError
from tflmake.kinds import BACKENDS
from tflmake.ml.tensorflow import import_tensorflow
from tflmake.npzio import load_npz
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec, Variant
from tflmake.spec.rules import pruning_options
from tflmake.tflite.names import strip_names


def build(spec: ModelSpec, layout: Layout, variant_name: str) -> None:
    variant = spec.variant(variant_name)
    samples = load_npz(layout.representative(spec.name))["x"] \
        if variant.needs_representative else None
    search_trace = None
    if BACKENDS[variant.backend].quantizes_float_tflite:
        from tflmake.ml.litert_quantizer import quantize

        model = quantize(spec, layout, variant, samples)
    elif variant.keep_float_search:
        from tflmake.builders.float_search import search_keep_float

        assert samples is not None
        model, search_trace = search_keep_float(spec, layout, variant, samples)
    else:
        with model_directory(spec, layout, variant) as directory:
            model = convert(make_converter(spec, directory, variant.batch), variant, samples)
    if variant.strip_names:
        model = strip_names(model)
    atomic.write_bytes(layout.tflite(spec.name, variant.name), model)
    if search_trace is not None:
        atomic.write_text(layout.float_search(spec.name, variant.name), json.dumps(search_trace, indent=2) + "\n")


def convert(converter: Any, variant: Variant, samples: np.ndarray | None) -> bytes:
    """Run the converter with the variant's flags (and its float denylist, if any)."""
    configure(converter, variant, samples)
    try:
        if variant.keep_float:
            from tflmake.ml.selective import convert_keeping_float

            assert samples is not None
            return convert_keeping_float(converter, variant, lambda: calibration(samples))
        return bytes(converter.convert())
    except BuildError:
        raise
    except Exception as error:  # the converter raises many types; all mean "cannot convert"
        raise BuildError(f'variant "{variant.name}": conversion with quantize = '
                         f'"{variant.quantize}" failed: {error_summary(error)}') from None


@contextmanager
def model_directory(spec: ModelSpec, layout: Layout, variant: Variant) -> Iterator[str]:
    """The SavedModel to convert: the trained, the pruned, or a QAT fine-tuned one (temporary)."""
    if variant.prune:
        options = pruning_options(spec, variant)
        directory, weights = layout.pruned_dir(spec.name, options), layout.pruned_weights(spec.name, options)
    else:
        directory, weights = layout.saved_model_dir(spec.name), layout.keras_weights(spec.name)
    if not variant.qat:
        yield directory
        return
    from tflmake.builders.dataset import read_split
    from tflmake.ml import qat
    from tflmake.ml.keras_model import load_trained_model
    from tflmake.ml.private_random import seeded_session

    with tempfile.TemporaryDirectory(prefix="tflmake_qat_") as work:
        with seeded_session(spec.train["seed"] if spec.train else 0):
            model = load_trained_model(spec, weights)
            qat.fine_tune(model, spec, read_split(layout, spec.name), variant.qat["epochs"])
            model.export(work, format="tf_saved_model", verbose=False)
        yield work


def make_converter(spec: ModelSpec, saved_model: str, batch: int | str = "dynamic") -> Any:
    tf = import_tensorflow()
    source = spec.source
    if spec.source_kind.saved_model:
        # Converters are made once per SavedModel and process; saved_model.pb's mtime and size tell a rewritten one.
        graph = os.stat(os.path.join(saved_model, "saved_model.pb"))
        graph_state = (graph.st_mtime_ns, graph.st_size)
        if batch != "dynamic":
            from tflmake.ml.fixed_batch import fixed_batch_converter

            return fixed_batch_converter(saved_model, int(batch), graph_state)
        # A copy: each variant sets its own flags on it.
        return copy.deepcopy(_saved_model_converter(saved_model, graph_state))
    shapes = source.get("input_shapes") or None
    try:
        return tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
            spec.resolve(source["path"]), source["input_arrays"], source["output_arrays"],
            input_shapes=shapes)
    except Exception as error:  # a bad .pb or array name; TF raises several types
        raise BuildError(f"model.source: cannot read the frozen graph: {error_summary(error)}") from None


@lru_cache(maxsize=8)
def _saved_model_converter(saved_model: str, graph_state: tuple[int, int]) -> Any:
    """`from_saved_model` once per SavedModel per process, not once per variant.

    It loads the whole SavedModel in Python (~25 ms for the digits MLP) only to
    read its signatures; copies of the result convert to the same bytes as fresh
    converters (tested). `graph_state` (saved_model.pb's mtime and size) makes a
    SavedModel rewritten in the same process, by a retrain, load again.
    """
    return import_tensorflow().lite.TFLiteConverter.from_saved_model(saved_model)


def configure(converter: Any, variant: Variant, samples: np.ndarray | None) -> None:
    """Set the converter flags for one `quantize` mode (the TFLite post-training recipes)."""
    tf = import_tensorflow()
    # Sparse encoding of pruned weights; combinable with every quantize mode.
    sparse = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY] \
        if variant.prune and variant.prune["encoding"] == "sparse" else []
    if not variant.per_channel_dense:
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    converter.optimizations = [tf.lite.Optimize.DEFAULT, *sparse]
    if variant.mode.calibrated:
        assert samples is not None
        converter.representative_dataset = lambda: calibration(samples)
    CONVERTER_FLAGS[variant.quantize](converter, tf, variant)


def _float32(converter: Any, tf: Any, variant: Variant) -> None:
    converter.optimizations = [o for o in converter.optimizations if o != tf.lite.Optimize.DEFAULT]


def _float16(converter: Any, tf: Any, variant: Variant) -> None:
    converter.target_spec.supported_types = [tf.float16]


def _int8(converter: Any, tf: Any, variant: Variant) -> None:
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    io_type = {"float32": tf.float32, "int8": tf.int8, "uint8": tf.uint8}[variant.io_type]
    converter.inference_input_type = io_type
    converter.inference_output_type = io_type


def _int16x8(converter: Any, tf: Any, variant: Variant) -> None:
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]


def _weights_only(converter: Any, tf: Any, variant: Variant) -> None:
    """Optimize.DEFAULT without calibration data quantizes the weights alone (dynamic range)."""


# Converter flags per quantize mode the converter backend makes (kinds.backend_modes("converter")).
CONVERTER_FLAGS: dict[str, Callable[[Any, Any, Variant], None]] = {
    "none": _float32, "dynamic": _weights_only, "float16": _float16, "int8": _int8, "int16x8": _int16x8}


def calibration(samples: np.ndarray) -> Iterator[list[np.ndarray]]:
    """One sample at a time, as the converter asks; a progress line every quarter."""
    step = max(1, len(samples) // 4)
    for index in range(len(samples)):
        if index % step == 0:
            progress(f"    calibrating: sample {index + 1}/{len(samples)}")
        yield [samples[index: index + 1].astype(np.float32)]


def error_summary(error: Exception) -> str:
    """The converter's errors run to pages of MLIR locations; keep the ops and the first reason."""
    text = str(error)
    ops = sorted(set(re.findall(r"'(tf\.\w+)' op", text)))
    reasons = [re.sub(r"^.*?error: (loc\(.*\)\):\s*)?", "", line).strip()
               for line in text.splitlines() if "error:" in line]
    reason = next((r for r in reasons if r), text.strip().splitlines()[0] if text.strip() else "")
    prefix = f"unsupported ops {', '.join(ops)}: " if ops else ""
    return (prefix + reason)[:500] or type(error).__name__
