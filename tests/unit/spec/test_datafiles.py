"""A data set's files are its task's dependencies and part of the task cache's facts, found without TensorFlow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.datafixtures import write_image_folder, write_sensor_csv, write_wav
from tests.support import write_spec
from tflmake.engine import taskcache
from tflmake.graph.tasks import dataset_task, file_facts, representative_task
from tflmake.paths import Layout
from tflmake.spec.load import load_spec

REPO = Path(__file__).resolve().parents[3]
IMAGE_SPEC = """
[model.source]
type = "layers"
input_shape = [4, 4, 3]
layers = [{ type = "Flatten" }, { type = "Dense", units = 2 }]

[dataset]
type = "image_folder"
path = "images"
image_size = [4, 4]

[[variant]]
name = "int8"
quantize = "int8"
"""


def test_every_image_is_a_dependency_of_the_dataset_task(tmp_path: Path, monkeypatch) -> None:
    """file_dep lists each image of each class folder, as cwd-relative POSIX paths, sorted by class."""
    monkeypatch.chdir(tmp_path)
    write_image_folder(tmp_path / "images", {"b": 1, "a": 2})
    spec = load_spec(write_spec(tmp_path, IMAGE_SPEC))
    assert dataset_task(spec, Layout("build"))["file_dep"] == ["images/a/000.png", "images/a/001.png",
                                                                "images/b/000.png"]


def test_a_new_image_changes_the_task_cache_facts(tmp_path: Path, monkeypatch) -> None:
    """A cached task list is not reused once a class folder gains a file (its file_dep would be stale)."""
    monkeypatch.chdir(tmp_path)
    write_image_folder(tmp_path / "images", {"a": 2, "b": 2})
    path = write_spec(tmp_path, IMAGE_SPEC)
    spec = load_spec(path)
    cache = taskcache.TaskCache("build/cache.pickle", "build", file_facts)
    cache.store(str(path), path.read_text(), spec, [dataset_task(spec, Layout("build"))])
    assert cache.lookup(str(path), path.read_text()) is not None
    write_image_folder(tmp_path / "images", {"a": 3}, seed=1)
    assert cache.lookup(str(path), path.read_text()) is None


def test_audio_csv_and_python_data_files_are_dependencies(tmp_path: Path, monkeypatch) -> None:
    """Each data set type names the files it reads: wavs, the CSV, the entry's module."""
    monkeypatch.chdir(tmp_path)
    write_wav(tmp_path / "speech" / "yes" / "1.wav", 440.0, milliseconds=50)
    write_wav(tmp_path / "speech" / "no" / "1.wav", 880.0, milliseconds=50)
    write_sensor_csv(tmp_path / "imu.csv", 4, ["walk"])
    (tmp_path / "mydata.py").write_text("def load():\n    return {}\n")
    tables = {
        '[dataset]\ntype = "audio_folder"\npath = "speech"\nclip_ms = 50\n': ["speech/no/1.wav", "speech/yes/1.wav"],
        '[dataset]\ntype = "csv"\npath = "imu.csv"\ncolumns = ["ax"]\nlabel_column = "activity"\nwindow = 2\n':
            ["imu.csv"],
        '[dataset]\ntype = "python"\nentry = "mydata:load"\n': ["mydata.py"],
    }
    head = IMAGE_SPEC[:IMAGE_SPEC.index("[dataset]")] + '[[variant]]\nname = "f"\n'
    for table, expected in tables.items():
        spec = load_spec(write_spec(tmp_path, head + table))
        assert dataset_task(spec, Layout("build"))["file_dep"] == expected


def test_indices_file_is_a_dependency_of_the_representative_task(tmp_path: Path, monkeypatch) -> None:
    """Editing the calibration list re-runs calibration."""
    monkeypatch.chdir(tmp_path)
    write_image_folder(tmp_path / "images", {"a": 2, "b": 2})
    (tmp_path / "calibration.txt").write_text("0\n")
    spec = load_spec(write_spec(tmp_path, IMAGE_SPEC + '[representative]\nindices_file = "calibration.txt"\n'))
    assert "calibration.txt" in representative_task(spec, Layout("build"))["file_dep"]


def test_validate_checks_image_folders_without_importing_tensorflow_or_pillow(tmp_path: Path) -> None:
    """Loading a spec with an image folder imports neither TensorFlow nor Pillow; an empty class folder is an error."""
    write_image_folder(tmp_path / "images", {"a": 1})
    (tmp_path / "images" / "empty").mkdir()
    write_spec(tmp_path, IMAGE_SPEC)
    code = ("import sys\nfrom tflmake.errors import SpecError\nfrom tflmake.spec.load import load_spec\n"
            "try:\n    load_spec('demo.toml')\nexcept SpecError as error:\n    print(error)\n"
            "print([m for m in ('tensorflow', 'PIL', 'keras') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO / "src"), "PATH": ""})
    assert result.stdout.splitlines() == [
        "demo.toml: dataset.path: class folder images/empty has no .bmp/.gif/.jpeg/.jpg/.png files", "[]"]


def test_audio_options_that_cannot_work_are_spec_errors(tmp_path: Path) -> None:
    """A window longer than the clip, more MFCCs than mel bins, or bands above Nyquist fail validation."""
    from tests.support import spec_problems

    write_wav(tmp_path / "speech" / "yes" / "1.wav", 440.0, sample_rate=8000, milliseconds=50)
    head = IMAGE_SPEC[:IMAGE_SPEC.index("[dataset]")] + '[[variant]]\nname = "f"\n'
    problems = spec_problems(tmp_path, head + '[dataset]\ntype = "audio_folder"\npath = "speech"\nsample_rate = 8000\n'
                                              "clip_ms = 20\nmfcc_count = 41\nupper_hz = 5000\n")
    assert problems == [
        "dataset.window_ms: 30 ms is longer than clip_ms (20 ms); no frame fits in a clip",
        "dataset.mfcc_count: 41 MFCCs need at least as many mel_bins (got 40)",
        "dataset.upper_hz: expected lower_hz < upper_hz <= sample_rate / 2 (4000 Hz); got 20 and 5000",
    ]


def test_a_removed_class_folder_is_a_spec_error_not_a_crash(tmp_path: Path, monkeypatch) -> None:
    """A cached spec whose named class folder disappeared is described afresh and fails validation in one line."""
    from tests.support import spec_problems

    monkeypatch.chdir(tmp_path)
    write_image_folder(tmp_path / "images", {"a": 2, "b": 2})
    text = IMAGE_SPEC.replace('image_size = [4, 4]\n', 'image_size = [4, 4]\nclass_names = ["a", "b"]\n')
    path = write_spec(tmp_path, text)
    spec = load_spec(path)
    cache = taskcache.TaskCache("build/cache.pickle", "build", file_facts)
    cache.store(str(path), path.read_text(), spec, [dataset_task(spec, Layout("build"))])
    for image in (tmp_path / "images" / "b").iterdir():
        image.unlink()
    (tmp_path / "images" / "b").rmdir()
    assert cache.lookup(str(path), path.read_text()) is None
    assert spec_problems(tmp_path, text) == ['dataset.class_names: no folder "b" in images']


def test_a_python_data_entry_s_local_imports_are_dependencies(tmp_path: Path, monkeypatch) -> None:
    """Editing a helper module the data entry imports must make the data set stale."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data_entry.py").write_text("from helpers import make\ndef load():\n    return make()\n")
    (tmp_path / "helpers.py").write_text("def make():\n    return {}\n")
    spec = load_spec(write_spec(tmp_path, IMAGE_SPEC.replace(
        'type = "image_folder"\npath = "images"\nimage_size = [4, 4]', 'type = "python"\nentry = "data_entry:load"')))
    assert dataset_task(spec, Layout("build"))["file_dep"] == ["data_entry.py", "helpers.py"]
