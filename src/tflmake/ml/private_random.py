"""A seeded Keras session for one model that other threads cannot disturb and that leaves the host's RNGs alone.

Keras draws the default seed of every initializer, Dropout layer and seed
generator with `randint` on Python's process-global `random`
(`keras/src/random/seed_generator.py`, `make_default_seed`, which looks up its
module attribute `python_random` at each call). Seeding that generator is not
enough in a threaded process: any other thread drawing from it meanwhile (a Dask
worker's event loop calls `random.sample`, so may a notebook or an Airflow task)
moves the sequence, and identical specs train to different weights. So a build
gives Keras a `random.Random(seed)` of its own, seen only by the building thread;
every other thread keeps drawing from `random` as before.

`keras.utils.set_random_seed` still seeds Python, NumPy and TensorFlow (code in a
`python` source may draw from them), but the host gets its Python and NumPy
states back afterwards. TensorFlow's global seed stays process-wide: see docs/cluster.md,
"Builds inside a threaded host".
"""

from __future__ import annotations

import importlib
import random
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from tflmake.ml.tensorflow import import_keras

# Where Keras 3 keeps the module it draws default seeds from (an internal: checked before use).
KERAS_SEED_MODULE = "keras.src.random.seed_generator"
KERAS_SEED_ATTRIBUTE = "python_random"
KERAS_SEED_RANGE = (1, int(1e9))  # make_default_seed's randint bounds (the probe compares a draw)


class ThreadDispatch:
    """Stands in for the `random` module inside Keras: a thread in `seeded_session` draws from its own generator.

    Every other thread, and this one outside a session, reaches `random` itself,
    so Keras behaves as without tflmake for them.
    """

    def __init__(self) -> None:
        self.local = threading.local()

    def __getattr__(self, name: str) -> Any:
        generator = getattr(self.local, "generator", None)
        return getattr(random if generator is None else generator, name)


DISPATCH = ThreadDispatch()
_hook_lock = threading.Lock()


def keras_seeds_private() -> bool:
    """Whether Keras draws its default seeds through DISPATCH (hooked on the first call, then remembered).

    False where a Keras release no longer draws them from `random` the way this
    module expects: builds then seed the global `random` as before (reproducible
    in a process of their own, not beside threads that draw from it).
    """
    with _hook_lock:
        return _hook_once()


@cache
def _hook_once() -> bool:
    import_keras()
    try:
        module = importlib.import_module(KERAS_SEED_MODULE)
    except ImportError:
        module = None
    if module is not None and _hook(module):
        return True
    warnings.warn(f"{KERAS_SEED_MODULE}.make_default_seed no longer draws from "
                  f"`{KERAS_SEED_ATTRIBUTE}` as tflmake expects: Keras' default seeds come from the "
                  "process-global `random`, so run builds in a process of their own (the tflmake "
                  "command) for reproducible weights", RuntimeWarning, stacklevel=3)
    return False


def _hook(module: ModuleType) -> bool:
    """Point `module`'s `python_random` at DISPATCH, then prove a default seed comes from a thread's generator."""
    if getattr(module, KERAS_SEED_ATTRIBUTE, None) not in (random, DISPATCH):
        return False
    make_default_seed = getattr(module, "make_default_seed", None)
    if not callable(make_default_seed):
        return False
    setattr(module, KERAS_SEED_ATTRIBUTE, DISPATCH)
    probe, outer = 20260, getattr(DISPATCH.local, "generator", None)
    DISPATCH.local.generator = random.Random(probe)
    try:
        drawn = make_default_seed()
    except (TypeError, AttributeError, ValueError):  # it now wants arguments, or other attributes
        drawn = None
    finally:
        DISPATCH.local.generator = outer
    if drawn == random.Random(probe).randint(*KERAS_SEED_RANGE):
        return True
    setattr(module, KERAS_SEED_ATTRIBUTE, random)
    return False


@contextmanager
def seeded_session(seed: int) -> Iterator[None]:
    """A fresh Keras session seeded with `seed` for what this thread builds inside it.

    Keras' layer-name counters restart (so names, and the .tflite bytes, do not
    depend on what the process built before) and its default seeds come from a
    `random.Random(seed)` private to this thread: the same sequence a freshly
    seeded global `random` gives, so weights equal those of a build in a process
    of its own. The host's `random` and NumPy global states are restored on exit.
    """
    host_python, host_numpy = random.getstate(), np.random.get_state()  # before imports, some of which draw
    keras = import_keras()
    private = keras_seeds_private()
    outer = getattr(DISPATCH.local, "generator", None)
    keras.backend.clear_session()
    try:
        if private:
            DISPATCH.local.generator = random.Random(seed)
        keras.utils.set_random_seed(seed)
        yield
    finally:
        DISPATCH.local.generator = outer
        random.setstate(host_python)
        np.random.set_state(host_numpy)
