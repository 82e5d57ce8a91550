"""Cluster jobs on one warm process per cluster worker (issue 21, section 3).

Two models built with `--executor dask-local:1`: both jobs run on the one Dask
worker, whose warm build worker (started by the first job) serves the
TensorFlow steps of both, and exits when the Dask worker does; the artifacts
equal a serial build's bytes (but TensorFlow's per-process SavedModel files).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.integration.test_cluster import MODELS, SERIALISED_PER_PROCESS, manifest_without, project_with_specs
from tests.support import CacheLocation, Project

pytestmark = pytest.mark.integration

TWO = {name: MODELS[name] for name in ("mlp12", "mlp13")}


def test_two_jobs_share_one_warm_worker_and_build_the_serial_bytes(tmp_path: Path, serial_twenty: Project) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    location = CacheLocation((tmp_path / "cache").as_posix(), {})
    project = project_with_specs(tmp_path / "cluster", location, TWO)
    run = project.tflmake("--executor", "dask-local:1", timeout=900, env={"TMPDIR": str(temporary)})
    assert run.returncode == 0, run.output
    done = re.findall(r"^cluster: (\w+) done on (\S+) in", run.output, re.MULTILINE)
    assert sorted(model for model, _ in done) == sorted(TWO) and len({where for _, where in done}) == 1, run.output

    folders = list(temporary.glob("tflmake-cluster-*"))
    assert len(folders) == 1, folders  # one folder for the one Dask worker process
    log = folders[0] / "project" / "build" / "worker.log"
    deadline = time.monotonic() + 30
    while "exiting" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)  # the Dask worker has exited with the driver; its warm worker follows within a second
    text = log.read_text()
    assert text.count("serving") == 1, text  # TensorFlow imported once for both jobs
    served = re.search(r"exiting: its owner \(pid \d+, a cluster worker\) exited \(served (\d+) steps\)", text)
    assert served, text
    # dataset, savedmodel and two tflite steps per model (the TensorFlow steps of the cacheable tasks)
    assert int(served.group(1)) == 4 * len(TWO), text

    for model in TWO:
        mine, theirs = serial_twenty.build / model, project.build / model
        names = sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*") if p.is_file())
        differing = [name for name in names if (mine / name).read_bytes() != (theirs / name).read_bytes()]
        assert set(differing) <= SERIALISED_PER_PROCESS | {"manifest.json", "report.json", "report.md"}, \
            (model, differing)
        assert manifest_without(mine) == manifest_without(theirs)
