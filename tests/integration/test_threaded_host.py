"""Builds inside a threaded host (a Dask worker, a notebook, Airflow): weights do not depend on other threads.

Keras draws its default seeds (initializers, Dropout) from Python's `random`; the
steps that make or train a Keras model give it a generator of their own, so
another thread drawing from `random` meanwhile changes nothing, and the host gets
its `random` and NumPy states back.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support import REPO
from tflmake.ml.private_random import KERAS_SEED_RANGE, keras_seeds_private, seeded_session

# Small and fast, with a Dropout layer so that training draws from a default-seeded generator too.
SPEC = """
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [
  { type = "Flatten" },
  { type = "Dense", units = 16, activation = "relu" },
  { type = "Dropout", rate = 0.2 },
  { type = "Dense", units = 10, activation = "softmax" },
]

[dataset]
type = "digits"
scale = 16.0
shape = [8, 8]

[train]
epochs = 1
seed = 3

[[variant]]
name = "pruned"
prune = { sparsity = 0.5, epochs = 1 }

[[variant]]
name = "qat_int8"
quantize = "int8"
qat = { epochs = 1 }
"""

# Every step in the main thread of a process that does nothing else (the reference); it also
# reports whether the steps after the data set left the process's `random` and NumPy states as
# they were (importing scikit-learn for the digits set draws from `random` once, through rich).
CLEAN_PROCESS = """
import json, random, sys
import numpy as np
from pathlib import Path
from tests.integration.test_threaded_host import build_data, build_fine_tuned, build_trained, results

root = Path(sys.argv[1])
build_data(root)
random.seed(1234)
np.random.seed(1234)
python_before, numpy_before = random.getstate(), np.random.get_state()
build_trained(root)
build_fine_tuned(root)
numpy_after = np.random.get_state()
kept = {"python_state_kept": random.getstate() == python_before,
        "numpy_state_kept": bool((numpy_after[1] == numpy_before[1]).all()) and numpy_after[2:] == numpy_before[2:]}
print(json.dumps(results(root) | kept))
"""


def project(root: Path) -> Path:
    (root / "modelspecs").mkdir(parents=True)
    (root / "modelspecs" / "tiny.toml").write_text(SPEC)
    return root


def spec_and_layout(root: Path) -> tuple[Any, Any]:
    from tflmake.paths import Layout
    from tflmake.spec.load import load_spec

    return load_spec(root / "modelspecs" / "tiny.toml"), Layout(str(root / "build"))


def build_data(root: Path) -> None:
    """The split data set (its shuffle draws from a seeded NumPy generator of its own)."""
    from tflmake.builders import dataset

    dataset.build(*spec_and_layout(root))


def build_trained(root: Path) -> None:
    """The trained SavedModel: layers made (initializer and Dropout seeds) and trained."""
    from tflmake.builders import savedmodel

    savedmodel.build(*spec_and_layout(root))


def build_data_and_trained(root: Path) -> None:
    build_data(root)
    build_trained(root)


def build_fine_tuned(root: Path) -> None:
    """The pruned model and the QAT variant, from the trained model already in `root`."""
    from tflmake.builders import prune, representative, tflite

    spec, layout = spec_and_layout(root)
    representative.build(spec, layout)
    prune.build(spec, layout, "pruned")
    tflite.build(spec, layout, "qat_int8")


def results(root: Path) -> dict[str, str]:
    """The trained and pruned weights hashes (from their stamps) and the QAT .tflite's sha256, where built."""
    from tflmake.spec.rules import pruning_options

    spec, layout = spec_and_layout(root)
    stamps = {"trained": Path(layout.saved_model_stamp(spec.name)),
              "pruned": Path(layout.pruned_stamp(spec.name, pruning_options(spec, spec.variant("pruned"))))}
    found = {name: json.loads(path.read_text())["weights_sha256"] for name, path in stamps.items() if path.is_file()}
    qat = Path(layout.tflite(spec.name, "qat_int8"))
    if qat.is_file():
        found["qat"] = hashlib.sha256(qat.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def clean_process(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The project a child process built, and what it reported."""
    root = project(tmp_path_factory.mktemp("clean"))
    run = subprocess.run([sys.executable, "-c", CLEAN_PROCESS, str(root)], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return root, json.loads(run.stdout.strip().splitlines()[-1])


@contextmanager
def another_thread_drawing_from_random() -> Iterator[list[int]]:
    """A thread calling random.random/random.sample in a loop, as Dask's event loop does; yields its draw count."""
    stop, draws = threading.Event(), [0]

    def draw() -> None:
        while not stop.is_set():
            random.random()
            random.sample(range(100), 3)
            draws[0] += 1
            time.sleep(0)  # let the build run too: the draws still land between its own

    drawer = threading.Thread(target=draw, daemon=True)
    drawer.start()
    try:
        yield draws
    finally:
        stop.set()
        drawer.join()


def build_in_a_thread_beside_draws(step: Callable[[Path], None], root: Path) -> None:
    with another_thread_drawing_from_random() as draws, ThreadPoolExecutor(max_workers=1) as pool:
        before = draws[0]
        pool.submit(step, root).result(timeout=600)
        during = draws[0] - before
    assert during > 100, "the other thread must draw while the build runs, or this test proves nothing"


def test_a_savedmodel_built_in_a_thread_beside_draws_from_random_has_the_weights_of_a_clean_process(
        tmp_path: Path, clean_process: tuple[Path, dict[str, Any]]) -> None:
    """Layer construction (initializer and Dropout seeds) and training run in a thread of a busy process."""
    root = project(tmp_path)
    build_in_a_thread_beside_draws(build_data_and_trained, root)
    assert results(root)["trained"] == clean_process[1]["trained"]


def test_pruning_and_qat_in_a_thread_beside_draws_from_random_give_the_bytes_of_a_clean_process(
        tmp_path: Path, clean_process: tuple[Path, dict[str, Any]]) -> None:
    """Fine-tuning re-creates the model (new Dropout seeds) from the clean process's trained weights."""
    reference, expected = clean_process
    root = tmp_path / "project"
    shutil.copytree(reference, root)
    spec, layout = spec_and_layout(root)
    for path in [*Path(layout.model_dir(spec.name)).glob("pruned_*"), Path(layout.tflite(spec.name, "qat_int8"))]:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert set(results(root)) == {"trained"}
    build_in_a_thread_beside_draws(build_fine_tuned, root)
    assert results(root) == {name: expected[name] for name in ("trained", "pruned", "qat")}


def test_training_pruning_and_qat_leave_the_hosts_python_and_numpy_random_states_as_they_were(
        clean_process: tuple[Path, dict[str, Any]]) -> None:
    """keras.utils.set_random_seed reseeds both globally; the host must not see that after the steps."""
    assert clean_process[1]["python_state_kept"] is True
    assert clean_process[1]["numpy_state_kept"] is True


def test_keras_default_seeds_come_from_the_building_threads_own_generator() -> None:
    """Fails when a Keras release moves its default seeds off `random` (tflmake then falls back to the global one).

    Inside a session, draws from the global `random` between seeding and making a
    layer (any thread's, here this one's) must not change the layer's initial weights.
    """
    import keras

    assert keras_seeds_private()

    def fresh_kernel(draws_in_between: int) -> np.ndarray:
        with seeded_session(5):
            for _ in range(draws_in_between):
                random.random()
            layer = keras.layers.Dense(4)
            layer.build((None, 3))
            return np.asarray(layer.kernel)

    assert np.array_equal(fresh_kernel(0), fresh_kernel(7))
    with seeded_session(5):
        assert keras.random.SeedGenerator().state.numpy()[0] == random.Random(5).randint(*KERAS_SEED_RANGE)
