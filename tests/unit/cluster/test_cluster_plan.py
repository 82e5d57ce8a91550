"""Job planning: which files a model's job ships, by project-relative path, and what stays local."""

from __future__ import annotations

from pathlib import Path

import pytest

from tflmake.cluster.plan import PlanError, StaleModel, plan_job, specs_folder
from tflmake.spec.load import load_spec

MODEL = """
[model.source]
type = "layers"
input_shape = [2, 1]
layers = [{ type = "Flatten" }, { type = "Dense", units = 2, activation = "softmax" }]

[train]
epochs = 1

[[variant]]
name = "float32"
"""
CSV = '[dataset]\ntype = "csv"\npath = "{path}"\ncolumns = ["ax"]\nlabel_column = "label"\nwindow = 2\n'


def stale(folder: Path, dataset: str, tasks: tuple[str, ...] = ("dataset:imu", "savedmodel:imu")) -> StaleModel:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "imu.toml").write_text(MODEL + dataset)
    return StaleModel(load_spec(folder / "imu.toml"), tasks)


def test_job_ships_the_spec_and_the_files_it_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec text and its data file, by path relative to the project; the tasks as given."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "modelspecs").mkdir()
    (tmp_path / "modelspecs" / "imu.csv").write_text("ax,label\n1,0\n2,0\n")
    plan = plan_job(stale(Path("modelspecs"), CSV.format(path="imu.csv")))
    assert plan.model == "imu" and plan.spec_file == "modelspecs/imu.toml"
    assert sorted(plan.files) == ["modelspecs/imu.csv", "modelspecs/imu.toml"]
    assert Path(plan.files["modelspecs/imu.csv"]).read_text().startswith("ax,label")
    assert plan.tasks == ("dataset:imu", "savedmodel:imu")


def test_files_beside_the_specs_folder_keep_their_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data file in ../data from the specs folder ships as data/..., so the worker's spec finds it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "imu.csv").write_text("ax,label\n1,0\n2,0\n")
    plan = plan_job(stale(Path("modelspecs"), CSV.format(path="../data/imu.csv")))
    assert sorted(plan.files) == ["data/imu.csv", "modelspecs/imu.toml"]


def test_a_file_outside_the_project_keeps_the_model_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data file outside the project folder cannot be placed on a worker: one line naming spec and file."""
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("ax,label\n1,0\n2,0\n")
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    model = stale(Path("modelspecs"), CSV.format(path=outside.as_posix()))
    with pytest.raises(PlanError, match=r"^modelspecs/imu.toml: .*elsewhere.csv is outside the project folder"):
        plan_job(model)


def test_specs_folder_is_project_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert specs_folder(str(tmp_path / "specs" / "models")) == "specs/models"
    with pytest.raises(PlanError):
        specs_folder("../specs")
