"""The one small adapter over the engines that run cluster jobs: Dask distributed, or Ray.

An executor URL names the engine and where it runs:
  dask://HOST:PORT   an existing Dask scheduler (workers started with `--resources tflmake=1`)
  dask-local:N       a Dask LocalCluster of N single-threaded worker processes
  ray://HOST:PORT    an existing Ray cluster (Ray Client)
  ray-local:N        a local Ray instance with N CPUs
Each engine does its own scheduling, retries and failure detection; this module
only submits plain functions and yields their results as they finish.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from tflmake.errors import TflmakeError

# One job per worker at a time: a job is a whole model build in a child process.
RESOURCE = "tflmake"

Job = Callable[[dict[str, Any]], dict[str, Any]]


class ExecutorError(TflmakeError):
    """The executor URL is wrong, its engine is not installed, or it cannot be reached."""


@dataclass(frozen=True)
class ExecutorURL:
    """A parsed `--executor` value."""

    engine: str  # "dask" or "ray"
    address: str | None  # scheduler/cluster address, or None for a local cluster
    workers: int = 0  # local clusters only

    @property
    def local(self) -> bool:
        return self.address is None


ENGINES = {"dask": "dask[distributed] (pip install 'tflmake[cluster]')", "ray": "ray (pip install 'tflmake[ray]')"}


def parse_executor(text: str) -> ExecutorURL:
    """`dask://HOST:PORT`, `dask-local:N`, `ray://HOST:PORT` or `ray-local:N` as an ExecutorURL."""
    expected = "expected dask://HOST:PORT, dask-local:N, ray://HOST:PORT or ray-local:N"
    scheme, separator, rest = text.partition(":")
    engine, _, local = scheme.partition("-")
    if not separator or engine not in ENGINES or local not in ("", "local"):
        raise ExecutorError(f"--executor: {expected}; got {text!r}")
    if local:
        if not rest.isdigit() or int(rest) < 1:
            raise ExecutorError(f"--executor: {scheme}:N needs a worker count N >= 1; got {text!r}")
        return ExecutorURL(engine, None, int(rest))
    host, _, port = rest.removeprefix("//").rpartition(":")
    if not rest.startswith("//") or not host or not port.isdigit():
        raise ExecutorError(f"--executor: {expected}; got {text!r}")
    return ExecutorURL(engine, rest.removeprefix("//"))


class Executor(Protocol):
    """Runs a job function on payloads somewhere; yields (payload index, result) as each finishes."""

    def run(self, job: Job, payloads: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]: ...

    def close(self) -> None: ...


def open_executor(url: ExecutorURL) -> Executor:
    """Connect to (or start) the engine `url` names."""
    if url.engine == "dask":
        return DaskExecutor(url)
    return RayExecutor(url)


def stamped(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with its submit time (a job reports its start: the difference is the engine's overhead)."""
    return {**payload, "submitted": time.time()}


def failed(error: BaseException) -> dict[str, Any]:
    """The result of a job the engine could not run (worker lost, job not deserializable, ...)."""
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    return {"ok": False, "message": f"the cluster could not run the job: {text}"}


@contextlib.contextmanager
def environment_kept() -> Iterator[None]:
    """Undo what starting a local Dask cluster writes into this process's environment.

    Dask's nannies set OMP_NUM_THREADS=1, MKL_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, a random
    PYTHONHASHSEED and more in `os.environ` to hand them to the worker processes they spawn; the
    driver's own later steps and the processes it starts must not inherit them.
    """
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class DaskExecutor:
    """Jobs as Dask futures, each needing the worker resource `tflmake=1`."""

    def __init__(self, url: ExecutorURL) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError(f"--executor dask: needs {ENGINES['dask']}") from None
        self.cluster = None
        try:
            if url.local:
                with environment_kept():
                    self.cluster = LocalCluster(n_workers=url.workers, threads_per_worker=1, processes=True,
                                                resources={RESOURCE: 1}, dashboard_address=None)
                self.client = Client(self.cluster)
            else:
                self.client = Client(f"tcp://{url.address}", timeout="10s")
        except OSError as error:
            raise ExecutorError(f"--executor: cannot reach the Dask scheduler at {url.address}: {error}") from None
        if not url.local:
            self._check_resource(url)

    def _check_resource(self, url: ExecutorURL) -> None:
        """Refuse a cluster with no worker offering the resource: its jobs would wait forever."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        if not any(worker.get("resources", {}).get(RESOURCE) for worker in workers.values()):
            self.close()
            raise ExecutorError(f"--executor: no worker of the Dask scheduler at {url.address} offers the "
                                f"resource {RESOURCE} (start workers with `dask worker --resources {RESOURCE}=1`)")

    def run(self, job: Job, payloads: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
        from distributed import as_completed

        # pure=False: two equal payloads are still two jobs; retries=0: a failed job builds locally instead.
        futures = [self.client.submit(job, stamped(payload), resources={RESOURCE: 1}, pure=False, retries=0)
                   for payload in payloads]
        index = {future.key: number for number, future in enumerate(futures)}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as error:  # the engine's own failure (lost worker, ...), not the job's
                result = failed(error)
            yield index[future.key], result

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


class RayExecutor:
    """Jobs as Ray tasks, each taking one CPU and the custom resource `tflmake` where workers offer it."""

    def __init__(self, url: ExecutorURL) -> None:
        try:
            import ray
        except ImportError:
            raise ExecutorError(f"--executor ray: needs {ENGINES['ray']}") from None
        self.ray = ray
        try:
            if url.local:
                ray.init(num_cpus=url.workers, resources={RESOURCE: url.workers}, include_dashboard=False,
                         log_to_driver=False, logging_level=logging.ERROR)
            else:
                _connect_ray_client(ray, url.address or "")
        except (ConnectionError, OSError, RuntimeError) as error:
            raise ExecutorError(f"--executor: cannot start or reach Ray at {url.address or 'local'}: "
                                f"{str(error).splitlines()[0]}{_auth_hint(url)}") from None
        if not ray.cluster_resources().get(RESOURCE):  # its jobs would wait forever
            self.close()
            raise ExecutorError(f"--executor: no node of the Ray cluster at {url.address} offers the resource "
                                f"{RESOURCE} (start nodes with `ray start --resources '{{\"{RESOURCE}\": 1}}'`)")

    def run(self, job: Job, payloads: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
        remote = self.ray.remote(num_cpus=1, resources={RESOURCE: 1}, max_retries=0)(job)
        pending = {remote.remote(stamped(payload)): number for number, payload in enumerate(payloads)}
        while pending:
            [done], _ = self.ray.wait(list(pending), num_returns=1)
            number = pending.pop(done)
            try:
                result = self.ray.get(done)
            except Exception as error:
                result = failed(error)
            yield number, result

    def close(self) -> None:
        self.ray.shutdown()


# Ray Client's server refuses a client now and then while it starts the client's own server process,
# with "Initialization failure from server" and no reason (seen on a busy 2-core machine, a head started
# seconds before); the next attempt connects.
RAY_CLIENT_ATTEMPTS = 3


def _connect_ray_client(ray: Any, address: str) -> None:
    """`ray.init` through Ray Client, again after a refused initialisation (up to RAY_CLIENT_ATTEMPTS)."""
    for attempt in range(1, RAY_CLIENT_ATTEMPTS + 1):
        try:
            ray.init(address=f"ray://{address}", log_to_driver=False, logging_level=logging.ERROR)
            return
        except ConnectionAbortedError as error:
            if attempt == RAY_CLIENT_ATTEMPTS or "Initialization failure from server" not in str(error):
                raise
            with contextlib.suppress(Exception):
                ray.shutdown()
            time.sleep(attempt)


def _auth_hint(url: ExecutorURL) -> str:
    """Ray 2.59+ starts clusters with token authentication, and Ray Client then just times out without it."""
    if url.local or os.environ.get("RAY_AUTH_MODE") == "token":
        return ""
    return (" (a cluster with token authentication, the default of `ray start` since Ray 2.59, needs "
            "RAY_AUTH_MODE=token and its token, in RAY_AUTH_TOKEN or ~/.ray/auth_token, on the driver)")
