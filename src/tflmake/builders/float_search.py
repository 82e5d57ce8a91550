"""The tflite task of a `keep_float_search` variant: convert and measure the candidates ml/float_search asks for.

Each candidate is converted exactly as a `keep_float` variant is (ml/selective:
the converter's quantization debugger with the op names denylisted), and measured
on the test split as the evaluation measures it (LiteRT, one sample at a time).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tflmake.builders.dataset import input_names, read_split, stored_names
from tflmake.builders.evaluate import run_litert, task_metrics
from tflmake.builders.tflite import calibration, configure, error_summary, make_converter, model_directory
from tflmake.console import progress
from tflmake.errors import BuildError
from tflmake.ml.float_search import Candidate, search, trace
from tflmake.ml.selective import float_model, quantize_keeping
from tflmake.paths import Layout
from tflmake.report.metrics import abs_differences
from tflmake.spec.load import ModelSpec, Variant
from tflmake.tflite.names import strip_names
from tflmake.tflite.opcodes import float_operator_outputs

# The split the search measures: the evaluation's, so the target holds on the numbers the report shows.
SPLIT = "test"


def search_keep_float(spec: ModelSpec, layout: Layout, variant: Variant,
                      samples: np.ndarray) -> tuple[bytes, dict[str, Any]]:
    """The chosen candidate's bytes and the search's trace (for `<variant>_float_search.json`)."""
    assert variant.keep_float_search is not None
    max_drop = float(variant.keep_float_search["max_accuracy_drop"])
    names = tuple(input_names(stored_names(layout, spec.name), SPLIT))
    split = read_split(layout, spec.name, (*names, f"y_{SPLIT}"))
    inputs, labels = [split[name] for name in names], split[f"y_{SPLIT}"]
    with model_directory(spec, layout, variant) as directory, \
            tempfile.TemporaryDirectory(prefix="tflmake_search_") as work:
        def converter() -> Any:
            made = make_converter(spec, directory, variant.batch)
            configure(made, variant, samples)
            return made

        def run(model: bytes) -> tuple[np.ndarray, float]:
            path = Path(work) / "candidate.tflite"
            path.write_bytes(model)
            outputs = run_litert(path.as_posix(), inputs, 0, spec.evaluation.get("output", 0)).outputs
            accuracy = task_metrics(spec, outputs, labels, inputs[0])["accuracy"]
            assert accuracy is not None  # the spec rules allow the search only where accuracy is measured
            return outputs, accuracy

        reference = _converted(variant, "float32", lambda: float_model(converter()))
        float_outputs, float_accuracy = run(reference)
        ops = float_operator_outputs(reference)
        progress(f"    {variant.name}: float32 {float_accuracy * 100:.2f} % on the {SPLIT} split; searching "
                 f"{len(ops)} ops for the fewest to keep in float (accuracy drop <= {max_drop * 100:g} pt)")

        def measure(keep: tuple[str, ...]) -> Candidate:
            progress(f"    {variant.name}: candidate with {len(keep)} of {len(ops)} ops in float")
            model = _converted(variant, f"{len(keep)} ops in float", lambda: bytes(converter().convert())
                               if not keep else quantize_keeping(converter(), list(keep),
                                                                 lambda: calibration(samples)))
            outputs, accuracy = run(model)
            return Candidate(keep, _size(variant, model), accuracy, abs_differences(outputs, float_outputs)[1],
                             model)

        result = search([name for _, name in ops], measure, float_accuracy, max_drop)
    if not result.met:
        progress(f"    warning: {spec.name}.{variant.name}: no candidate meets max_accuracy_drop "
                 f"{max_drop * 100:g} pt; building the most accurate one")
    return result.chosen.model, trace(result, ops, float_accuracy, _size(variant, reference), max_drop, SPLIT,
                                      len(labels))


def _size(variant: Variant, model: bytes) -> int:
    """The size the variant's `.tflite` would have: after strip_names, when the variant strips."""
    return len(strip_names(model)) if variant.strip_names else len(model)


def _converted(variant: Variant, what: str, conversion: Any) -> bytes:
    """One conversion of the search; the converter's many error types become one BuildError."""
    try:
        return bytes(conversion())
    except BuildError:
        raise
    except Exception as error:  # the converter raises many types; all mean "cannot convert"
        raise BuildError(f'variant "{variant.name}": keep_float_search: converting the candidate with '
                         f"{what} failed: {error_summary(error)}") from None
