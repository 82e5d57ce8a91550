"""Where a cluster job builds (issue 21 §3): every job of a cluster worker process in that process's own
folder, emptied but for the warm worker's files; a job that finds the folder taken in a temporary one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tflmake.cluster import job


@pytest.fixture(autouse=True)
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(job.tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv(job.WARM_ENV, raising=False)
    return tmp_path


WARM_FILES = (".worker.sock", ".worker.json", ".worker.lock", ".worker-1.sock", ".worker-1.json", ".worker-1.lock",
              "worker.log")


def test_jobs_of_one_process_build_in_its_folder_which_keeps_only_the_warm_workers_files() -> None:
    with job.job_project() as (project, warm):
        assert warm and Path(project) == job.worker_folder() / "project"
        (Path(project) / "modelspecs").mkdir()
        (Path(project) / "modelspecs" / "m.toml").write_text("x")
        (Path(project) / job.BUILD_DIR / "m").mkdir(parents=True)
        for name in WARM_FILES:
            (Path(project) / job.BUILD_DIR / name).write_text("warm")
    with job.job_project() as (again, warm):
        assert warm and again == project
        assert sorted(p.name for p in Path(project).rglob("*")) == sorted([job.BUILD_DIR, *WARM_FILES])
    assert oct(job.worker_folder().stat().st_mode & 0o777) == "0o700"


def test_a_second_job_at_once_builds_in_a_temporary_folder_without_a_worker() -> None:
    with job.job_project() as (first, warm), job.job_project() as (second, second_warm):
        assert warm and not second_warm and second != first and Path(second).is_dir()


def test_the_variable_turns_the_warm_folder_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(job.WARM_ENV, "0")
    with job.job_project() as (project, warm):
        assert not warm and Path(project).parent != job.worker_folder()


def test_folders_of_exited_cluster_workers_are_swept(temporary: Path) -> None:
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                            text=True, check=True)
    dead = temporary / f"tflmake-cluster-{os.getuid()}-{exited.stdout.strip()}"
    (dead / "project").mkdir(parents=True)
    with job.job_project():
        pass
    assert not dead.exists() and job.worker_folder().exists()


def test_tensorflow_gets_at_most_the_cores_of_this_process() -> None:
    assert 1 <= job.thread_share() <= (os.cpu_count() or 1)
