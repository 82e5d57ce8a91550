"""Which warm worker takes a step (issue 21 §4): the first free one in slot order; a step that finds every
worker busy starts one more in the background (later when a busy worker builds the same model) and takes
whichever is free first; it never builds in process while a worker serves, unless its process has imported
TensorFlow already."""

from __future__ import annotations

import sys
import time
import types
from typing import Any

import pytest

from tflmake.engine import workerclient, workerlink
from tflmake.paths import Layout


class FakeConnection:
    def __init__(self, slot: int) -> None:
        self.slot = slot

    def close(self) -> None:
        pass


class FakePool:
    """Workers by slot, each "free", "busy", "starting" or "empty"; `changes` switch a slot's state at a time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, states: list[str], size: int = 4,
                 changes: tuple[tuple[float, int, str], ...] = (), building: str = "other") -> None:
        self.states = states + ["empty"] * (size - len(states))
        self.building = building  # the model a busy worker's step belongs to
        self.changes = sorted((time.monotonic() + at, slot, state) for at, slot, state in changes)
        self.started: list[tuple[int, float]] = []  # (slot, seconds after the step began)
        self.began = time.monotonic()
        monkeypatch.setattr(workerlink, "pool_size", lambda: size)
        monkeypatch.setattr(workerlink, "socket_address", lambda layout, slot=0: str(slot))
        monkeypatch.setattr(workerclient, "_connect", self.connect)
        monkeypatch.setattr(workerclient, "_send_request", self.send)
        monkeypatch.setattr(workerclient, "_await_outcome", lambda connection, layout, pid: f"worker {pid}")
        monkeypatch.setattr(workerclient, "_start", self.start)
        monkeypatch.setattr(workerclient, "_check_start", lambda starting: None)
        monkeypatch.setattr(workerclient, "POLL_SECONDS", 0.01)
        monkeypatch.delitem(sys.modules, "tensorflow", raising=False)

    def now(self) -> None:
        while self.changes and self.changes[0][0] <= time.monotonic():
            _, slot, state = self.changes.pop(0)
            self.states[slot] = state

    def connect(self, address: str) -> FakeConnection | None:
        self.now()
        return FakeConnection(int(address)) if self.states[int(address)] in ("free", "busy") else None

    def send(self, connection: FakeConnection, request: dict[str, Any]) -> dict[str, Any]:
        if self.states[connection.slot] == "free":
            self.states[connection.slot] = "busy"
            return {"status": "accepted", "pid": connection.slot}
        return {"status": "busy", "pid": connection.slot, "model": self.building}

    def start(self, layout: Layout, slot: int) -> object | None:
        if self.states[slot] != "empty":
            return None  # a worker holds the slot's lock: it is starting
        self.states[slot] = "starting"
        self.started.append((slot, time.monotonic() - self.began))
        return object()


def delegate() -> Any:
    return workerclient._delegate(Layout("build"), {"model": "mine"})


def test_a_free_first_worker_takes_the_step_and_no_worker_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step goes to worker 0 when it is free; the pool does not grow."""
    pool = FakePool(monkeypatch, ["free"])
    assert delegate() == "worker 0" and pool.started == []


def test_a_busy_first_worker_passes_the_step_to_a_free_second_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """With worker 0 busy (the other `-n 2` process's step), a free worker 1 takes the step at once."""
    pool = FakePool(monkeypatch, ["busy", "free"])
    assert delegate() == "worker 1" and pool.started == []


def test_without_a_worker_the_step_starts_one_in_slot_zero_and_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first TensorFlow step of a project starts worker 0 at once and is built by it once it listens."""
    pool = FakePool(monkeypatch, [], changes=((0.2, 0, "free"),))
    assert delegate() == "worker 0"
    assert [slot for slot, _ in pool.started] == [0] and pool.started[0][1] < 0.1


def test_every_worker_busy_starts_one_more_in_the_background_and_the_first_free_takes_the_step(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker 0 busy past GROW_AFTER_SECONDS: worker 1 is started, but the step does not wait for its
    warm-up: worker 0, free first, builds it."""
    pool = FakePool(monkeypatch, ["busy"], changes=((workerclient.GROW_AFTER_SECONDS + 0.3, 0, "free"),))
    assert delegate() == "worker 0"
    assert [slot for slot, _ in pool.started] == [1]
    assert pool.started[0][1] >= workerclient.GROW_AFTER_SECONDS


def test_a_step_behind_a_step_of_its_own_model_waits_longer_before_growing_the_pool(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker 0 busy with a step of the same model: no worker is started within GROW_SAME_MODEL_AFTER_SECONDS
    (a one-model `-n 2` build stays on one worker), one is after it."""
    monkeypatch.setattr(workerclient, "GROW_SAME_MODEL_AFTER_SECONDS", 1.0)
    pool = FakePool(monkeypatch, ["busy"], building="mine",
                    changes=((workerclient.GROW_AFTER_SECONDS + 0.3, 0, "free"),))
    assert delegate() == "worker 0" and pool.started == []
    pool = FakePool(monkeypatch, ["busy"], building="mine", changes=((1.5, 0, "free"),))
    assert delegate() == "worker 0"
    assert [slot for slot, _ in pool.started] == [1] and pool.started[0][1] >= 1.0


def test_a_worker_busy_only_for_an_instant_does_not_grow_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker finishing a step answers busy for an instant: no second worker is started for that."""
    pool = FakePool(monkeypatch, ["busy"], changes=((workerclient.GROW_AFTER_SECONDS / 3, 0, "free"),))
    assert delegate() == "worker 0" and pool.started == []


def test_a_starting_worker_is_waited_for_and_no_further_one_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker 1 still warming up (started by the other process) ends the pool: the step waits for worker 0
    or 1, and starts no worker 2."""
    pool = FakePool(monkeypatch, ["busy", "starting"], changes=((workerclient.GROW_AFTER_SECONDS + 0.3, 1, "free"),))
    assert delegate() == "worker 1" and pool.started == []


def test_the_pool_grows_no_larger_than_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every one of `pool_size` workers busy, the step waits for one of them."""
    pool = FakePool(monkeypatch, ["busy", "busy"], size=2,
                    changes=((workerclient.GROW_AFTER_SECONDS + 0.3, 1, "free"),))
    assert delegate() == "worker 1" and pool.started == []


def test_a_step_waits_for_a_busy_worker_rather_than_building_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """However long the worker is busy, a process without TensorFlow does not import it to build the step
    (2 s was the old limit)."""
    FakePool(monkeypatch, ["busy"], size=1, changes=((2.5, 0, "free"),))
    assert delegate() == "worker 0"


def test_a_process_that_imported_tensorflow_builds_at_once_when_every_worker_is_busy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that has paid the import (an earlier step built here) neither waits nor starts a worker."""
    pool = FakePool(monkeypatch, ["busy"])
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    started = time.monotonic()
    assert delegate() is workerclient.NOT_SERVED
    assert time.monotonic() - started < 0.5 and pool.started == []
