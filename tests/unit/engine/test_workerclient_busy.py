"""The schedule of a step that finds the warm worker busy (issue 21 §4): wait BUSY_WAIT_SECONDS for it,
then build in process; a process that has imported TensorFlow already builds in process at once."""

from __future__ import annotations

import sys
import time
import types
from typing import Any

import pytest

from tflmake.engine import workerclient
from tflmake.paths import Layout


class FakeConnection:
    def close(self) -> None:
        pass


def fake_worker(monkeypatch: pytest.MonkeyPatch, answers: list[dict[str, Any]]) -> list[float]:
    """The worker answers each request with the next of `answers` (the last one forever); request times."""
    asked: list[float] = []

    def send(connection: Any, request: dict[str, Any]) -> dict[str, Any]:
        asked.append(time.monotonic())
        return answers[min(len(asked), len(answers)) - 1]

    monkeypatch.setattr(workerclient, "_connect_or_start", lambda address, layout: FakeConnection())
    monkeypatch.setattr(workerclient, "_send_request", send)
    monkeypatch.setattr(workerclient, "_await_outcome", lambda connection, layout, pid: "built by the worker")
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    return asked


def test_a_busy_worker_is_waited_for_then_the_step_builds_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workerclient, "BUSY_WAIT_SECONDS", 0.4)
    asked = fake_worker(monkeypatch, [{"status": "busy", "pid": 1}])
    started = time.monotonic()
    assert workerclient._delegate("sock", Layout("build"), {}) is workerclient.NOT_SERVED
    assert 0.4 <= time.monotonic() - started < 1.5
    assert len(asked) > 2


def test_a_worker_free_within_the_wait_builds_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_worker(monkeypatch, [{"status": "busy", "pid": 1}] * 3 +
                [{"status": "accepted", "pid": 1}])
    assert workerclient._delegate("sock", Layout("build"), {}) == "built by the worker"


def test_a_process_that_imported_tensorflow_builds_at_once_when_the_worker_is_busy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_worker(monkeypatch, [{"status": "busy", "pid": 1}])
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    started = time.monotonic()
    assert workerclient._delegate("sock", Layout("build"), {}) is workerclient.NOT_SERVED
    assert time.monotonic() - started < 0.5 and len(asked) == 1
