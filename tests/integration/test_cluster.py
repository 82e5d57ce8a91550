"""Cluster builds end to end on a real Dask cluster (issue 13, section 3 (j) and (k)).

(j) 20 specs built with `--executor dask-local:2` into a fresh folder cache (and
4 of them into a bucket on a real S3 server, and with `ray-local:2`):
the driver's build restores every cacheable task, and every deterministic
artifact equals a serial build's bytes (a fresh cluster: the workers' threads
must not change trained weights).
(k) A worker whose environment has another TensorFlow (its package metadata
says 2.0.0: a real `dask worker` process started with a fake `.dist-info` first
on its PYTHONPATH) fails each job with one line and publishes nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.integration.test_cache import cache_files, restored
from tests.s3server import S3Server
from tests.support import TINY_SPEC, CacheLocation, DoitRun, Project, make_project
from tests.twentymodels import CACHED_PER_MODEL, UNITS, spec_text
from tflmake.cache.config import LOCAL_DIR_ENV

pytestmark = pytest.mark.integration

# (j) asks for 20 specs: the folder-cache Dask case builds all of them, the S3 and Ray cases the first four.
ALL_MODELS = {name: spec_text(name) for name in UNITS}
MODELS = dict(list(ALL_MODELS.items())[:4])


def project_with_specs(root: Path, location: CacheLocation | None, models: dict[str, str] = MODELS) -> Project:
    """A project with `models` (name: spec text), its shared cache at `location` (or none)."""
    project = make_project(root, dodo=False)
    for name, text in models.items():
        project.add_spec(name, text)
    if location is not None:
        table: dict[str, Any] = {"url": location.url, "mode": "read-write"}
        if location.storage_options:
            table["storage-options"] = location.storage_options
        (root / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"tflmake": {"cache": table}}}))
    return project


@pytest.fixture(scope="module", params=[("folder", "dask-local:2", ALL_MODELS), ("s3", "dask-local:2", MODELS),
                                        ("folder", "ray-local:2", MODELS)],
                ids=["dask-folder", "dask-s3", "ray-folder"])
def clustered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Project, CacheLocation, DoitRun]:
    """The specs built with --executor dask-local:2 (a fresh LocalCluster) or ray-local:2 into fresh caches."""
    storage, executor, models = request.param
    if executor.startswith("ray"):
        pytest.importorskip("ray", reason="Ray is optional (pip install 'tflmake[ray]')")
    root = tmp_path_factory.mktemp(f"cluster-{storage}")
    if storage == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        location = CacheLocation(f"s3://{server.new_bucket()}", server.storage_options)
    else:
        location = CacheLocation((root / "cache").as_posix(), {})
    project = project_with_specs(root / "project", location, models)
    # A local cache of its own: the module's holds what an earlier case built, and the driver would restore
    # those models from it instead of submitting their jobs.
    local = {LOCAL_DIR_ENV: (root / "local-cache").as_posix()}
    return project, location, project.tflmake("--executor", executor, timeout=1800, env=local)


def test_cluster_jobs_fill_the_cache_and_the_driver_restores(clustered: tuple[Project, CacheLocation, DoitRun]
                                                             ) -> None:
    """(j) One job per model, each reported as it finishes; the driver builds no cacheable task itself."""
    project, location, run = clustered
    models = built_models(project)
    assert run.returncode == 0, run.output
    assert re.search(rf"^cluster: 0 of {len(models)} models restore from the cache \({CACHED_PER_MODEL * len(models)} "
                     r"tasks looked up in [0-9.]+ s; 0 hits in the local cache, 0 in the shared one\); "
                     rf"{len(models)} jobs submitted to (dask|ray)-local:2 \(files shipped in ", run.output,
                     re.MULTILINE)
    done = re.findall(r"^cluster: (\w+) done on \S+ in [0-9.]+ s \((\d+) of (\d+)\)$", run.output, re.MULTILINE)
    assert sorted(model for model, _, _ in done) == models
    assert [int(count) for _, count, _ in done] == list(range(1, len(models) + 1))  # as they finish
    assert len(restored(run)) == CACHED_PER_MODEL * len(models), run.output
    assert re.search(rf"^tflmake: \d+ built, {CACHED_PER_MODEL * len(models)} restored from cache, 0 up to date, "
                     r"0 failed", run.output, re.MULTILINE)
    entries = [name for name in cache_files(location) if name.startswith("ac/")]
    assert len(entries) == CACHED_PER_MODEL * len(models)


def built_models(project: Project) -> list[str]:
    """The models a cluster case built (20 or 4), sorted."""
    return sorted(path.stem for path in project.specs.glob("*.toml"))


def test_cluster_build_equals_the_serial_build(clustered: tuple[Project, CacheLocation, DoitRun],
                                               serial_twenty: Project) -> None:
    """(j) Every artifact of every model is byte-identical to the serial build's; reports but for latency."""
    project, _, _ = clustered
    for model in built_models(project):
        mine, theirs = serial_twenty.build / model, project.build / model
        names = sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*") if p.is_file())
        assert names == sorted(p.relative_to(theirs).as_posix() for p in theirs.rglob("*") if p.is_file())
        differing = [name for name in names if (mine / name).read_bytes() != (theirs / name).read_bytes()]
        assert set(differing) <= SERIALISED_PER_PROCESS | {"manifest.json", "report.json", "report.md"}, \
            (model, differing)
        assert "saved_model/keras.weights.h5" in names and "saved_model/tflmake_stamp.json" in names
        assert manifest_without(mine) == manifest_without(theirs)
        assert measured_removed(json.loads((mine / "report.json").read_text())) == \
            measured_removed(json.loads((theirs / "report.json").read_text()))
        latency = re.compile(r"[0-9.]+ [µm]s")  # this run's measurement, and the bold marking the fastest
        assert latency.sub("?", (mine / "report.md").read_text()).replace("**", "") == \
            latency.sub("?", (theirs / "report.md").read_text()).replace("**", "")


# TensorFlow's serialisation of a SavedModel, not its content: the weights (keras.weights.h5, and
# tflmake_stamp.json holding their hash) must match. Measured: a second model exported in one process
# gets other function names, and one more environment variable reorders the graph's variable nodes
# (saved_model.pb and the object graph in variables/); fingerprint.pb is new on every export.
SERIALISED_PER_PROCESS = {"saved_model/saved_model.pb", "saved_model/fingerprint.pb",
                          "saved_model/variables/variables.index",
                          "saved_model/variables/variables.data-00000-of-00001"}


def manifest_without(model_dir: Path) -> Any:
    """manifest.json without the sha256 of the files above."""
    def drop(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: drop(v) for k, v in value.items() if k not in SERIALISED_PER_PROCESS}
        return [drop(v) for v in value] if isinstance(value, list) else value
    return drop(json.loads((model_dir / "manifest.json").read_text()))


def measured_removed(value: Any) -> Any:
    """report.json without latency figures (this machine's, this run's) and file paths."""
    if isinstance(value, dict):
        return {k: measured_removed(v) for k, v in value.items() if "latency" not in k and k != "path"}
    if isinstance(value, list):
        return [measured_removed(v) for v in value]
    return value


def test_after_a_cluster_build_all_is_up_to_date(clustered: tuple[Project, CacheLocation, DoitRun]) -> None:
    """(j) `tflmake status` finds nothing stale, and a second cluster run submits no job."""
    project, _, _ = clustered
    status = project.tflmake("status")
    assert status.returncode == 0, status.output
    again = project.tflmake("--executor", "dask-local:2")  # no engine starts when nothing is stale
    assert again.returncode == 0 and again.executed == [], again.output
    assert "cluster: no stale cacheable tasks; nothing submitted" in again.output
    assert "jobs submitted" not in again.output


def test_a_fresh_checkout_submits_only_the_models_the_cache_lacks(
        clustered: tuple[Project, CacheLocation, DoitRun], request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """(issue 13, section 2) The driver looks the cache up before submitting. A fresh checkout elsewhere
    (two of the models): nothing submitted, no engine started, every cacheable task restored; one with a
    spec changed: exactly that model's job, then the driver restores both models."""
    executor = request.node.callspec.params["clustered"][1]
    _, location, first = clustered
    assert first.returncode == 0, first.output
    models = {name: MODELS[name] for name in ("mlp12", "mlp13")}
    cached = CACHED_PER_MODEL * len(models)
    root = tmp_path_factory.mktemp("fresh")

    whole = project_with_specs(root / "whole", location, models)
    run = whole.tflmake("--executor", executor)
    assert run.returncode == 0, run.output
    assert re.search(rf"^cluster: 2 of 2 models restore from the cache \({cached} tasks looked up in [0-9.]+ s; "
                     rf"0 hits in the local cache, {cached} in the shared one\); nothing submitted$", run.output,
                     re.MULTILINE), run.output
    assert "submitted to" not in run.output and " done on " not in run.output
    assert len(restored(run)) == cached, run.output
    assert re.search(rf"^tflmake: \d+ built, {cached} restored from cache, 0 up to date, 0 failed", run.output,
                     re.MULTILINE), run.output

    # Other calibration samples: mlp13's representative, int8 .tflite and C array are not in the cache. The
    # build above put both models' entries into the local cache: mlp12's 6 and mlp13's 3 others hit there.
    changed = project_with_specs(root / "changed", location, models)
    changed.add_spec("mlp13", spec_text("mlp13").replace("samples = 50", "samples = 40"))
    run = changed.tflmake("--executor", executor)
    assert run.returncode == 0, run.output
    assert re.search(rf"^cluster: 1 of 2 models restore from the cache \({cached} tasks looked up in [0-9.]+ s; "
                     rf"9 hits in the local cache, 0 in the shared one\); 1 job submitted to {executor} \(",
                     run.output, re.MULTILINE), run.output
    done = re.findall(r"^cluster: (\w+) done on \S+ in [0-9.]+ s \((\d+) of (\d+)\)$", run.output, re.MULTILINE)
    assert done == [("mlp13", "1", "1")], run.output
    assert len(restored(run)) == cached, run.output


def test_a_model_the_local_cache_holds_gets_no_job(tmp_path: Path) -> None:
    """An option changed and changed back between cluster builds: the local cache holds the model as first
    built (the shared cache here is a new, empty one), so the driver restores it and submits no job; the
    outputs equal the first build's byte for byte, and the shared cache gets the restored entries."""
    project = make_project(tmp_path / "project", dodo=False)
    spec = project.add_spec("tiny", TINY_SPEC)

    def cluster_build(shared: Path) -> DoitRun:
        run = project.tflmake("--executor", "dask-local:1", "--cache-url", shared.as_posix(),
                              "--cache-mode", "read-write")
        assert run.returncode == 0, run.output
        return run

    first = cluster_build(tmp_path / "shared")
    assert "1 job submitted to dask-local:1" in first.output, first.output
    outputs = {path.relative_to(project.build).as_posix(): path.read_bytes()
               for path in (project.build / "tiny").rglob("*") if path.is_file()}
    spec.write_text(TINY_SPEC.replace("epochs = 2", "epochs = 3"))
    changed = cluster_build(tmp_path / "shared")
    assert "1 job submitted to dask-local:1" in changed.output, changed.output
    spec.write_text(TINY_SPEC)

    back = cluster_build(tmp_path / "new-shared")
    assert re.search(r"^cluster: 1 of 1 models restore from the cache \(2 tasks looked up in [0-9.]+ s; 2 hits in "
                     r"the local cache, 0 in the shared one\); nothing submitted$", back.output, re.MULTILINE), \
        back.output
    assert "submitted to" not in back.output and " done on " not in back.output
    assert sorted(restored(back)) == ["savedmodel:tiny", "tflite:tiny.float32"], back.output
    assert "tflmake: 4 built, 2 restored from cache, 1 up to date, 0 failed" in back.output, back.output
    for name in ("float32.tflite", "saved_model/keras.weights.h5", "saved_model/tflmake_stamp.json",
                 "saved_model/saved_model.pb", "dataset.npz"):
        assert (project.build / "tiny" / name).read_bytes() == outputs[f"tiny/{name}"], name
    entries = cache_files(CacheLocation((tmp_path / "new-shared").as_posix(), {}))
    assert sorted(name.split("/")[1] for name in entries if name.startswith("ac/")) == ["savedmodel", "tflite"]


# (k) ------------------------------------------------------------------------------------------------

@pytest.fixture
def scheduler_with_old_tensorflow_worker(tmp_path: Path) -> Iterator[str]:
    """A Dask scheduler and one `dask worker --resources tflmake=1` whose metadata says tensorflow 2.0.0."""
    from distributed import Client, LocalCluster

    fake = tmp_path / "fake-site"
    (fake / "tensorflow-2.0.0.dist-info").mkdir(parents=True)
    (fake / "tensorflow-2.0.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tensorflow\nVersion: 2.0.0\n")
    cluster = LocalCluster(n_workers=0, processes=True, dashboard_address=None, scheduler_port=0)
    path = os.pathsep.join(filter(None, [str(fake), os.environ.get("PYTHONPATH")]))
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address, "--nthreads", "1",
         "--nworkers", "1", "--resources", "tflmake=1", "--no-dashboard"],
        env={**os.environ, "PYTHONPATH": path}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with Client(cluster) as client:
            client.wait_for_workers(1, timeout=120)
        yield cluster.scheduler_address.removeprefix("tcp://")
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        cluster.close()


def test_a_worker_with_another_tensorflow_publishes_nothing(
        scheduler_with_old_tensorflow_worker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(k) The job fails with one line naming both versions, and the cache holds no entry afterwards."""
    from tflmake.cache.config import CacheConfig
    from tflmake.cluster.driver import fill_cache
    from tflmake.cluster.plan import StaleModel
    from tflmake.engine.toolversions import tool_version
    from tflmake.spec.load import load_spec

    location = CacheLocation((tmp_path / "cache").as_posix(), {})
    project = project_with_specs(tmp_path / "project", location, {"tiny": spec_text("mlp16")})
    monkeypatch.chdir(project.root)
    tasks = ("dataset:tiny", "savedmodel:tiny", "representative:tiny", "tflite:tiny.float32", "tflite:tiny.int8",
             "carray:tiny.int8")
    lines: list[str] = []
    results = fill_cache(f"dask://{scheduler_with_old_tensorflow_worker}",
                         [StaleModel(load_spec("modelspecs/tiny.toml"), tasks)],
                         CacheConfig(url=location.url, mode="read-write"), "modelspecs", lines.append)
    expected = f"worker has tensorflow 2.0.0, driver {tool_version('tensorflow')}"
    assert results["tiny"]["ok"] is False and results["tiny"]["message"] == expected
    assert f"cluster: tiny: {expected}; building it locally (1 of 1)" in lines
    assert not [name for name in cache_files(location) if name.startswith("ac/")]

    # Through the command: the same line, then the model builds locally (and the driver publishes it).
    run = project.tflmake("--executor", f"dask://{scheduler_with_old_tensorflow_worker}")
    assert run.returncode == 0, run.output
    assert f"cluster: tiny: {expected}; building it locally (1 of 1)" in run.output.splitlines()
    assert re.search(r"^tflmake: \d+ built, 0 restored from cache", run.output, re.MULTILINE)


def test_an_unreachable_scheduler_or_a_cluster_without_the_resource_is_one_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No scheduler on the port, or no worker offering `tflmake`: one warning each, no job, the build goes on."""
    from distributed import LocalCluster

    from tests.s3server import free_port
    from tflmake.cache.config import CacheConfig
    from tflmake.cluster.driver import fill_cache
    from tflmake.cluster.executor import environment_kept
    from tflmake.cluster.plan import StaleModel
    from tflmake.spec.load import load_spec

    project = project_with_specs(tmp_path / "project", None, {"tiny": spec_text("mlp16")})
    monkeypatch.chdir(project.root)
    models = [StaleModel(load_spec("modelspecs/tiny.toml"), ("dataset:tiny",))]
    config = CacheConfig(url=(tmp_path / "cache").as_posix(), mode="read-write")
    lines: list[str] = []
    assert fill_cache(f"dask://127.0.0.1:{free_port()}", models, config, "modelspecs", lines.append) == {}
    assert len(lines) == 1 and lines[0].startswith("tflmake: warning: --executor: cannot reach the Dask scheduler")
    assert lines[0].endswith("; building without the cluster")
    with environment_kept(), LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                          dashboard_address=None) as plain:
        lines.clear()
        assert fill_cache(f"dask://{plain.scheduler_address.removeprefix('tcp://')}", models, config, "modelspecs",
                          lines.append) == {}
    assert lines == [f"tflmake: warning: --executor: no worker of the Dask scheduler at "
                     f"{plain.scheduler_address.removeprefix('tcp://')} offers the resource tflmake (start workers "
                     "with `dask worker --resources tflmake=1`); building without the cluster"]


def test_a_local_dask_cluster_leaves_the_driver_environment_as_it_was() -> None:
    """Dask's nannies write OMP_NUM_THREADS, a random PYTHONHASHSEED, ... into os.environ for the workers they
    spawn; the driver's later steps and children must not inherit them."""
    from tflmake.cluster.executor import DaskExecutor, parse_executor

    before = dict(os.environ)
    executor = DaskExecutor(parse_executor("dask-local:1"))
    try:
        after = dict(os.environ)
    finally:
        executor.close()
    assert {name: value for name, value in after.items() if before.get(name) != value} == {}
    assert set(before) - set(after) == set()
