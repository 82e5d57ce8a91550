"""Which files a model's cluster job needs: its spec and every user file its tasks read.

Pure (no I/O beyond path arithmetic): a job carries paths relative to the
project folder, so a worker rebuilds the same layout in a temporary folder and
the cache keys (which name inputs relative to the spec's folder) come out equal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tflmake.cache.key import TaskFacts
from tflmake.errors import TflmakeError
from tflmake.graph.tasks import input_files
from tflmake.spec.load import ModelSpec


class PlanError(TflmakeError):
    """A model cannot be built on the cluster (it is built locally instead)."""


@dataclass(frozen=True)
class StaleModel:
    """A model with stale cacheable tasks, and the cacheable tasks a worker should build."""

    spec: ModelSpec
    tasks: tuple[str, ...]
    stale: tuple[TaskFacts, ...] = ()  # the stale ones as the cache sees them (looked up before submitting)


@dataclass(frozen=True)
class JobPlan:
    """One model's job: the files to ship (project-relative POSIX path -> local path) and the tasks."""

    model: str
    spec_file: str  # project-relative
    files: dict[str, str]
    tasks: tuple[str, ...]


def plan_job(model: StaleModel, project: str = ".") -> JobPlan:
    """The job of one stale model; PlanError when a file it needs lies outside `project`."""
    spec = model.spec
    paths = [spec.spec_path, *input_files(spec)]
    files = {inside_project(path, project, spec.spec_path): path for path in paths}
    return JobPlan(spec.name, inside_project(spec.spec_path, project, spec.spec_path), files, model.tasks)


def inside_project(path: str, project: str, spec_path: str) -> str:
    """`path` relative to the project folder (POSIX); PlanError when it leads outside."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(project))
    if relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative):
        raise PlanError(f"{spec_path}: {path} is outside the project folder {os.path.abspath(project)}; "
                        "a cluster job ships only files inside it")
    return Path(relative).as_posix()


def specs_folder(specs_dir: str, project: str = ".") -> str:
    """The specs folder relative to the project (workers pass it as --specs)."""
    return inside_project(specs_dir, project, specs_dir)
