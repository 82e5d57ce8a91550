"""Quantize the float32 `.tflite` with the LiteRT Quantizer (`litert-quantizer`, formerly `ai-edge-quantizer`).

Google points post-training quantization users from TFLiteConverter flags to
this tool. It starts from the converter's float model, so one conversion
serves many quantizations, and it scopes precision per op by regex.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tflmake.errors import BuildError
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec, Variant
from tflmake.spec.rules import float_source
from tflmake.tflite.opcodes import matching_names, output_tensor_names

# quantize name -> the litert_quantizer.recipe function giving its recipe.
RECIPES = {
    "dynamic": "dynamic_wi8_afp32",
    "int8": "static_wi8_ai8",
    "int16x8": "static_wi8_ai16",
    "int4_weights": "weight_only_wi4_afp32",
}


def quantize(spec: ModelSpec, layout: Layout, variant: Variant, samples: np.ndarray | None) -> bytes:
    """The variant's bytes: recipe loaded, keep_float scopes added, calibrated if needed."""
    from litert_quantizer import quantizer

    source = float_source(spec)
    assert source is not None
    float_model = Path(layout.tflite(spec.name, source.name)).read_bytes()
    engine = quantizer.Quantizer(bytearray(float_model))
    engine.load_quantization_recipe(recipe_for(spec, variant))
    for pattern in variant.keep_float:
        matching_names((pattern,), output_tensor_names(float_model))
        engine.update_quantization_recipe(regex=pattern, operation_name="*", algorithm_key="no_quantize")
    try:
        calibration = engine.calibrate(_calibration_data(float_model, samples)) \
            if engine.need_calibration else None
        result = engine.quantize(calibration, enable_progress_report=False)
    except (ValueError, RuntimeError, KeyError) as error:
        raise BuildError(f'variant "{variant.name}": LiteRT Quantizer failed: '
                         f"{str(error).strip().splitlines()[0] if str(error).strip() else error!r}") from None
    return bytes(result.quantized_model)


def recipe_for(spec: ModelSpec, variant: Variant) -> list[dict[str, Any]]:
    """The variant's raw recipe (inline or from its JSON file), else its quantize mode's."""
    from litert_quantizer import recipe

    if isinstance(variant.recipe, list):
        return variant.recipe
    if isinstance(variant.recipe, str):
        path = spec.resolve(variant.recipe)
        try:
            loaded = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise BuildError(f"recipe: cannot read {path}: {error}") from None
        if not isinstance(loaded, list):
            raise BuildError(f"recipe: {path} must hold a JSON array of recipe entries")
        return loaded
    return list(getattr(recipe, RECIPES[variant.quantize])())


def _calibration_data(float_model: bytes, samples: np.ndarray | None) -> dict[str, list[dict[str, np.ndarray]]]:
    """The representative samples as the quantizer wants them: per signature, per input name."""
    from ai_edge_litert.interpreter import Interpreter

    if samples is None:
        raise BuildError("the recipe needs calibration, but the variant has no representative set")
    signatures = Interpreter(model_content=float_model).get_signature_list()
    if len(signatures) != 1:
        raise BuildError(f"the float model has {len(signatures)} signatures; calibration needs one")
    (key, signature), = signatures.items()
    if len(signature["inputs"]) != 1:
        raise BuildError("calibration supports models with one input")
    name = signature["inputs"][0]
    return {key: [{name: samples[index: index + 1].astype(np.float32)} for index in range(len(samples))]}
