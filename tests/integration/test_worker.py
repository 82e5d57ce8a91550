"""The warm build worker (issue 21 §2): bytes, isolation, memory, lifecycle, security, crash and hang.

Every build here is tiny (tests/twentymodels.py: an MLP of 4-64 units on the digits set, mostly 1-2
epochs, 50 calibration samples), so that what is measured is the worker, not training.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, Project, make_project
from tests.twentymodels import UNITS, mlp_spec, spec_text
from tflmake.engine import workerclient, workerlink
from tflmake.paths import Layout
from tflmake.spec.load import load_spec

pytestmark = pytest.mark.integration

WARNING = "tflmake: warning: warm worker:"


# Files whose bytes depend on the machine or on the SavedModel's process (compared otherwise or not at all):
# latency figures (report.*, tradeoff.png), saved_model.pb/fingerprint.pb and the manifest's hashes of them.
NOT_BYTE_COMPARED = ("report.json", "report.md", "report.previous.json", "tradeoff.png", "manifest.json")


@pytest.fixture
def worker_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker on for this test's builds (the suite turns it off), idle exit after two minutes."""
    monkeypatch.setenv(workerlink.WORKER_ENV, "1")
    monkeypatch.setenv(workerlink.IDLE_ENV, "120")
    # As Project.tflmake sets it: a client in another environment would (rightly) replace the worker.
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    # Every step built, none restored: the local cache would hand back what a cold build of the same
    # spec in this test made, so the worker would not be what made the bytes compared.
    monkeypatch.setenv("TFLMAKE_CACHE_LOCAL", "0")


def stop_worker(project: Project) -> None:
    subprocess.run([sys.executable, "-m", "tflmake", "worker", "stop"], cwd=project.root, capture_output=True,
                   timeout=60)


@pytest.fixture
def warm(tmp_path: Path, worker_on: None) -> Iterator[Project]:
    """A project whose builds go through the worker; the worker is stopped afterwards."""
    project = make_project(tmp_path / "warm", dodo=False)
    yield project
    stop_worker(project)


def status(project: Project) -> dict[str, object] | None:
    """The worker's status answer, asked from the project's folder."""
    cwd = os.getcwd()
    os.chdir(project.root)
    try:
        answer = workerclient.ask(Layout("build"), "status")
    finally:
        os.chdir(cwd)
    return answer if answer and answer.get("status") == "ok" else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def wait_until(condition, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def artifacts(build: Path, model: str) -> dict[str, bytes]:
    """Every artifact of a model by bytes, the SavedModel by its weights (the stamp holds their sha256)."""
    folder = build / model
    found = {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*")
             if path.is_file() and path.name not in NOT_BYTE_COMPARED and "saved_model" not in path.parts}
    found["saved_model/tflmake_stamp.json"] = (folder / "saved_model/tflmake_stamp.json").read_bytes()
    found["saved_model/keras.weights.h5"] = (folder / "saved_model/keras.weights.h5").read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text())
    found["manifest artifacts"] = json.dumps(
        {name: digest for name, digest in manifest["artifacts"].items() if "saved_model/" not in name}).encode()
    return found


def interrupt_a_long_step(project: Project) -> None:
    """Start a build whose training runs long, Ctrl-C its client while the worker trains, expect exit 130."""
    project.add_spec("long", mlp_spec(units=64, epochs=400, seed=7))
    client = subprocess.Popen([sys.executable, "-m", "tflmake", "savedmodel:long"], cwd=project.root,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert wait_until(lambda: (status(project) or {}).get("busy") and
                      (project.build / "long" / "dataset.npz").exists(), 120)
    time.sleep(1.0)  # into the training loop
    client.send_signal(signal.SIGINT)
    output, _ = client.communicate(timeout=60)
    assert client.returncode == 130, output
    (project.specs / "long.toml").unlink()


def test_twenty_specs_through_one_worker_match_cold_builds_also_after_a_failed_and_an_interrupted_task(
        warm: Project, serial_twenty: Project) -> None:
    """20 different specs (tests/twentymodels.py) built one after another through one worker (in reverse order,
    with a failing and an interrupted task between them) are byte-identical to a cold build of the same specs
    (the run's serial build of them, in process, without a worker)."""
    pids = set()
    for index, name in enumerate(reversed(UNITS)):
        if index == 5:
            warm.add_spec("broken", mlp_spec().replace("input_shape = [8, 8]", "input_shape = [8, 9]"))
            failed = warm.tflmake()
            assert failed.returncode == 1 and ":broken FAILED" in failed.output, failed.output
            (warm.specs / "broken.toml").unlink()
        if index == 10:
            interrupt_a_long_step(warm)
        warm.add_spec(name, spec_text(name))
        run = warm.tflmake()
        assert run.returncode == 0 and WARNING not in run.output, run.output
        pids.add((status(warm) or {}).get("pid"))
    assert len(pids) == 1 and None not in pids, "one worker served every build"
    served = status(warm)
    assert served is not None and int(served["tasks"]) >= 20 * 4  # type: ignore[call-overload]
    for name in UNITS:
        assert artifacts(warm.build, name) == artifacts(serial_twenty.build, name), name


ISOLATION_SPEC = """
[model.source]
type = "layers"
input_shape = [4]
layers = [{ type = "Dense", units = 3, activation = "softmax" }]

[dataset]
type = "python"
entry = "ENTRY:load"

[train]
epochs = 1
seed = 0

[[variant]]
name = "float32"
quantize = "none"
"""

LEAKY = '''
import os, random
import numpy as np
import keras

@keras.saving.register_keras_serializable(package="leak")
class Leak(keras.layers.Layer):
    pass

def load():
    random.seed(123)
    np.random.seed(123)
    os.environ["TFLMAKE_TEST_LEAK"] = "1"
    rows = np.arange(120, dtype="float32").reshape(30, 4) % 7
    return {"x": rows, "y": (np.arange(30) % 3).astype("int64")}
'''

PROBE = '''
import os, random
import numpy as np
import keras

SAMPLES = 30

def load():
    leaks = []
    if "leak>Leak" in keras.saving.get_custom_objects():
        leaks.append("custom object")
    if random.getstate() == random.Random(123).getstate():
        leaks.append("random")
    if np.random.get_state()[1][0] == np.random.RandomState(123).get_state()[1][0]:
        leaks.append("numpy")
    if "TFLMAKE_TEST_LEAK" in os.environ:
        leaks.append("environment")
    if leaks:
        raise ValueError("leaked from the step before: " + ", ".join(leaks))
    rows = np.arange(SAMPLES * 4, dtype="float32").reshape(SAMPLES, 4) % 5
    return {"x": rows, "y": (np.arange(SAMPLES) % 3).astype("int64")}
'''


def test_a_step_sees_no_random_numpy_environment_or_custom_object_state_of_the_step_before(
        warm: Project) -> None:
    """A step that seeds random and NumPy, sets a variable and registers a Keras custom object leaves none of it
    to the next step in the same worker; a changed user module is imported again."""
    (warm.specs / "leaky.py").write_text(LEAKY)
    (warm.specs / "probe.py").write_text(PROBE)
    warm.add_spec("a_leaky", ISOLATION_SPEC.replace("ENTRY", "leaky"))
    warm.add_spec("b_probe", ISOLATION_SPEC.replace("ENTRY", "probe"))
    run = warm.tflmake("dataset:a_leaky", "dataset:b_probe")
    assert run.returncode == 0 and WARNING not in run.output, run.output
    pid = (status(warm) or {}).get("pid")
    assert pid is not None

    (warm.specs / "probe.py").write_text(PROBE.replace("SAMPLES = 30", "SAMPLES = 40"))
    run = warm.tflmake("dataset:b_probe")
    assert run.returncode == 0 and "dataset:b_probe" in run.output, run.output
    assert (status(warm) or {}).get("pid") == pid
    import numpy as np

    with np.load(warm.build / "b_probe" / "dataset.npz") as data:
        assert len(data["x_train"]) + len(data["x_test"]) == 40  # the edited module, not the one imported before


def test_memory_after_fifty_builds_stays_within_one_and_a_half_times_the_first(
        warm: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """50 tiny SavedModel builds (each a new seed and width) through one worker: its RSS after the 50th is at most
    1.5x its RSS after the first."""
    warm.add_spec("mem", mlp_spec())
    assert warm.tflmake("dataset:mem").returncode == 0
    monkeypatch.chdir(warm.root)
    layout = Layout("build")
    sizes = []
    for index in range(50):
        warm.add_spec("mem", mlp_spec(units=4 + index % 7, seed=index))
        spec = load_spec(warm.specs / "mem.toml")
        assert workerclient.delegate("savedmodel", spec, layout, (), "savedmodel:mem") is None
        if index in (0, 49):
            answer = workerclient.ask(layout, "status")
            assert answer is not None and answer["tasks"] == index + 2
            sizes.append(float(answer["rss_mb"]))
    print(f"worker RSS after the first build {sizes[0]:.0f} MB, after the 50th {sizes[1]:.0f} MB")
    assert sizes[1] <= 1.5 * sizes[0]


def test_a_worker_past_its_memory_bound_exits_after_the_step_and_the_build_succeeds(
        warm: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a bound below its size, the worker serves the step, then exits; the next step starts a new one."""
    monkeypatch.setenv(workerlink.MAX_RSS_ENV, "1")
    warm.add_spec("m", mlp_spec())
    run = warm.tflmake("dataset:m")
    assert run.returncode == 0 and WARNING not in run.output, run.output
    assert wait_until(lambda: "resident memory" in (warm.build / "worker.log").read_text(), 30)
    assert wait_until(lambda: not (warm.build / ".worker.sock").exists(), 30)


def test_the_worker_exits_after_its_idle_time(warm: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """TFLMAKE_WORKER_IDLE=2: the worker serves, then exits about 2 s after its last request, removing its socket."""
    monkeypatch.setenv(workerlink.IDLE_ENV, "2")
    warm.add_spec("m", mlp_spec())
    assert warm.tflmake("dataset:m").returncode == 0
    record = json.loads((warm.build / ".worker.json").read_text())
    assert alive(record["pid"])
    assert wait_until(lambda: not alive(record["pid"]), 30)
    assert not (warm.build / ".worker.sock").exists() and not (warm.build / ".worker.json").exists()
    assert "idle for 2s" in (warm.build / "worker.log").read_text()


def test_worker_stop_ends_it_and_status_says_so(warm: Project) -> None:
    """`tflmake worker status` shows the serving worker; `tflmake worker stop` ends it; `tflmake status` follows."""
    warm.add_spec("m", mlp_spec())
    assert warm.tflmake("dataset:m").returncode == 0
    shown = warm.tflmake("worker", "status")
    assert shown.output.startswith("worker: pid ") and "1 steps served" in shown.output, shown.output
    assert warm.tflmake("status").output.splitlines()[-1].startswith("worker: pid ")
    pid = (status(warm) or {})["pid"]
    stopped = warm.tflmake("worker", "stop")
    assert stopped.output.strip() == f"stopped the worker (pid {pid})"
    assert not alive(int(pid))  # type: ignore[call-overload]
    assert warm.tflmake("worker", "status").output.strip() == "no worker serves this project"
    assert warm.tflmake("status").output.splitlines()[-1].startswith("worker: none serves this project")


def test_a_worker_of_other_tflmake_code_is_replaced(tmp_path: Path, warm: Project,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """After tflmake's code changes, the next build's step goes to a new worker; the old one exits."""
    import shutil

    source = tmp_path / "src"
    shutil.copytree(REPO / "src" / "tflmake", source / "tflmake", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("PYTHONPATH", str(source))
    warm.add_spec("m", mlp_spec())
    assert warm.tflmake("dataset:m").returncode == 0
    first = (status(warm) or {})["pid"]
    with (source / "tflmake" / "kinds.py").open("a") as kinds:
        kinds.write("# a new release\n")
    (warm.specs / "m.toml").write_text(mlp_spec(seed=1))
    run = warm.tflmake("dataset:m")
    assert run.returncode == 0 and WARNING not in run.output, run.output
    second = (status(warm) or {})["pid"]
    assert second is not None and second != first and not alive(int(first))  # type: ignore[call-overload]
    assert "code" in (warm.build / "worker.log").read_text()


@pytest.mark.parametrize("off", [("--no-worker",), ()], ids=["option", "environment"])
def test_no_worker_and_the_environment_variable_build_without_one(
        off: tuple[str, ...], project: Project, worker_on: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--no-worker` and TFLMAKE_WORKER=0 build every step in process: no worker starts."""
    if not off:
        monkeypatch.setenv(workerlink.WORKER_ENV, "0")
    project.add_spec("m", mlp_spec())
    run = project.tflmake(*off, "dataset:m", "savedmodel:m")
    assert run.returncode == 0, run.output
    assert not (project.build / ".worker.sock").exists() and not (project.build / "worker.log").exists()


def test_a_two_model_parallel_build_through_the_workers_matches_a_serial_build(
        warm: Project, serial_twenty: Project) -> None:
    """`-n 2` with the worker on: every TensorFlow step goes to one of at most two warm workers (none is
    built in process), and the bytes equal a serial build's; `tflmake worker stop` ends every worker."""
    for name in ("mlp12", "mlp13"):
        warm.add_spec(name, spec_text(name))
    run = warm.tflmake("-n", "2")
    assert run.returncode == 0 and WARNING not in run.output, run.output
    for name in ("mlp12", "mlp13"):
        assert artifacts(warm.build, name) == artifacts(serial_twenty.build, name)
    cwd = os.getcwd()
    os.chdir(warm.root)
    try:
        served = workerclient.statuses(Layout("build"))
    finally:
        os.chdir(cwd)
    # Per model: dataset, savedmodel, two tflite, manifest, evaluate.
    assert 1 <= len(served) <= 2 and sum(int(status["tasks"]) for status in served) == 12, served
    stopped = subprocess.run([sys.executable, "-m", "tflmake", "worker", "stop"], cwd=warm.root,
                             capture_output=True, text=True, timeout=60)
    assert stopped.stdout.startswith("stopped the worker") and not any(alive(int(s["pid"])) for s in served)


def test_the_socket_is_private_and_a_request_for_another_project_is_refused(
        tmp_path: Path, warm: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The socket is mode 0600; a client whose project (working directory) is another is refused."""
    warm.add_spec("m", mlp_spec())
    assert warm.tflmake("dataset:m").returncode == 0
    assert stat.S_IMODE((warm.build / ".worker.sock").stat().st_mode) == 0o600
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    answer = workerclient.ask(Layout(str(warm.build)), "status")
    assert answer is not None and answer["status"] == "refused" and "serves" in answer["reason"]


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another user")
def test_the_worker_answers_no_other_user(warm: Project) -> None:
    """Even with the socket opened to everyone, a process of another uid gets no answer (SO_PEERCRED)."""
    warm.add_spec("m", mlp_spec())
    assert warm.tflmake("dataset:m").returncode == 0
    socket_path = warm.build / ".worker.sock"
    os.chmod(socket_path, 0o666)
    probe = f"""
import os, pickle, socket
from tflmake.engine import workerlink
# Imports and the build folder first: the interpreter's files and pytest's temp folders are root's only.
build = os.open({str(warm.build)!r}, os.O_RDONLY)
os.setgid(65534); os.setuid(65534)
connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
connection.settimeout(10)
connection.connect(f"/proc/self/fd/{{build}}/.worker.sock")
try:  # the worker may hang up before the request is sent (a broken pipe) or after: no answer either way
    socket.send_fds(connection, [b"F"], [])
    workerlink.send(connection, {{"op": "status", "root": {os.path.realpath(warm.root)!r},
                                  "build_dir": {os.path.realpath(warm.build)!r}}})
    print(workerlink.receive(connection))
except ConnectionError:
    print("no answer")
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            cwd="/", env={**os.environ})
    assert result.stdout.strip() == "no answer", result.stdout + result.stderr
    assert "refused a connection from another user" in (warm.build / "worker.log").read_text()


def test_a_worker_killed_during_a_step_costs_one_warning_and_the_step_builds_in_process(warm: Project) -> None:
    """SIGKILL to the worker while it trains: the client warns once and builds the step (and the rest) itself."""
    warm.add_spec("m", mlp_spec(units=64, epochs=60))
    assert warm.tflmake("dataset:m").returncode == 0
    client = subprocess.Popen([sys.executable, "-m", "tflmake"], cwd=warm.root, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    assert wait_until(lambda: (status(warm) or {}).get("busy"), 60)
    os.kill(int((status(warm) or {})["pid"]), signal.SIGKILL)  # type: ignore[call-overload]
    output, _ = client.communicate(timeout=300)
    assert client.returncode == 0, output
    assert output.count(WARNING) == 1 and "ended during the step" in output, output
    assert (warm.build / "m" / "int8.tflite").is_file()


def test_a_hung_worker_costs_one_warning_and_the_step_builds_in_process(
        warm: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that stops answering (SIGSTOP) is killed after TFLMAKE_WORKER_TIMEOUT; one warning, build in process."""
    monkeypatch.setenv(workerlink.TIMEOUT_ENV, "3")
    warm.add_spec("m", mlp_spec(units=64, epochs=60))
    assert warm.tflmake("dataset:m").returncode == 0
    client = subprocess.Popen([sys.executable, "-m", "tflmake"], cwd=warm.root, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    assert wait_until(lambda: (status(warm) or {}).get("busy"), 60)
    pid = int((status(warm) or {})["pid"])  # type: ignore[call-overload]
    os.kill(pid, signal.SIGSTOP)
    output, _ = client.communicate(timeout=300)
    assert client.returncode == 0, output
    assert output.count(WARNING) == 1 and "stopped answering" in output, output
    assert wait_until(lambda: not alive(pid), 10)
