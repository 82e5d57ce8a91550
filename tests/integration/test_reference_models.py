"""Issue 15's "Done when" on the smallest reference shape: tflmake's int8 firmware vs the reference recipe.

The anomaly-detection autoencoder, trained with Keras 2 and saved as `.h5`
(benchmarks/reference_models.py makes it), converted once as published int8
references are (fixed batch 1, int8 I/O, per-tensor Dense) and once by tflmake
from a ~20-line spec. Both are measured the same way: bytes, operators and
TFLite Micro arena (`measure_arena`). benchmarks/reference_models.py runs all
four shapes and both file formats.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from benchmarks.reference_models import (
    REFERENCES,
    calibration_samples,
    measure,
    reference_int8,
    spec_text,
    write_digits_pixels,
    write_model_files,
)

from tests.support import Project, make_project


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict[str, Any], dict[str, Any]]:
    """The autoencoder `.h5` built by tflmake on the first try, and its reference conversion; both measured."""
    project = make_project(tmp_path_factory.mktemp("reference") / "project", dodo=False)
    models = project.root / "models"
    models.mkdir()
    write_digits_pixels(models)
    model = write_model_files("autoencoder", models)
    reference_path = project.root / "reference_int8.tflite"
    reference_path.write_bytes(reference_int8(model, calibration_samples("autoencoder"),
                                              REFERENCES["autoencoder"].per_channel_dense))
    project.add_spec("autoencoder_h5", spec_text("autoencoder", "h5"))
    run = project.tflmake()
    assert run.returncode == 0, run.output
    build = project.build / "autoencoder_h5"
    firmware = json.loads((build / "int8_firmware.json").read_text())
    ours = measure(build / "int8.tflite") | {"firmware_arena": firmware["arena_bytes_measured"]}
    return project, measure(reference_path), ours


def test_int8_firmware_needs_no_more_arena_and_runs_the_same_ops(
        both_ways: tuple[Project, dict[str, Any], dict[str, Any]]) -> None:
    """tflmake's int8 runs the reference's operators in no more TFLite Micro arena, as its bundle states."""
    _, reference, ours = both_ways
    assert ours["ops"] == reference["ops"]
    assert ours["arena"] <= reference["arena"]
    assert ours["firmware_arena"] == ours["arena"]


def test_int8_firmware_without_debug_strings_is_no_larger(
        both_ways: tuple[Project, dict[str, Any], dict[str, Any]]) -> None:
    """Both written again without debug strings (TFLite's strip_strings), tflmake's int8 is no larger."""
    _, reference, ours = both_ways
    assert 0 < ours["stripped"] < ours["size"]
    assert ours["stripped"] <= reference["stripped"]


def test_int8_firmware_is_no_larger(both_ways: tuple[Project, dict[str, Any], dict[str, Any]]) -> None:
    """tflmake's int8 firmware of a Keras 2 `.h5` is no larger than the reference conversion.

    Keras 3 names every op scope with a suffix (autoencoder_1/dense_5_1/...), so the
    converter's tensor names are longer than the reference's; a firmware variant
    strips them by default (strip_names), keeping only its input and output names.
    """
    _, reference, ours = both_ways
    assert ours["size"] <= reference["size"]
    assert ours["names"] < reference["names"]
