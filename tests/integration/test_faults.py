"""Faults: builds killed mid-way and concurrent builds end in a consistent, correct build/."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import TINY_SPEC, Project, make_project


def digests(build: Path) -> dict[str, str]:
    """sha256 of every artifact file doit checks (not the SavedModel's own files)."""
    files = [*build.glob("*/*.tflite"), *build.glob("*/*.npz"), *build.glob("*/*_model_data.*"),
             *build.glob("*/*_op_resolver.h"), *build.glob("*/*_firmware.json"),
             *build.glob("*/saved_model/tflmake_stamp.json"),
             *build.glob("*/firmware/*_model_data.[ch]"), *build.glob("*/firmware/*_op_resolver.h")]
    return {p.relative_to(build).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(files)}


def start_doit(project: Project) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "doit"], cwd=project.root, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})


def kill_when(process: subprocess.Popen[str], marker: str, delay: float) -> str:
    """SIGKILL the whole build `delay` seconds after `marker` appears in its output."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            time.sleep(delay)
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return "".join(seen)


@pytest.mark.parametrize(("marker", "delay"), [
    ("epoch 2/5", 0.0),                       # during training
    (".  tflite:digits_mlp.dynamic", 0.1),     # during a conversion
    (".  tflite:digits_mlp.int8", 0.3),        # during calibration + conversion
    (".  carray:digits_mlp.int8", 0.0),        # while writing C arrays
], ids=["training", "conversion", "calibration", "carray"])
def test_killed_build_finishes_correctly(built_mlp: Project, tmp_path: Path, marker: str,
                                         delay: float) -> None:
    """After SIGKILL, what is on disk is complete and correct, and the next run finishes the build."""
    reference = digests(built_mlp.build)
    project = make_project(tmp_path / "p", "digits_mlp")
    output = kill_when(start_doit(project), marker, delay)
    assert marker in output, output
    survived = digests(project.build)
    assert all(reference[name] == digest for name, digest in survived.items())
    visible = {p.relative_to(project.build).as_posix() for p in project.build.glob("*/*")
               if not p.name.startswith(".")}
    # Partial writes stay hidden temps. (The manifest lists SavedModel file hashes, which differ per training run.)
    assert visible <= {*reference, "digits_mlp/saved_model", "digits_mlp/manifest.json", "digits_mlp/firmware"}
    run = project.doit()
    assert run.returncode == 0, run.output
    assert digests(project.build) == reference
    assert project.doit().executed == []


def test_concurrent_builds_wait_and_agree(built_mlp: Project, tmp_path: Path) -> None:
    """A second doit waits for the first (saying so), then finds everything up to date."""
    reference = digests(built_mlp.build)
    project = make_project(tmp_path / "p", "digits_mlp")
    first = start_doit(project)
    lock = project.build / ".lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
        assert time.monotonic() < deadline, "first build never took the lock"
        time.sleep(0.05)
    second = project.doit()
    first_output, _ = first.communicate(timeout=600)
    assert first.returncode == 0, first_output
    assert second.returncode == 0, second.output
    assert f"another build is running in build (pid {first.pid}); waiting" in second.output
    assert second.executed == []
    assert digests(project.build) == reference
    assert project.doit().executed == []


def test_tampered_target_is_rebuilt_and_verify_notices(copy_of_built: Project) -> None:
    """A truncated .tflite fails `verify`, is rebuilt alone by the next run, then verifies again."""
    from tflmake.commands import verify as verify_command
    from tflmake.commands.settings import Settings

    def verify(args: list[str]) -> int:
        return verify_command.run(args, Settings())

    tflite = copy_of_built.build / "digits_mlp" / "int8.tflite"
    original = tflite.read_bytes()
    build_dir = str(copy_of_built.build)
    assert verify(["--build-dir", build_dir]) == 0
    tflite.write_bytes(original[:100])
    assert verify(["--build-dir", build_dir]) == 1
    run = copy_of_built.doit()
    assert run.returncode == 0, run.output
    assert run.executed == ["tflite:digits_mlp.int8"]
    assert tflite.read_bytes() == original
    assert verify(["--build-dir", build_dir]) == 0


def test_hand_edited_c_array_is_regenerated(copy_of_built: Project) -> None:
    """Editing a generated C file by hand is undone by the next build."""
    source = copy_of_built.build / "digits_mlp" / "int8_model_data.c"
    original = source.read_text()
    source.write_text(original.replace("0x", "0X", 1))
    run = copy_of_built.doit()
    assert run.executed == ["carray:digits_mlp.int8"]
    assert source.read_text() == original


def test_disk_full_is_a_clear_error_and_leaves_no_target(project: Project) -> None:
    """With writes capped (as on a full disk), the build fails in one line and writes no target."""
    import resource

    from tests.support import SPECS

    project.add_spec("digits_mlp", (SPECS / "digits_mlp.toml").read_text())
    limit = 64 * 1024  # dataset.npz is ~470 kB: its write hits the cap

    def cap_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run([sys.executable, "-m", "doit", "dataset"], cwd=project.root, capture_output=True,
                            text=True, preexec_fn=cap_file_size)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "digits_mlp (modelspecs/digits_mlp.toml): cannot write build/digits_mlp/dataset.npz: File too large" \
        in output
    assert "Traceback" not in output
    assert sorted(p.name for p in (project.build / "digits_mlp").iterdir()) == []


def test_unwritable_build_path_is_a_clear_error(project: Project) -> None:
    """A model folder that cannot be created (a file is in the way) fails with one clear line."""
    from tests.support import SPECS

    project.add_spec("digits_mlp", (SPECS / "digits_mlp.toml").read_text())
    project.build.mkdir()
    (project.build / "digits_mlp").write_text("in the way")
    run = project.doit("dataset")
    assert run.returncode != 0
    assert "digits_mlp (modelspecs/digits_mlp.toml): cannot write build/digits_mlp/dataset.npz: " in run.output
    assert "Traceback" not in run.output


def test_symlinked_model_folder_is_refused(project: Project, tmp_path: Path) -> None:
    """A build/<model> symlink pointing elsewhere is refused; nothing is written through it."""
    from tests.support import SPECS

    project.add_spec("digits_mlp", (SPECS / "digits_mlp.toml").read_text())
    outside = tmp_path / "outside"
    outside.mkdir()
    project.build.mkdir()
    (project.build / "digits_mlp").symlink_to(outside)
    run = project.doit("dataset")
    assert run.returncode != 0
    assert ("digits_mlp (modelspecs/digits_mlp.toml): build/digits_mlp is a symlink or leads outside build/"
            in run.output)
    assert list(outside.iterdir()) == []


def test_verify_accepts_an_equal_retrain_and_names_a_changed_variable(copy_of_tiny: Project) -> None:
    """After a retrain that reproduces the weights (TensorFlow writes a new fingerprint.pb), `status`
    and `verify` agree that all is well; a damaged SavedModel variable file fails `verify`, named."""
    saved_model = copy_of_tiny.build / "tiny" / "saved_model"
    (saved_model / "keras.weights.h5").unlink()  # a target gone: the savedmodel task runs again
    run = copy_of_tiny.tflmake()
    assert run.returncode == 0 and run.executed == ["savedmodel:tiny"], run.output
    assert copy_of_tiny.tflmake("status").output.splitlines()[-2].endswith("targets up to date")  # then the worker line
    verified = copy_of_tiny.tflmake("verify")
    assert verified.returncode == 0, verified.output
    data = saved_model / "variables" / "variables.data-00000-of-00001"
    damaged = bytearray(data.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    data.write_bytes(bytes(damaged))
    verified = copy_of_tiny.tflmake("verify")
    assert verified.returncode == 1, verified.output
    assert "build/tiny/saved_model/variables: " in verified.output, verified.output


PYTHON_DATA_SET = '''
from sklearn.datasets import load_digits


def load():
    digits = load_digits()
    return {"x": digits.images / 16.0, "y": digits.target}
'''


def test_a_restored_input_rebuilds_only_what_its_content_changes(project: Project) -> None:
    """After a data set entry broke the build and was restored, the data set is rebuilt (same bytes)
    and the tasks it blocked stay up to date: content decides, not the failure."""
    entry = project.specs / "mydata.py"
    entry.write_text(PYTHON_DATA_SET)
    project.add_spec("tiny", TINY_SPEC.replace('type = "digits"\nscale = 16.0',
                                               'type = "python"\nentry = "mydata:load"'))
    assert project.tflmake().returncode == 0
    data_set = (project.build / "tiny" / "dataset.npz").read_bytes()
    entry.write_text(PYTHON_DATA_SET + 'raise RuntimeError("broken")\n')
    broken = project.tflmake()
    assert broken.returncode == 1 and broken.executed == ["dataset:tiny"], broken.output
    entry.write_text(PYTHON_DATA_SET)
    restored = project.tflmake()
    assert restored.returncode == 0, restored.output
    assert (project.build / "tiny" / "dataset.npz").read_bytes() == data_set
    # The project report, rewritten with the failure, is made again without it.
    assert restored.executed == ["dataset:tiny", "summary"], restored.output
    assert "FAILED" not in (project.build / "report.md").read_text()
