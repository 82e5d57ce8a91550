"""`--executor ray://HOST:PORT` against a Ray cluster started apart from the build (`ray start --head`).

The head runs in its own processes on loopback, as a team's cluster would on
other machines: the driver reaches it only through Ray Client. Since Ray 2.59
`ray start` turns token authentication on, so the driver needs RAY_AUTH_MODE=token
(the token itself is in ~/.ray/auth_token, written by `ray start`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_cache import cache_files, restored
from tests.integration.test_cluster import project_with_specs
from tests.s3server import free_port
from tests.support import CacheLocation
from tests.twentymodels import CACHED_PER_MODEL, spec_text

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """A Ray head node with one CPU offering the `tflmake` resource; yields its Ray Client address."""
    pytest.importorskip("ray", reason="Ray is optional (pip install 'tflmake[ray]')")
    ray = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    assert ray, "the ray command comes with the ray package"
    client_port = free_port()
    started = subprocess.run(
        [ray, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={free_port()}",
         f"--ray-client-server-port={client_port}", "--num-cpus=1", '--resources={"tflmake": 1}',
         "--include-dashboard=false", "--disable-usage-stats"],
        capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stdout + started.stderr
    # Ray Client's server can refuse the first clients while the head settles ("Initialization failure
    # from server"): connect once (retrying) before the tests do.
    probe = f"import ray; ray.init(address='ray://127.0.0.1:{client_port}'); ray.shutdown()"
    for _ in range(3):
        if subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120,
                          env={**os.environ, "RAY_AUTH_MODE": "token"}).returncode == 0:
            break
    try:
        yield f"127.0.0.1:{client_port}"
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=120)


def test_a_started_ray_cluster_fills_the_cache(ray_head: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job runs on the cluster's worker, the driver restores every cacheable task from the cache it filled."""
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    location = CacheLocation((tmp_path / "cache").as_posix(), {})
    project = project_with_specs(tmp_path / "project", location, {"tiny": spec_text("mlp16")})
    run = project.tflmake("--executor", f"ray://{ray_head}")
    assert run.returncode == 0, run.output
    assert re.search(rf"^cluster: 0 of 1 models restore from the cache \({CACHED_PER_MODEL} tasks looked up in "
                     r"[0-9.]+ s; 0 hits in the local cache, 0 in the shared one\); "
                     rf"1 job submitted to ray://{re.escape(ray_head)} ", run.output, re.MULTILINE), run.output
    assert re.search(r"^cluster: tiny done on \S+ in [0-9.]+ s \(1 of 1\)$", run.output, re.MULTILINE), run.output
    assert len(restored(run)) == CACHED_PER_MODEL, run.output
    assert len([name for name in cache_files(location) if name.startswith("ac/")]) == CACHED_PER_MODEL


def test_a_ray_cluster_with_token_authentication_says_what_the_driver_lacks(
        ray_head: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without RAY_AUTH_MODE=token Ray Client only times out: one warning says why, the model builds locally."""
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    # Ray Client's own connection timeouts (5 s, doubling up to 30 s, three attempts: 33 s of waiting) cut short.
    monkeypatch.setenv("RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S", "1")
    monkeypatch.setenv("RAY_CLIENT_MAX_CONNECTION_TIMEOUT_S", "2")
    location = CacheLocation((tmp_path / "cache").as_posix(), {})
    project = project_with_specs(tmp_path / "project", location, {"tiny": spec_text("mlp16")})
    run = project.tflmake("--executor", f"ray://{ray_head}")
    assert run.returncode == 0, run.output
    warnings = [line for line in run.output.splitlines() if line.startswith("tflmake: warning: --executor")]
    assert len(warnings) == 1 and "needs RAY_AUTH_MODE=token" in warnings[0], run.output
    assert warnings[0].endswith("; building without the cluster")
    assert re.search(r"^tflmake: \d+ built, 0 restored from cache", run.output, re.MULTILINE), run.output
