"""The thread-private generator for Keras' default seeds, and the check that Keras draws them where expected."""

from __future__ import annotations

import random
import threading
import types
from collections.abc import Callable

import numpy as np

from tflmake.ml.private_random import DISPATCH, KERAS_SEED_RANGE, ThreadDispatch, _hook


def keras_like_module(draw: Callable[[types.ModuleType], int]) -> types.ModuleType:
    """A stand-in for keras.src.random.seed_generator whose make_default_seed calls `draw(module)`."""
    module = types.ModuleType("seed_generator")
    module.python_random = random  # type: ignore[attr-defined]
    module.make_default_seed = lambda: draw(module)  # type: ignore[attr-defined]
    return module


def test_a_thread_with_a_generator_draws_from_it_and_other_threads_from_random() -> None:
    """Only the thread that set a generator sees it; another thread reaches the module `random`."""
    dispatch = ThreadDispatch()
    dispatch.local.generator = random.Random(3)
    seen: list[object] = []
    other = threading.Thread(target=lambda: seen.append(dispatch.randint.__self__))
    other.start()
    other.join()
    assert dispatch.randint(*KERAS_SEED_RANGE) == random.Random(3).randint(*KERAS_SEED_RANGE)
    assert seen == [random.randint.__self__]
    dispatch.local.generator = None
    assert dispatch.randint.__self__ is random.randint.__self__


def test_hooks_a_module_that_draws_default_seeds_from_python_random() -> None:
    """Keras 3's layout: `python_random.randint(1, 1e9)` looked up at call time; then draws go through DISPATCH."""
    module = keras_like_module(lambda module: module.python_random.randint(*KERAS_SEED_RANGE))
    assert _hook(module)
    assert module.python_random is DISPATCH
    DISPATCH.local.generator = random.Random(11)
    try:
        assert module.make_default_seed() == random.Random(11).randint(*KERAS_SEED_RANGE)
    finally:
        DISPATCH.local.generator = None


def test_leaves_a_module_that_draws_default_seeds_elsewhere_as_it_was() -> None:
    """A Keras release drawing from NumPy instead: the probe notices, `python_random` goes back to `random`."""
    module = keras_like_module(lambda module: int(np.random.randint(*KERAS_SEED_RANGE)))
    assert not _hook(module)
    assert module.python_random is random


def test_leaves_a_module_without_python_random_alone() -> None:
    """No `python_random` attribute (Keras moved it): nothing is patched."""
    module = keras_like_module(lambda module: 1)
    del module.python_random
    assert not _hook(module)
    assert not hasattr(module, "python_random")


def test_leaves_a_module_whose_make_default_seed_now_fails_as_it_was() -> None:
    """A make_default_seed that wants arguments: no hook, `python_random` back to `random`."""
    module = keras_like_module(lambda module: module.python_random.randint())
    assert not _hook(module)
    assert module.python_random is random
