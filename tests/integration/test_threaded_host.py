"""Builds inside a threaded host (a Dask worker, a notebook, Airflow): weights do not depend on other threads.

Keras draws its default seeds (initializers, Dropout) from Python's `random`; a
build gives it a generator of its own, so another thread drawing from `random`
meanwhile changes nothing, and the host gets its `random` and NumPy states back.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

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
name = "float32"
"""

# The same build, in the main thread of a process that does nothing else; it also reports
# whether the build left the process's `random` and NumPy states as they were.
BUILD = """
import json, random, sys
import numpy as np
from pathlib import Path
from tflmake.builders import dataset, savedmodel
from tflmake.paths import Layout
from tflmake.spec.load import load_spec

root = Path(sys.argv[1])
spec, layout = load_spec(root / "modelspecs" / "tiny.toml"), Layout(str(root / "build"))
dataset.build(spec, layout)
random.seed(1234)
np.random.seed(1234)
python_before, numpy_before = random.getstate(), np.random.get_state()
savedmodel.build(spec, layout)
numpy_after = np.random.get_state()
print(json.dumps({
    "weights": json.loads(Path(layout.saved_model_stamp(spec.name)).read_text())["weights_sha256"],
    "python_state_kept": random.getstate() == python_before,
    "numpy_state_kept": bool((numpy_after[1] == numpy_before[1]).all()) and numpy_after[2:] == numpy_before[2:],
}))
"""


def project(root: Path) -> Path:
    (root / "modelspecs").mkdir(parents=True)
    (root / "modelspecs" / "tiny.toml").write_text(SPEC)
    return root


@pytest.fixture(scope="module")
def clean_process_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """What the build gives in a child process of its own (the reference)."""
    root = project(tmp_path_factory.mktemp("clean"))
    run = subprocess.run([sys.executable, "-c", BUILD, str(root)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def build_weights(root: Path) -> str:
    """Build the data set and SavedModel of `root`'s spec in this process; the stamp's weights hash."""
    from tflmake.builders import dataset, savedmodel
    from tflmake.paths import Layout
    from tflmake.spec.load import load_spec

    spec, layout = load_spec(root / "modelspecs" / "tiny.toml"), Layout(str(root / "build"))
    dataset.build(spec, layout)
    savedmodel.build(spec, layout)
    weights: str = json.loads(Path(layout.saved_model_stamp(spec.name)).read_text())["weights_sha256"]
    return weights


def test_a_build_in_a_thread_beside_a_thread_drawing_from_random_trains_the_weights_of_a_clean_process(
        tmp_path: Path, clean_process_build: dict[str, object]) -> None:
    """Another thread calls random.sample/random.random in a loop all through the build (as Dask's event loop does)."""
    root = project(tmp_path)
    stop, draws = threading.Event(), [0]

    def draw() -> None:
        while not stop.is_set():
            random.random()
            random.sample(range(100), 3)
            draws[0] += 1
            time.sleep(0)  # let the build run too: draws still land between its own

    drawer = threading.Thread(target=draw, daemon=True)
    drawer.start()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            before = draws[0]
            weights = pool.submit(build_weights, root).result(timeout=600)
            during = draws[0] - before
    finally:
        stop.set()
        drawer.join()
    assert during > 100, "the other thread must draw while the build runs, or this test proves nothing"
    assert weights == clean_process_build["weights"]


def test_a_build_leaves_the_hosts_python_and_numpy_random_states_as_they_were(
        clean_process_build: dict[str, object]) -> None:
    """keras.utils.set_random_seed reseeds both globally; the host must not see that after the build."""
    assert clean_process_build["python_state_kept"] is True
    assert clean_process_build["numpy_state_kept"] is True


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
