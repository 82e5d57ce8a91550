"""Task graph: names, dependencies and up-to-date keys hash exactly what each task reads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import MLP, all_tasks, changed_tasks, fingerprints, tasks_of
from tflmake.spec.load import load_spec, load_specs

REPO = Path(__file__).resolve().parents[3]


def test_task_names_follow_basename_colon_model_dot_variant(tmp_path: Path) -> None:
    """One dataset/savedmodel/representative task per model, one tflite per variant."""
    names = set(tasks_of(tmp_path))
    assert names == {
        "dataset:digits_mlp", "savedmodel:digits_mlp", "representative:digits_mlp",
        "tflite:digits_mlp.float32", "tflite:digits_mlp.dynamic", "tflite:digits_mlp.float16",
        "tflite:digits_mlp.int8", "tflite:digits_mlp.int16x8", "carray:digits_mlp.int8",
        "manifest:digits_mlp", "evaluate:digits_mlp", "report:digits_mlp",
    }


def test_targets_follow_the_layout(tmp_path: Path) -> None:
    """Targets are the documented build/<model>/ paths."""
    tasks = tasks_of(tmp_path)
    assert tasks["tflite:digits_mlp.int8"]["targets"] == ["build/digits_mlp/int8.tflite"]
    assert tasks["carray:digits_mlp.int8"]["targets"] == [
        "build/digits_mlp/int8_model_data.h", "build/digits_mlp/int8_model_data.c",
        "build/digits_mlp/int8_op_resolver.h", "build/digits_mlp/int8_firmware.json",
        "build/digits_mlp/firmware/digits_mlp_int8_model_data.h",
        "build/digits_mlp/firmware/digits_mlp_int8_model_data.c",
        "build/digits_mlp/firmware/digits_mlp_int8_op_resolver.h"]
    assert tasks["savedmodel:digits_mlp"]["targets"] == [
        "build/digits_mlp/saved_model/tflmake_stamp.json", "build/digits_mlp/saved_model/keras.weights.h5"]


def test_every_artifact_task_checks_its_targets_bytes(tmp_path: Path) -> None:
    """Each task with file targets is also up to date only while its targets are intact."""
    from tflmake.engine.fingerprint import key_and_targets_unchanged

    assert all(isinstance(task["uptodate"][0], key_and_targets_unchanged) for task in tasks_of(tmp_path).values())


def test_manifest_depends_on_every_artifact(tmp_path: Path) -> None:
    """The manifest task reads every target of the model's other tasks."""
    tasks = tasks_of(tmp_path)
    evaluation = ("manifest", "evaluate", "report")
    others = {t for name, task in tasks.items() if not name.startswith(evaluation) for t in task["targets"]}
    assert set(tasks["manifest:digits_mlp"]["file_dep"]) == others  # digits: no input files


def test_only_calibrated_variants_depend_on_the_representative_set(tmp_path: Path) -> None:
    """float32/dynamic/float16 do not read representative.npz; int8/int16x8 do."""
    tasks = tasks_of(tmp_path)
    calibrated = {name for name, task in tasks.items() if not name.startswith("manifest")
                  and "build/digits_mlp/representative.npz" in task.get("file_dep", [])}
    assert calibrated == {"tflite:digits_mlp.int8", "tflite:digits_mlp.int16x8"}


def test_description_change_touches_no_task(tmp_path: Path) -> None:
    """Editing the description changes no task's up-to-date key."""
    assert changed_tasks(tmp_path, ('description = "Tutorial', 'description = "Edited')) == set()


def test_variant_change_touches_only_that_variant(tmp_path: Path) -> None:
    """Changing one variant's io_type changes only its tflite task's key."""
    edit = ('quantize = "int8"\nio_type = "int8"', 'quantize = "int8"\nio_type = "uint8"')
    assert changed_tasks(tmp_path, edit) == {"tflite:digits_mlp.int8", "manifest:digits_mlp"}


def test_train_change_touches_only_the_savedmodel_task(tmp_path: Path) -> None:
    """[train] is read by the SavedModel task; downstream reruns via its stamp file."""
    assert changed_tasks(tmp_path, ("epochs = 5", "epochs = 6")) == {"savedmodel:digits_mlp", "manifest:digits_mlp"}


def test_representative_change_touches_only_the_representative_task(tmp_path: Path) -> None:
    """[representative] is read by the representative task only."""
    assert changed_tasks(tmp_path, ("samples = 100", "samples = 50")) == {
        "representative:digits_mlp", "manifest:digits_mlp"}


def test_dataset_change_touches_only_the_dataset_task(tmp_path: Path) -> None:
    """[dataset] is read by the dataset task; everything else depends on its file."""
    assert changed_tasks(tmp_path, ("test_fraction = 0.2", "test_fraction = 0.25")) == {
        "dataset:digits_mlp", "manifest:digits_mlp"}


def test_manifest_reads_every_input_file(tmp_path: Path) -> None:
    """The manifest task depends on the files the model is made from (here an npz data set), not
    only on the artifacts, so manifest.json can record their sha256."""
    import numpy as np

    np.savez(tmp_path / "data.npz", x=np.zeros((10, 4), np.float32), y=np.zeros(10))
    text = MLP.replace('type = "digits"', 'type = "npz"\npath = "data.npz"')
    text = text.replace("input_shape = [8, 8]", "input_shape = [4]").replace("\nshape = [8, 8]\n", "\n")
    tasks = tasks_of(tmp_path, text)
    data = f"{tmp_path.as_posix()}/data.npz"
    manifest = tasks["manifest:digits_mlp"]
    assert data in manifest["file_dep"] and data in manifest["actions"][0][1][4]  # its inputs argument


def test_broken_spec_becomes_a_failing_task(tmp_path: Path) -> None:
    """A broken spec yields spec:<stem>, whose action fails with the spec's message."""
    bad = tmp_path / "broken.toml"
    bad.write_text("[model")
    specs, errors = load_specs([bad])
    spec_tasks = [t for t in all_tasks(specs, errors) if t["basename"] == "spec" and t.get("name")]
    assert [t["name"] for t in spec_tasks] == ["broken"]
    action, args = spec_tasks[0]["actions"][0]
    failure = action(*args)
    assert "broken.toml: TOML syntax error" in str(failure.get_msg())


def test_saved_model_source_depends_on_its_files(tmp_path: Path) -> None:
    """A SavedModel source lists every file in the directory as a dependency."""
    (tmp_path / "sm" / "variables").mkdir(parents=True)
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"pb")
    (tmp_path / "sm" / "variables" / "variables.index").write_bytes(b"i")
    spec_path = tmp_path / "m.toml"
    spec_path.write_text('[model.source]\ntype = "saved_model"\npath = "sm"\n'
                         '[[variant]]\nname = "f"\n')
    spec = load_spec(spec_path)
    task = next(t for t in all_tasks([spec]) if t["basename"] == "savedmodel" and t.get("name"))
    assert [Path(p).name for p in task["file_dep"]] == ["saved_model.pb", "variables.index"]


def test_python_source_depends_on_its_weights_file(tmp_path: Path) -> None:
    """`[model.source] weights` is a dependency of the savedmodel task: new weights rebuild it."""
    (tmp_path / "nets.py").write_text("def build(): ...\n")
    (tmp_path / "pretrained.h5").write_bytes(b"h5")
    spec_path = tmp_path / "m.toml"
    spec_path.write_text('[model.source]\ntype = "python"\nentry = "nets:build"\n'
                         'weights = "pretrained.h5"\n[dataset]\ntype = "digits"\n'
                         '[train]\nepochs = 0\n[[variant]]\nname = "f"\n')
    spec = load_spec(spec_path)
    task = next(t for t in all_tasks([spec]) if t["basename"] == "savedmodel" and t.get("name"))
    assert [Path(p).name for p in task["file_dep"]] == ["nets.py", "pretrained.h5", "dataset.npz"]


def test_keras_file_model_depends_on_the_tf_keras_version(tmp_path: Path) -> None:
    """Keras 2 may load a model file, so its version is in the keras_file savedmodel key (only there)."""
    (tmp_path / "net.h5").write_bytes(b"h5")
    spec_path = tmp_path / "m.toml"
    spec_path.write_text('[model.source]\ntype = "keras_file"\npath = "net.h5"\n[[variant]]\nname = "f"\n')
    task = next(t for t in all_tasks([load_spec(spec_path)]) if t["basename"] == "savedmodel" and t.get("name"))
    assert set(task["uptodate"][0].config["tools"]) == {"tensorflow", "keras", "tf_keras"}
    mlp = tasks_of(tmp_path)["savedmodel:digits_mlp"]
    assert set(mlp["uptodate"][0].config["tools"]) == {"tensorflow", "keras"}


def test_loading_the_graph_never_imports_tensorflow(tmp_path: Path) -> None:
    """Building every task dict of the examples imports neither TensorFlow nor Keras."""
    shutil.copytree(REPO / "tests" / "data" / "specs", tmp_path / "modelspecs")
    code = (
        "import sys; from tflmake.graph.tasks import project_tasks;"
        "ns = project_tasks('modelspecs', 'build');"
        "[list(f()) for k, f in ns.items() if k.startswith('task_')];"
        "heavy = [m for m in ('tensorflow', 'keras', 'numpy') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 0, result.stdout + result.stderr


OPTIMIZED = MLP + """
[[variant]]
name = "aeq_int8"
quantize = "int8"
backend = "litert_quantizer"

[[variant]]
name = "pruned_int8"
quantize = "int8"
prune = { sparsity = 0.5 }

[[variant]]
name = "pruned_sparse"
prune = { sparsity = 0.5, encoding = "sparse" }
"""


def test_litert_quantizer_variant_depends_on_the_float32_tflite(tmp_path: Path) -> None:
    """One conversion, many quantizations: the quantizer reads float32.tflite, not the SavedModel."""
    task = tasks_of(tmp_path, OPTIMIZED)["tflite:digits_mlp.aeq_int8"]
    assert task["file_dep"] == ["build/digits_mlp/float32.tflite", "build/digits_mlp/representative.npz"]


def test_variants_with_equal_pruning_share_one_pruned_model(tmp_path: Path) -> None:
    """Same sparsity, schedule and epochs (encoding aside): one prune task, both variants read it."""
    tasks = tasks_of(tmp_path, OPTIMIZED)
    prune = [name for name in tasks if name.startswith("prune:")]
    assert len(prune) == 1
    stamp = tasks[prune[0]]["targets"][0]
    assert stamp.startswith("build/digits_mlp/pruned_") and stamp.endswith("/tflmake_stamp.json")
    assert tasks[prune[0]]["file_dep"] == ["build/digits_mlp/saved_model/tflmake_stamp.json",
                                           "build/digits_mlp/dataset.npz"]
    for name in ("pruned_int8", "pruned_sparse"):
        assert tasks[f"tflite:digits_mlp.{name}"]["file_dep"][0] == stamp


def test_changing_pruning_rebuilds_only_the_pruned_model_and_its_variants(tmp_path: Path) -> None:
    """A new sparsity is a new pruned model; unpruned variants keep their keys and inputs."""
    before = fingerprints(tasks_of(tmp_path, OPTIMIZED))
    edited = OPTIMIZED.replace("prune = { sparsity = 0.5 }", "prune = { sparsity = 0.7 }")
    after = fingerprints(tasks_of(tmp_path, edited))
    changed = {name for name in before if before[name] != after.get(name)}
    assert {name for name in after if name not in before} == {
        next(name for name in after if name.startswith("prune:") and name not in before)}
    assert changed == {"tflite:digits_mlp.pruned_int8", "evaluate:digits_mlp", "manifest:digits_mlp"}


def test_a_task_named_after_each_model_builds_every_task_of_that_model(tmp_path: Path) -> None:
    """`tflmake digits_mlp` has a task to run: one per model, depending on all of its tasks (dataset to report)."""
    (tmp_path / "digits_mlp.toml").write_text(MLP)
    model = [task for task in all_tasks(*load_specs([tmp_path / "digits_mlp.toml"]))
             if task["basename"] == "digits_mlp"]
    assert len(model) == 1 and "name" not in model[0]
    assert sorted(model[0]["task_dep"]) == sorted(tasks_of(tmp_path))


def test_a_model_named_like_a_task_kind_gets_no_task_of_its_own(tmp_path: Path) -> None:
    """A model called `report` leaves `tflmake report` meaning every model's report (no clash in doit)."""
    (tmp_path / "report.toml").write_text(MLP)
    tasks = all_tasks(*load_specs([tmp_path / "report.toml"]))
    assert [task.get("name") for task in tasks if task["basename"] == "report"] == [None, "report"]
    assert all("task_dep" not in task for task in tasks if task["basename"] == "report")


def test_folders_read_hold_every_folder_below_a_data_folder(tmp_path: Path, monkeypatch) -> None:
    """An image added to a class folder, even one that held no image, changes a folder the no-op record holds."""
    from tests.datafixtures import write_image_folder
    from tests.support import write_spec
    from tests.unit.spec.test_datafiles import IMAGE_SPEC
    from tflmake.graph.tasks import folders_read

    monkeypatch.chdir(tmp_path)
    write_image_folder(tmp_path / "images", {"a": 1, "b": 1})
    (tmp_path / "images" / "b" / "extra").mkdir()
    spec = load_spec(write_spec(tmp_path, IMAGE_SPEC))
    assert folders_read(spec) == [".", "images", "images/a", "images/b", "images/b/extra"]


def test_a_build_removes_the_no_op_record_and_a_listing_keeps_it(tmp_path: Path, monkeypatch) -> None:
    """Any run that may build, clean or forget makes the record prove nothing; `list` changes nothing."""
    from tflmake.engine import noop
    from tflmake.graph.tasks import doit_config
    from tflmake.paths import Layout

    monkeypatch.chdir(tmp_path)
    record = Path(noop.record_path("build"))
    record.parent.mkdir()
    record.write_bytes(b"record")
    doit_config(Layout("build"), lock=False)
    assert record.exists()
    doit_config(Layout("build"), lock=True)
    assert not record.exists()
