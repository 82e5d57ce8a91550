"""What the warm worker imports once, and the process-global state it puts back before and after every step.

A step built in the worker must give the bytes a fresh process gives. The
builders already seed what they draw from (`ml.private_random.seeded_session`)
and import user code in isolation (`spec.python_entry.isolated_import`, which
forgets every module loaded from the spec's folder, so a changed module is read
again); this module resets what a step may leave behind anyway: the Keras
session, the `random`, NumPy and TensorFlow seeds, Keras' custom objects, the
environment, `sys.path` and the working directory.
"""

from __future__ import annotations

import gc
import importlib
import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tflmake import exits
from tflmake.kinds import TASK_KINDS

# A fixed state rather than a fresh process's random one: a step that drew from it unseeded would
# differ between two cold builds as well, and a fixed start makes every step see the same.
RESET_SEED = 0
# Imported once for all steps: what makes a cold step slow (seconds of TensorFlow, Keras and LiteRT).
WARM_MODULES = ("ai_edge_litert.interpreter", "sklearn.datasets", "matplotlib.pyplot")


@dataclass
class Baseline:
    """The process-global state every step starts from, taken once after warming up."""

    custom_objects: dict[str, Any] = field(default_factory=dict)
    custom_names: dict[Any, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    cwd: str = ""


def warm_up() -> Baseline:
    """Import TensorFlow, Keras, LiteRT and every builder, hook Keras' seeds; then take the baseline."""
    from tflmake.ml.private_random import keras_seeds_private
    from tflmake.ml.tensorflow import import_keras

    import_keras()
    keras_seeds_private()
    for basename, kind in TASK_KINDS.items():
        if kind.tensorflow:
            importlib.import_module(f"tflmake.builders.{basename}")
    for module in WARM_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # an optional tool: the step that needs it imports it (and reports it missing)
    # What the imports made lives as long as the worker: out of the collector's sight, every later
    # collection (Keras' clear_session runs one before and after each step) scans only what steps
    # made (BENCHMARKS.md: clear_session 0.22 s -> 0.00 s; steps through the worker ~0.7 s faster).
    gc.collect()
    gc.freeze()
    registry = _registry()
    return Baseline(custom_objects=dict(registry[0]) if registry else {},
                    custom_names=dict(registry[1]) if registry else {},
                    environment=dict(os.environ), path=list(sys.path), cwd=os.getcwd())


@contextmanager
def isolated_step(baseline: Baseline, environment: dict[str, str | None]) -> Iterator[None]:
    """Run one step from the baseline, with the client's step `environment`; leave the baseline behind."""
    reset(baseline)
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        reset(baseline)  # its clear_session collects what the step left


def reset(baseline: Baseline) -> None:
    """Put the process-global state a step can change back to the baseline."""
    from tflmake.ml.tensorflow import import_keras

    keras = import_keras()
    keras.backend.clear_session()
    keras.utils.set_random_seed(RESET_SEED)  # Python, NumPy and TensorFlow's global seed
    random.seed(RESET_SEED)
    np.random.seed(RESET_SEED)
    registry = _registry()
    if registry:
        registry[0].clear()
        registry[0].update(baseline.custom_objects)
        registry[1].clear()
        registry[1].update(baseline.custom_names)
    if dict(os.environ) != baseline.environment:
        os.environ.clear()
        os.environ.update(baseline.environment)
    sys.path[:] = baseline.path
    os.chdir(baseline.cwd)
    # An aborted step's Ctrl-C is remembered (exits) so a lost KeyboardInterrupt still ends it; the
    # next client's step must not inherit it.
    exits.forget_ctrl_c()


def _registry() -> tuple[dict[str, Any], dict[Any, str]] | None:
    """Keras' global custom objects and their names (`register_keras_serializable` fills both)."""
    try:
        registration = importlib.import_module("keras.src.saving.object_registration")
    except ImportError:
        return None
    objects = getattr(registration, "GLOBAL_CUSTOM_OBJECTS", None)
    names = getattr(registration, "GLOBAL_CUSTOM_NAMES", None)
    return (objects, names) if isinstance(objects, dict) and isinstance(names, dict) else None
