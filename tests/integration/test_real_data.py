"""Real builds on data a user has: an image folder, an audio folder (DS-CNN-like), sensor CSV, a Python entry.

The first three reach the model through a generated C front end: its contract, its
measurement in the build, its compilation and the raw golden vector are checked here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.datafixtures import write_audio_folder, write_image_folder, write_sensor_csv
from tests.support import Project, make_project, require_tool

pytestmark = pytest.mark.integration

IMAGE_SPEC = """
[model.source]
type = "layers"
input_shape = [12, 10, 3]
layers = [
  { type = "Conv2D", filters = 4, kernel_size = 3, activation = "relu" },
  { type = "GlobalAveragePooling2D" },
  { type = "Dense", units = 3, activation = "softmax" },
]

[dataset]
type = "image_folder"
path = "../images"
image_size = [12, 10]
frame_size = [24, 20]
scale = 255.0
test_fraction = 0.25

[train]
epochs = 30
learning_rate = 0.02

[representative]
samples = 20

[evaluation]
top_k = 2
latency_runs = 3

[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"
io_type = "int8"
c_array = true
"""


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A project whose spec trains a tiny CNN on 3 classes of 16 24x20 PNGs each (resized to 12x10), built once."""
    project = make_project(tmp_path_factory.mktemp("images") / "project")
    write_image_folder(project.root / "images", {"red": 16, "green": 16, "blue": 16}, size=(24, 20))
    project.add_spec("shapes", IMAGE_SPEC)
    run = project.doit()
    assert run.returncode == 0, run.output
    return project


def test_image_folder_model_learns_and_reports_classification_metrics(images: Project) -> None:
    """The CNN beats chance clearly; the report has top-k, per-class accuracy and the confusion matrix."""
    report = json.loads((images.build / "shapes" / "report.json").read_text())
    float32 = report["variants"]["float32"]
    assert float32["accuracy"] >= 0.8
    assert float32["top_k"] == 2 and float32["top_k_accuracy"] >= float32["accuracy"]
    assert len(float32["per_class_accuracy"]) == 3
    # 15 of 48: the files whose hashed position falls below test_fraction = 0.25 (5 names x 3 classes).
    assert np.array(float32["confusion_matrix"]).sum() == report["test_samples"] == 15
    assert report["variants"]["int8"]["micro"]["accuracy"] is not None
    with np.load(images.build / "shapes" / "dataset.npz") as data:
        assert data["x_train"].dtype == np.uint8 and data["labels"].tolist() == ["blue", "green", "red"]
        assert len(data["files_test"]) == 15
    assert report["labels"] == ["blue", "green", "red"]
    assert "## Per-class accuracy" in (images.build / "shapes" / "report.md").read_text()


def test_a_new_image_makes_the_dataset_stale(images: Project, tmp_path: Path) -> None:
    """Nothing runs twice; one more PNG in a class folder: status says stale and doit rebuilds the data set."""
    assert images.doit().executed == []
    copy = Project(Path(shutil.copytree(images.root, tmp_path / "copy")))
    assert copy.doit("dataset").executed == []
    # A copy of an existing image: only the file list changes, no existing file's bytes.
    shutil.copy(copy.root / "images" / "red" / "000.png", copy.root / "images" / "red" / "extra.png")
    status = copy.tflmake("status")
    dataset_line = next(line for line in status.output.splitlines() if " dataset:shapes" in f" {line}")
    assert dataset_line.startswith("stale"), status.output
    assert copy.doit("dataset").executed == ["dataset:shapes"]


def test_new_images_move_no_test_file_and_the_report_says_the_test_set_changed(images: Project,
                                                                                tmp_path: Path) -> None:
    """5 more PNGs: every previous test file is still in files_test, and report.md says the test set
    changed instead of comparing accuracies measured on two test sets."""
    from tflmake.data.splits import hash_position

    copy = Project(Path(shutil.copytree(images.root, tmp_path / "copy")))
    with np.load(copy.build / "shapes" / "dataset.npz") as data:
        before = {part: set(data[f"files_{part}"].tolist()) for part in ("train", "test")}
    # One name the hash puts in the test split (test_fraction = 0.25, seed 0) and four it puts in training.
    names = sorted((f"extra_{number}.png" for number in range(40)), key=lambda name: hash_position(0, name.encode()))
    labels = ["red", "green", "blue", "green", "blue"]
    new = [f"{label}/{name}" for label, name in zip(labels, [names[0], *names[-4:]], strict=True)]
    for index, relative in enumerate(new):
        folder = copy.root / "images" / relative.split("/")[0]
        shutil.copy(folder / f"{index:03d}.png", copy.root / "images" / relative)
    run = copy.doit()
    assert run.returncode == 0, run.output
    with np.load(copy.build / "shapes" / "dataset.npz") as data:
        after = {part: set(data[f"files_{part}"].tolist()) for part in ("train", "test")}
    assert before["test"] < after["test"] and before["train"] < after["train"]
    assert after["test"] | after["train"] == before["test"] | before["train"] | set(new)
    report = json.loads((copy.build / "shapes" / "report.json").read_text())
    assert report["test_set"]["samples"] == len(after["test"]) == len(before["test"]) + 1
    changes = (copy.build / "shapes" / "report.md").read_text().split("# Changes since the previous build")[1]
    changes = changes.split("\n#")[0]
    assert f"- the test set changed ({len(before['test'])} → {len(after['test'])} samples)" in changes
    assert "accuracy" not in changes.replace("figures measured on it are not compared", "")


AUDIO_SPEC = """
[model.source]
type = "layers"
input_shape = [49, 10, 1]
layers = [
  { type = "Conv2D", filters = 8, kernel_size = [5, 3], strides = 2, padding = "same", activation = "relu" },
  { type = "DepthwiseConv2D", kernel_size = 3, padding = "same", activation = "relu" },
  { type = "Conv2D", filters = 8, kernel_size = 1, activation = "relu" },
  { type = "GlobalAveragePooling2D" },
  { type = "Dense", units = 3, activation = "softmax" },
]

[dataset]
type = "audio_folder"
path = "speech"
shape = [49, 10, 1]
test_fraction = 0.25

[train]
epochs = 40
learning_rate = 0.01

[representative]
samples = 10

[evaluation]
latency_runs = 3

[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"
io_type = "int8"
c_array = true
"""


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A DS-CNN-shaped keyword model on 3 classes of 8 tone clips each, built once."""
    project = make_project(tmp_path_factory.mktemp("speech") / "project")
    write_audio_folder(project.specs / "speech", {"high": 3000.0, "low": 300.0, "mid": 1000.0}, per_class=8)
    project.add_spec("kws", AUDIO_SPEC)
    run = project.doit()
    assert run.returncode == 0, run.output
    return project


def test_audio_folder_mfcc_ds_cnn_builds_and_classifies_tones(speech: Project) -> None:
    """49x10 MFCCs (30 ms window, 20 ms hop, 40 mel bins) of 1 s clips train a DS-CNN-shaped model."""
    project = speech
    with np.load(project.build / "kws" / "dataset.npz") as data:
        assert data["x_train"].shape == (18, 49, 10, 1) and data["x_train"].dtype == np.float32
        assert "x_scale" not in data.files
    report = json.loads((project.build / "kws" / "report.json").read_text())
    assert report["variants"]["float32"]["accuracy"] >= 0.8
    assert report["variants"]["int8"]["accuracy"] >= 0.8
    assert project.doit().executed == []


CSV_SPEC = """
[model.source]
type = "layers"
input_shape = [16, 3]
layers = [
  { type = "Conv1D", filters = 8, kernel_size = 3, activation = "relu" },
  { type = "Flatten" },
  { type = "Dense", units = 3, activation = "softmax" },
]

[dataset]
type = "csv"
path = "imu.csv"
columns = ["ax", "ay", "az"]
label_column = "activity"
window = 16
stride = 8
scale = 4.0

[train]
epochs = 60
learning_rate = 0.02

[representative]
indices = [0, 1, 2, 3]

[evaluation]
latency_runs = 3

[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"
io_type = "int8"
c_array = true
"""


@pytest.fixture(scope="module")
def sensors(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A Conv1D activity model on windows of a generated 3-axis sensor CSV, built once."""
    project = make_project(tmp_path_factory.mktemp("sensors") / "project")
    write_sensor_csv(project.specs / "imu.csv", 64, ["walk", "run", "sit", "walk", "sit", "run"])
    project.add_spec("har", CSV_SPEC)
    run = project.doit()
    assert run.returncode == 0, run.output
    return project


def test_csv_sensor_windows_build_with_listed_calibration_samples(sensors: Project) -> None:
    """Windows of a sensor CSV train a Conv1D model; int8 calibrates on exactly the four listed samples."""
    project = sensors
    with np.load(project.build / "har" / "representative.npz") as data:
        assert data["x"].shape == (4, 16, 3)
    report = json.loads((project.build / "har" / "report.json").read_text())
    assert report["variants"]["int8"]["accuracy"] >= 0.8


ANOMALY_DATA = '''
import numpy as np


def load():
    """Normal: smooth sine windows (label 0); anomalies: the same with spikes (label 1)."""
    rng = np.random.default_rng(0)
    phases = rng.uniform(0, 2 * np.pi, size=(300, 1))
    x = np.sin(np.linspace(0, 4 * np.pi, 32)[None, :] + phases).astype(np.float32)
    y = np.zeros(300, dtype=np.int64)
    y[250:] = 1
    x[250:] += rng.choice([0.0, 2.0], size=(50, 32), p=[0.8, 0.2])
    return {"x": x, "y": y}
'''

ANOMALY_SPEC = """
[model.source]
type = "layers"
input_shape = [32]
layers = [
  { type = "Dense", units = 8, activation = "relu" },
  { type = "Dense", units = 32 },
]

[dataset]
type = "python"
entry = "sensordata:load"
test_fraction = 0.3

[train]
epochs = 40
loss = "mse"
metrics = []
learning_rate = 0.01

[evaluation]
task = "anomaly"
latency_runs = 3

[gates]
min_auc = 0.9

[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"
c_array = true
"""


def test_autoencoder_from_a_python_entry_reports_roc_auc(tmp_path: Path) -> None:
    """An autoencoder trained on normal windows separates spiky ones: ROC AUC >= 0.9 under LiteRT and TFLM."""
    project = make_project(tmp_path / "project")
    (project.specs / "sensordata.py").write_text(ANOMALY_DATA)
    project.add_spec("detector", ANOMALY_SPEC)
    run = project.doit()
    assert run.returncode == 0, run.output
    report = json.loads((project.build / "detector" / "report.json").read_text())
    for variant in ("float32", "int8"):
        assert report["variants"][variant]["auc"] >= 0.9
        assert report["variants"][variant]["accuracy"] is None
    assert report["variants"]["int8"]["micro"]["auc"] >= 0.9
    assert "ROC AUC" in (project.build / "detector" / "report.md").read_text()


TWO_TENSOR_DATA = '''
import numpy as np


def load():
    """Two inputs (4 and 3 values) and a label that depends on the first."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(120, 4)).astype(np.float32)
    b = rng.normal(size=(120, 3)).astype(np.float32)
    return {"x": a, "x1": b, "y": (a[:, 0] > 0).astype(np.int64)}
'''

TWO_TENSOR_SPEC = """
[model.source]
type = "keras_file"
path = "two.keras"

[dataset]
type = "python"
entry = "pairs:load"

[evaluation]
output = {output}
latency_runs = 3

[[variant]]
name = "float32"

[[variant]]
name = "dynamic"
quantize = "dynamic"
"""


def test_model_with_two_inputs_and_two_outputs_is_evaluated_on_the_chosen_output(tmp_path: Path) -> None:
    """Input k gets the data set's xk; the report lists every tensor; accuracy is the chosen output's, as Keras says."""
    from tflmake.ml.tensorflow import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(0)
    first, second = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,), name="b")
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()([first, second]))
    outputs = [keras.layers.Dense(2, activation="softmax", name="head_a")(hidden),
               keras.layers.Dense(3, activation="softmax", name="head_b")(hidden)]
    model = keras.Model([first, second], outputs)
    project = make_project(tmp_path / "project")
    model.save(project.specs / "two.keras")
    (project.specs / "pairs.py").write_text(TWO_TENSOR_DATA)
    project.add_spec("two", TWO_TENSOR_SPEC.format(output=1))
    run = project.doit()
    assert run.returncode == 0, run.output
    report = json.loads((project.build / "two" / "report.json").read_text())
    entry = report["variants"]["float32"]
    assert [len(t["shape"]) and t["shape"][-1] for t in entry["tensors"]["inputs"]] == [4, 3]
    assert sorted(t["shape"][-1] for t in entry["tensors"]["outputs"]) == [2, 3]
    with np.load(project.build / "two" / "dataset.npz") as data:
        x, x1, y = data["x_test"], data["x1_test"], data["y_test"]
    predictions = model.predict([x, x1], verbose=0)
    evaluated = next(p for p in predictions if p.shape[-1] == entry["tensors"]["outputs"][1]["shape"][-1])
    assert entry["accuracy"] == pytest.approx(float(np.mean(evaluated.argmax(axis=1) == y)), abs=1e-9)
    assert all("max_abs_diff" in t for t in report["variants"]["dynamic"]["tensors"]["outputs"])


def test_log_mel_front_end_puts_a_tone_in_its_mel_band(tmp_path: Path) -> None:
    """A 1 kHz tone's log-mel energy peaks in the band centred nearest 1 kHz (HTK mel, 20-4000 Hz, 40 bands)."""
    from tests.datafixtures import write_wav
    from tflmake.data.audio import audio_features

    write_wav(tmp_path / "tone.wav", 1000.0)
    options = {"sample_rate": 16000, "clip_ms": 1000, "normalize": "max", "features": "log_mel", "window_ms": 30,
               "stride_ms": 20, "mel_bins": 40, "mfcc_count": 10, "lower_hz": 20, "upper_hz": 4000}
    log_mel = audio_features([str(tmp_path / "tone.wav")], options)
    assert log_mel.shape == (1, 49, 40)
    mel = np.linspace(1127 * np.log1p(20 / 700), 1127 * np.log1p(4000 / 700), 42)
    centres = 700 * np.expm1(mel[1:-1] / 1127)
    assert abs(int(np.argmax(log_mel[0].mean(axis=0))) - int(np.argmin(np.abs(centres - 1000)))) <= 1
    mfcc = audio_features([str(tmp_path / "tone.wav")], {**options, "features": "mfcc"})
    assert mfcc.shape == (1, 49, 10) and np.isfinite(mfcc).all()


# The three data set types whose raw data reaches the model through a generated C front end.
FRONT_END_PROJECTS = {"images": "shapes", "speech": "kws", "sensors": "har"}


@pytest.fixture(params=sorted(FRONT_END_PROJECTS))
def front_end(request: pytest.FixtureRequest) -> tuple[Project, str]:
    """(built project, model) of each front-end data set type, int8 c_array variant."""
    return request.getfixturevalue(request.param), FRONT_END_PROJECTS[request.param]


def test_bundle_records_every_step_from_raw_data_to_the_input_tensor(front_end: tuple[Project, str]) -> None:
    """_firmware.json's input_contract starts at raw data and ends at the quantize step; the header states it."""
    project, model = front_end
    manifest = json.loads((project.build / model / "int8_firmware.json").read_text())
    contract = manifest["input_contract"]
    assert contract["raw"]["dtype"] in ("int16", "uint8", "float32")
    assert contract["steps"][-1]["op"] == "quantize"
    assert contract["steps"][-1]["scale"] == manifest["inputs"][0]["scale"]
    assert manifest["front_end"]["function"] == f"{model}_int8_frontend"
    assert len(manifest["golden"]["raw"]) > 0
    header = (project.build / model / "int8_model_data.h").read_text()
    assert "Input contract" in header and "GOLDEN_RAW_ELEMENTS" in header


def test_build_measures_the_c_front_end_on_the_raw_test_split(front_end: tuple[Project, str]) -> None:
    """The report: >= 99.5 % of input elements equal, none off by more than 1, raw → C → TFLM within 0.5 pt."""
    project, model = front_end
    report = json.loads((project.build / model / "report.json").read_text())
    measured = report["variants"]["int8"]["front_end"]
    assert measured["samples"] == report["test_samples"]
    assert measured["host"]["equal_fraction"] >= 0.995 and measured["host"]["max_abs_diff"] <= 1
    assert abs(measured["micro"]["accuracy"] - measured["litert"]["accuracy"]) <= 0.005
    assert measured["litert"]["accuracy"] == report["variants"]["int8"]["accuracy"]
    assert measured["cortex_m4"]["flash_bytes"] > 0 and measured["cortex_m4"]["ram_bytes"] >= 0  # CSV: no buffers
    assert measured["shortfalls"] == []
    assert "## Input front end (C)" in (project.build / model / "report.md").read_text()


@pytest.mark.parametrize("compiler", [
    ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"],
    ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c99",
     "-Wall", "-Wextra", "-Werror", "-c"]], ids=["host-c99", "cortex-m4"])
def test_front_end_compiles_cleanly(front_end: tuple[Project, str], compiler: list[str], tmp_path: Path) -> None:
    """The generated front end is warning-free C99 for the host and for Cortex-M4 with hard float."""
    project, model = front_end
    require_tool(compiler[0])
    source = project.build / model / "firmware" / f"{model}_int8_frontend.c"
    result = subprocess.run([*compiler, str(source), "-o", str(tmp_path / "frontend.o")], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


SELF_TEST = """\
#include <stdio.h>
#include <stdlib.h>
#include "{model}_int8_model_data.h"
#include "{model}_int8_frontend.h"
#define M(name) {prefix}_##name

int main(void) {{
  static {model}_int8_frontend_output_t features[{model_upper}_INT8_FRONTEND_OUTPUT_ELEMENTS];
  int i, off = 0;
  if ({model_upper}_INT8_FRONTEND_OUTPUT_ELEMENTS != M(INPUT0_ELEMENTS)) return 2;
  if ({model}_int8_frontend({symbol}_golden_raw, features) != 0) return 3;
  for (i = 0; i < M(INPUT0_ELEMENTS); i++) {{
    int difference = abs((int)features[i] - (int){symbol}_golden_input0[i]);
    if (difference > 1) {{ printf("element %d: %d vs %d\\n", i, features[i], {symbol}_golden_input0[i]); return 4; }}
    off += difference != 0;
  }}
  printf("%d of %d elements off by one\\n", off, M(INPUT0_ELEMENTS));
  return 0;
}}
"""


def test_firmware_self_test_starts_from_the_golden_raw_sample(front_end: tuple[Project, str], tmp_path: Path) -> None:
    """C front end(golden_raw) gives golden_input0 within 1 per element: the self-test covers the front end."""
    project, model = front_end
    require_tool("gcc")
    symbol = json.loads((project.build / model / "int8_firmware.json").read_text())["symbol"]
    firmware = project.build / model / "firmware"
    (tmp_path / "main.c").write_text(SELF_TEST.format(model=model, model_upper=model.upper(), symbol=symbol,
                                                      prefix=symbol.upper()))
    build = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{firmware}", "-o",
                            str(tmp_path / "selftest"), str(tmp_path / "main.c"),
                            str(firmware / f"{model}_int8_model_data.c"), str(firmware / f"{model}_int8_frontend.c"),
                            "-lm"], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(tmp_path / "selftest")], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout
