"""Executor URLs: the engines and forms `--executor` accepts, and one-line errors for the rest."""

from __future__ import annotations

import sys
import types

import pytest

from tflmake.cluster import executor
from tflmake.cluster.executor import ExecutorError, ExecutorURL, RayExecutor, parse_executor


@pytest.mark.parametrize(("text", "parsed"), [
    ("dask://scheduler.example:8786", ExecutorURL("dask", "scheduler.example:8786")),
    ("dask://10.0.0.5:8786", ExecutorURL("dask", "10.0.0.5:8786")),
    ("dask-local:2", ExecutorURL("dask", None, 2)),
    ("ray://head:10001", ExecutorURL("ray", "head:10001")),
    ("ray-local:4", ExecutorURL("ray", None, 4)),
])
def test_executor_urls_name_engine_and_address(text: str, parsed: ExecutorURL) -> None:
    """Each documented form parses to its engine, address (None for a local cluster) and worker count."""
    assert parse_executor(text) == parsed
    assert parsed.local == (parsed.address is None)


@pytest.mark.parametrize(("text", "message"), [
    ("dask-loca:2", "expected dask://HOST:PORT, dask-local:N, ray://HOST:PORT or ray-local:N; got 'dask-loca:2'"),
    ("spark://host:7077", "expected dask://HOST:PORT"),
    ("dask", "expected dask://HOST:PORT"),
    ("dask://host", "expected dask://HOST:PORT"),
    ("dask:host:8786", "expected dask://HOST:PORT"),
    ("dask-local:0", "dask-local:N needs a worker count N >= 1; got 'dask-local:0'"),
    ("ray-local:two", "ray-local:N needs a worker count N >= 1"),
])
def test_bad_executor_urls_fail_with_one_line(text: str, message: str) -> None:
    """A typo in the engine, a missing port or worker count is an error quoting the value."""
    with pytest.raises(ExecutorError, match="^--executor: ") as raised:
        parse_executor(text)
    assert message in str(raised.value) and "\n" not in str(raised.value)


class RefusingRay(types.ModuleType):
    """A `ray` module whose Ray Client refuses the first `refusals` initialisations as Ray's does."""

    def __init__(self, refusals: int) -> None:
        super().__init__("ray")
        self.refusals, self.inits, self.shutdowns = refusals, 0, 0

    def init(self, **_: object) -> None:
        self.inits += 1
        if self.inits <= self.refusals:
            raise ConnectionAbortedError("Initialization failure from server:\n")

    def shutdown(self) -> None:
        self.shutdowns += 1

    def cluster_resources(self) -> dict[str, float]:
        return {"tflmake": 1.0}


@pytest.mark.parametrize(("refusals", "connects"), [(0, True), (2, True), (3, False)])
def test_a_refused_ray_client_initialisation_is_tried_again(
        refusals: int, connects: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray Client's "Initialization failure from server" (a head still settling) costs another attempt, up to
    three; the third refusal is the one-line executor error."""
    ray = RefusingRay(refusals)
    monkeypatch.setitem(sys.modules, "ray", ray)
    monkeypatch.setattr(executor.time, "sleep", lambda seconds: None)
    url = ExecutorURL("ray", "head:10001")
    if connects:
        RayExecutor(url)
        assert ray.inits == refusals + 1
    else:
        with pytest.raises(ExecutorError, match="^--executor: cannot start or reach Ray at head:10001: "
                                                "Initialization failure from server:"):
            RayExecutor(url)
        assert ray.inits == 3
