"""The warm worker's wire and switches, without a worker (no TensorFlow): tests/integration/test_worker.py runs one."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import threading

import pytest

from tests.support import Project
from tflmake.commands.main import main, parse_options, tflmake_environment
from tflmake.commands.settings import Settings
from tflmake.console import labelled, progress, task_label
from tflmake.engine import workerclient, workerlink
from tflmake.kinds import TASK_KINDS
from tflmake.paths import Layout


@pytest.mark.parametrize("value", ["0", "false", "off", "no", " 0 "])
def test_the_environment_variable_turns_the_worker_off(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """TFLMAKE_WORKER=0 (or false/off/no) turns the worker off."""
    monkeypatch.setenv(workerlink.WORKER_ENV, value)
    assert not workerlink.enabled()


def test_the_worker_is_on_by_default_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variable the worker is on where AF_UNIX and SO_PEERCRED exist."""
    monkeypatch.delenv(workerlink.WORKER_ENV, raising=False)
    assert workerlink.enabled() == (hasattr(socket, "AF_UNIX") and hasattr(socket, "SO_PEERCRED"))


def test_no_worker_option_sets_the_variable_for_the_run_and_its_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--no-worker` is tflmake's option (not doit's) and sets TFLMAKE_WORKER=0 while the command runs."""
    monkeypatch.delenv(workerlink.WORKER_ENV, raising=False)
    settings, rest = parse_options(["--no-worker", "-n", "2"], Settings())
    assert not settings.worker and rest == ["-n", "2"]
    with tflmake_environment(settings):
        assert os.environ[workerlink.WORKER_ENV] == "0"
    assert workerlink.WORKER_ENV not in os.environ


def test_tensorflow_task_kinds_are_those_whose_builders_may_import_it() -> None:
    """The kinds the worker runs are exactly the ones that build models or read data with TensorFlow (the
    manifest reads a SavedModel's variables for their digest)."""
    assert {name for name, kind in TASK_KINDS.items() if kind.tensorflow} == {
        "dataset", "savedmodel", "prune", "tflite", "manifest", "evaluate"}


def test_the_worker_module_the_client_starts_exists() -> None:
    """The client starts `python -m tflmake.worker` (an edge only a string names)."""
    assert importlib.util.find_spec("tflmake.worker.__main__") is not None


def test_messages_round_trip_and_the_peer_uid_is_ours() -> None:
    """Framed messages arrive whole, and SO_PEERCRED names this process's uid."""
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        # Larger than the socket buffer, so the sender must run beside the reader (as client and worker do).
        sender = threading.Thread(target=workerlink.send, args=(left, {"op": "status", "payload": b"x" * 3_000_000}))
        sender.start()
        assert workerlink.receive(right) == {"op": "status", "payload": b"x" * 3_000_000}
        sender.join(timeout=10)
        assert workerlink.peer_uid(right) == os.getuid()
        left.close()
        with pytest.raises(ConnectionError):
            workerlink.receive(right)


def test_a_long_build_folder_is_reached_by_a_relative_socket_path(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AF_UNIX paths hold ~108 bytes: a long absolute build folder is reached relative to the project."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert workerlink.socket_address(Layout(str(deep / "build"))) == "build/.worker.sock"


def test_status_and_stop_without_a_worker_say_none_serves(cli_project: Project, capsys) -> None:
    """`tflmake worker status|stop` in a project without a worker say so and start none."""
    for action in ("status", "stop"):
        assert main(["worker", action]) == 0
        assert capsys.readouterr().out == "no worker serves this project\n"
    assert not (cli_project.root / "build" / ".worker.sock").exists()
    assert workerclient.ask(Layout("build"), "status") is None


def test_the_worker_labels_progress_lines_as_its_client_would(capfd) -> None:
    """In the worker, a step of a `-n` client labels its lines with its task, as the client process would."""
    with task_label("tflite:m.int8"), labelled(True):
        progress("    calibrating")
    with task_label("tflite:m.int8"), labelled(False):
        progress("    calibrating")
    assert capfd.readouterr().err.splitlines() == ["    [tflite:m.int8] calibrating", "    calibrating"]


def test_a_worker_process_is_told_from_another_by_its_command_line() -> None:
    """`tflmake worker stop` kills only a pid whose command line is a tflmake worker's."""
    assert not workerclient._is_worker(os.getpid()) or "tflmake.worker" in " ".join(sys.argv)
