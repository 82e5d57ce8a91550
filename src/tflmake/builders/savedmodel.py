"""Build `saved_model/`: define or load the Keras model, train it if defined, export it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tflmake import atomic
from tflmake.builders.dataset import read_split
from tflmake.console import progress
from tflmake.ml import training
from tflmake.ml.datacheck import check_output_units
from tflmake.ml.keras_model import check_input_shape, export_with_stamp, load_weights, make_model, output_units
from tflmake.ml.legacy_keras import load_model_file
from tflmake.ml.private_random import seeded_session
from tflmake.ml.saved_model_copy import copy_saved_model
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec


def build(spec: ModelSpec, layout: Layout) -> None:
    target = layout.saved_model_dir(spec.name)
    with atomic.directory_for_write(target) as work:
        if spec.source_kind.keras:
            stamp = export_keras_model(spec, layout, work)
        else:
            stamp = copy_saved_model(Path(spec.resolve(spec.source["path"])), work)
            progress(f"    loaded {spec.source['path']}: {stamp['loaded_by']}")
        stamp_name = Path(layout.saved_model_stamp(spec.name)).name
        (work / stamp_name).write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")


def export_keras_model(spec: ModelSpec, layout: Layout, work: Path) -> dict[str, Any]:
    # Seeded so that other threads of the process drawing from `random` change nothing.
    with seeded_session(spec.train["seed"] if spec.train else 0):
        return _export_keras_model(spec, layout, work)


def _export_keras_model(spec: ModelSpec, layout: Layout, work: Path) -> dict[str, Any]:
    weights_name = Path(layout.keras_weights(spec.name)).name
    if not spec.trains:  # a Keras model file, used as is: say which loading route read it
        loaded = load_model_file(spec.resolve(spec.source["path"]), spec.source.get("trust_code", False))
        progress(loaded.summary(spec.source["path"]))
        if spec.dataset:
            # Before anything converts or calibrates it: a mismatch is one line naming both shapes.
            data = read_split(layout, spec.name)
            check_input_shape(loaded.model, data["x_train"], spec)
            check_output_units(output_units(loaded.model), data, spec.evaluation["task"])
        stamp = export_with_stamp(loaded.model, spec, work, weights_name, loaded.route.export)
        return stamp | {"loaded_by": loaded.route.name, "config_changes": loaded.changes}
    model = make_model(spec)
    if "weights" in spec.source:
        load_weights(model, spec)
    data = read_split(layout, spec.name)
    check_input_shape(model, data["x_train"], spec)
    check_output_units(output_units(model), data, spec.evaluation["task"])
    if spec.train and spec.train["epochs"] > 0:
        training.train(model, spec, data)
    return export_with_stamp(model, spec, work, weights_name)
