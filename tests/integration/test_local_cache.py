"""Going back is free by default: an option returned to a value built before restores the earlier outputs
from the local cache (each test has an empty one of its own, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support import TINY_SPEC, DoitRun, Project

RETRAINED = "epoch 1/"


def there_and_back(project: Project, run: str) -> tuple[DoitRun, dict[str, bytes], DoitRun, DoitRun]:
    """Build, change train.epochs, build, change it back, build; the runs and the first build's outputs."""
    spec = project.add_spec("tiny", TINY_SPEC)
    build = project.tflmake if run == "tflmake" else project.doit
    first = build()
    assert first.returncode == 0, first.output
    outputs = {path.relative_to(project.build).as_posix(): path.read_bytes()
               for path in (project.build / "tiny").rglob("*") if path.is_file()}
    spec.write_text(TINY_SPEC.replace("epochs = 2", "epochs = 3"))
    changed = build()
    assert changed.returncode == 0 and RETRAINED in changed.output, changed.output
    spec.write_text(TINY_SPEC)
    back = build()
    assert back.returncode == 0, back.output
    return first, outputs, changed, back


def test_changing_an_option_back_restores_the_first_builds_bytes_without_retraining(cli_project: Project) -> None:
    """The third build restores the SavedModel and the variant from the local cache, byte for byte."""
    first, outputs, _, back = there_and_back(cli_project, "tflmake")
    assert RETRAINED not in back.output, back.output
    for task in ("savedmodel:tiny", "tflite:tiny.float32"):
        assert f"   {task} restored from cache in " in back.output, back.output
    assert "tflmake: 4 built, 2 restored from cache, 1 up to date, 0 failed" in back.output
    for name in ("float32.tflite", "saved_model/keras.weights.h5", "saved_model/tflmake_stamp.json",
                 "dataset.npz"):
        assert (cli_project.build / "tiny" / name).read_bytes() == outputs[f"tiny/{name}"], name
    assert "restored" not in first.output  # the first build had nothing to restore
    no_op = cli_project.tflmake()
    assert no_op.executed == [], no_op.output


def test_local_false_in_pyproject_rebuilds_also_under_plain_doit(project: Project, local_cache: Path) -> None:
    """`[tool.tflmake.cache] local = false` switches it off for `doit` too: going back retrains."""
    (project.root / "pyproject.toml").write_text("[tool.tflmake.cache]\nlocal = false\n")
    _, _, _, back = there_and_back(project, "doit")
    assert RETRAINED in back.output and "restored" not in back.output, back.output
    assert not any(local_cache.iterdir())
