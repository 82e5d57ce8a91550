"""The shared artifact cache end to end: real builds, a real folder and a real S3 server (issue 13, section 3).

One project is built into a fresh cache per storage kind (module fixture); each
test then starts from clean checkouts elsewhere and with other build folders.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.s3server import S3Server, free_port, start_s3_server
from tests.support import REPO, CacheLocation, DoitRun, Project, make_project

pytestmark = pytest.mark.integration

SPEC = """
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [{ type = "Flatten" }, { type = "Dense", units = 16, activation = "relu" },
          { type = "Dense", units = 10, activation = "softmax" }]

[dataset]
type = "digits"
scale = 16.0
shape = [8, 8]

[train]
epochs = 2

[representative]
samples = 50

[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"
io_type = "int8"
c_array = true

[[variant]]
name = "int8_pruned"
quantize = "int8"
prune = { sparsity = 0.5, epochs = 1 }
"""
# SPEC's tasks the cache serves: dataset, savedmodel, prune, representative, three tflite, one carray.
CACHED_TASKS = 8


def checkout(root: Path, location: CacheLocation, mode: str = "read-write", build_dir: str = "build",
             namespace: str = "") -> Project:
    """A clean project under `root` holding SPEC, its cache configured in pyproject.toml."""
    project = make_project(root, dodo=False)
    project.add_spec("tiny", SPEC)
    table: dict[str, Any] = {"url": location.url, "mode": mode, "namespace": namespace}
    if location.storage_options:
        table["storage-options"] = location.storage_options
    (root / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"tflmake": {"build-dir": build_dir,
                                                                              "cache": table}}}))
    return project


def cache_files(location: CacheLocation) -> dict[str, bytes]:
    """Every object in the cache, by its path under the cache's root."""
    if location.storage_options:
        import s3fs

        fs = s3fs.S3FileSystem(skip_instance_cache=True, **location.storage_options)
        bucket = location.url.removeprefix("s3://")
        return {path.removeprefix(bucket + "/"): fs.cat_file(path) for path in fs.find(bucket)}
    root = Path(location.url)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def write_object(location: CacheLocation, path: str, data: bytes) -> None:
    if location.storage_options:
        import s3fs

        fs = s3fs.S3FileSystem(skip_instance_cache=True, **location.storage_options)
        fs.pipe_file(f"{location.url.removeprefix('s3://')}/{path}", data)
    else:
        (Path(location.url) / path).write_bytes(data)


def copy_cache(location: CacheLocation, server: S3Server | None, folder: Path) -> CacheLocation:
    """A private copy of a cache, for tests that damage it."""
    if server is None:
        shutil.copytree(location.url, folder)
        return CacheLocation(folder.as_posix(), {})
    copy = CacheLocation(f"s3://{server.new_bucket()}", location.storage_options)
    for path, data in cache_files(location).items():
        write_object(copy, path, data)
    return copy


def entry_of(files: dict[str, bytes], task: str) -> tuple[str, dict[str, Any]]:
    kind, label = task.split(":")
    [(path, data)] = [(p, d) for p, d in files.items() if p.startswith(f"ac/{kind}/{label}/")]
    return path, json.loads(data)


def restored(run: DoitRun) -> list[str]:
    return re.findall(r"^   (\S+) restored from cache in ", run.output, flags=re.MULTILINE)


@pytest.fixture(scope="module", params=["folder", "s3"])
def origin(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Project, CacheLocation, S3Server | None]:
    """SPEC built once in read-write mode into an empty cache: what CI would do."""
    server = request.getfixturevalue("s3_server") if request.param == "s3" else None
    root = tmp_path_factory.mktemp(f"origin-{request.param}")
    location = (CacheLocation(f"s3://{server.new_bucket()}", server.storage_options) if server
                else CacheLocation((root / "cache").as_posix(), {}))
    project = checkout(root / "project", location)
    run = project.tflmake()
    assert run.returncode == 0, run.output
    assert "restored from cache" not in run.output.split("tflmake: ")[-1].split(",")[0]
    return project, location, server


@pytest.fixture(scope="module")
def second(origin: tuple[Project, CacheLocation, S3Server | None], tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Project, DoitRun]:
    """A clean checkout elsewhere, build folder `out`, reading the cache (Python's import log on)."""
    _, location, _ = origin
    project = checkout(tmp_path_factory.mktemp("second") / "deep" / "clone", location, mode="read", build_dir="out")
    return project, project.tflmake(python_options=("-X", "importtime"))


def test_second_checkout_restores_every_cacheable_task(second: tuple[Project, DoitRun]) -> None:
    """(a) Every cacheable task is restored, none built: summary and per-task lines say so."""
    _, run = second
    assert run.returncode == 0, run.output
    assert sorted(name.split(":")[0] for name in restored(run)) == sorted(
        ["dataset", "savedmodel", "prune", "representative", "tflite", "tflite", "tflite", "carray"])
    assert re.search(r"^tflmake: 4 built, 8 restored from cache, 0 up to date, 0 failed", run.output, re.MULTILINE)


def test_second_checkout_imports_no_tensorflow(second: tuple[Project, DoitRun]) -> None:
    """(a) Restoring runs no builder that needs TensorFlow (Python's -X importtime log lists every import)."""
    _, run = second
    imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", run.output, re.MULTILINE)
    assert "doit" in imported
    assert not [name for name in imported if name.split(".")[0] in ("tensorflow", "keras")]


def test_second_checkout_is_byte_identical(origin: tuple[Project, CacheLocation, S3Server | None],
                                           second: tuple[Project, DoitRun]) -> None:
    """(a) Every artifact equals the original's bytes; report.json too, but for latency and its own path."""
    original, _, _ = origin
    clone, _ = second
    mine, theirs = original.build / "tiny", clone.root / "out" / "tiny"
    names = sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(theirs).as_posix() for p in theirs.rglob("*") if p.is_file())
    differing = [name for name in names if (mine / name).read_bytes() != (theirs / name).read_bytes()]
    assert differing in ([], ["report.json"], ["report.json", "report.md"])
    assert _without_measured(json.loads((mine / "report.json").read_text())) == \
        _without_measured(json.loads((theirs / "report.json").read_text()))
    # report.md: latency cells, and the bold that marks the fastest variant, are this run's measurement.
    latency = re.compile(r"[0-9.]+ [µm]s")
    assert latency.sub("?", (mine / "report.md").read_text()).replace("**", "") == \
        latency.sub("?", (theirs / "report.md").read_text()).replace("**", "")


def _without_measured(value: Any) -> Any:
    """report.json without latency figures (this machine's) and file paths (they name the build folder)."""
    if isinstance(value, dict):
        return {k: _without_measured(v) for k, v in value.items() if "latency" not in k and k != "path"}
    if isinstance(value, list):
        return [_without_measured(v) for v in value]
    return value


def test_second_checkout_then_is_up_to_date(second: tuple[Project, DoitRun]) -> None:
    project, _ = second
    again = project.tflmake()
    assert again.returncode == 0 and again.executed == [], again.output


def test_flipped_byte_is_caught_rebuilt_and_healed(origin: tuple[Project, CacheLocation, S3Server | None],
                                                   tmp_path: Path) -> None:
    """(b) A blob with one flipped byte: one line names the task, it is rebuilt, exit 0, the blob healed."""
    _, location, server = origin
    damaged = copy_cache(location, server, tmp_path / "cache")
    files = cache_files(damaged)
    _, entry = entry_of(files, "tflite:tiny.int8")
    digest = entry["outputs"]["build/tiny/int8.tflite"]["sha256"]
    blob = f"cas/{digest[:2]}/{digest}"
    flipped = bytearray(files[blob])
    flipped[100] ^= 0xFF
    write_object(damaged, blob, bytes(flipped))
    run = checkout(tmp_path / "project", damaged).tflmake()
    assert run.returncode == 0, run.output
    complaints = [line for line in run.output.splitlines() if "corrupt" in line]
    assert complaints == [f"tflmake: cache: tflite:tiny.int8: blob {digest[:12]} of build/tiny/int8.tflite is "
                          f"corrupt (its sha256 is {complaints[0].split('sha256 is ')[1][:12]}); building it locally"]
    assert "tflite:tiny.int8" not in restored(run) and len(restored(run)) == CACHED_TASKS - 1
    assert cache_files(damaged)[blob] == files[blob]  # healed: the right bytes again


def test_swapped_entry_is_named_by_verify_rebuild(origin: tuple[Project, CacheLocation, S3Server | None],
                                                  tmp_path: Path) -> None:
    """(c) An entry pointing at another valid blob passes a blob check; `cache verify --rebuild` names it."""
    original, location, server = origin
    swapped = copy_cache(location, server, tmp_path / "cache")
    files = cache_files(swapped)
    path, entry = entry_of(files, "tflite:tiny.int8")
    _, other = entry_of(files, "tflite:tiny.float32")
    entry["outputs"]["build/tiny/int8.tflite"] = other["outputs"]["build/tiny/float32.tflite"]
    write_object(swapped, path, json.dumps(entry).encode())
    work = tmp_path / "work"
    shutil.copytree(original.root, work, symlinks=True)
    cache_options = ["--cache-url", swapped.url]
    if swapped.storage_options:
        table = {"url": swapped.url, "storage-options": swapped.storage_options}
        (work / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"tflmake": {"cache": table}}}))
        cache_options = []
    blobs_only = Project(work).tflmake(*cache_options, "cache", "verify")
    assert blobs_only.returncode == 0, blobs_only.output
    rebuilt = Project(work).tflmake(*cache_options, "cache", "verify", "--rebuild")
    assert rebuilt.returncode == 1, rebuilt.output
    named = [line for line in rebuilt.output.splitlines() if "differs from a local rebuild" in line]
    assert len(named) == 1 and named[0].startswith("tflite:tiny.int8: "), rebuilt.output


def test_concurrent_publish_with_a_kill_leaves_no_dangling_entry(
        origin: tuple[Project, CacheLocation, S3Server | None], tmp_path: Path) -> None:
    """(f) Two builds publish into one empty cache at once, one is SIGKILLed mid-publish: every entry's blobs exist."""
    _, location, server = origin
    fresh = (CacheLocation(f"s3://{server.new_bucket()}", location.storage_options) if server
             else CacheLocation((tmp_path / "cache").as_posix(), {}))
    projects = [checkout(tmp_path / name, fresh) for name in ("one", "two")]
    processes = [subprocess.Popen([sys.executable, "-m", "tflmake"], cwd=p.root, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONHASHSEED": "0"})
                 for p in projects]
    deadline = time.monotonic() + 300
    while not any(name.startswith("cas/") for name in cache_files(fresh)) and time.monotonic() < deadline:
        time.sleep(0.05)
    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait()
    assert processes[1].wait(timeout=600) == 0
    files = cache_files(fresh)
    entries = [json.loads(data) for name, data in files.items() if name.startswith("ac/")]
    assert len(entries) >= CACHED_TASKS
    for entry in entries:
        for record in entry["outputs"].values():
            assert f"cas/{record['sha256'][:2]}/{record['sha256']}" in files, entry["task"]


def test_read_mode_writes_nothing(origin: tuple[Project, CacheLocation, S3Server | None], tmp_path: Path) -> None:
    """(h) mode = "read" with every key missing (new namespace): the build writes no object."""
    _, location, _ = origin
    before = cache_files(location)
    run = checkout(tmp_path / "project", location, mode="read", namespace="other").tflmake()
    assert run.returncode == 0, run.output
    assert restored(run) == []
    assert cache_files(location) == before


def test_misses_name_the_changed_component(origin: tuple[Project, CacheLocation, S3Server | None],
                                           tmp_path: Path) -> None:
    """(e) With tflmake's code changed, a clean checkout misses and `cache status` names the code digest."""
    _, location, _ = origin
    project = checkout(tmp_path / "project", location, mode="read")
    hit = project.tflmake("cache", "status")
    assert hit.returncode == 0 and "hit    dataset:tiny" in hit.output, hit.output
    changed_code = tmp_path / "src"
    shutil.copytree(REPO / "src", changed_code, ignore=shutil.ignore_patterns("__pycache__"))
    with open(changed_code / "tflmake" / "paths.py", "a") as module:
        module.write("# a change to tflmake's code\n")
    env = {**os.environ, "PYTHONPATH": str(changed_code), "PYTHONHASHSEED": "0"}
    status = subprocess.run([sys.executable, "-m", "tflmake", "cache", "status"], cwd=project.root, env=env,
                            capture_output=True, text=True)
    assert status.returncode == 1, status.stdout + status.stderr
    assert re.search(r"^miss   dataset:tiny  \(code: \"[0-9a-f]{8,}\.\.\. -> \"[0-9a-f]{8,}\.\.\.\)$", status.stdout,
                     re.MULTILINE), status.stdout


def fake_site(folder: Path, tensorflow: str) -> Path:
    """A folder of package metadata alone saying tensorflow `tensorflow` is installed (put it first on PYTHONPATH).

    tflmake reads tool versions from metadata, never by importing: the TensorFlow
    that actually runs is still the installed one (as in test_cluster's test (k)).
    """
    info = folder / f"tensorflow-{tensorflow}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tensorflow\nVersion: {tensorflow}\n")
    return folder


def first_on_pythonpath(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """`folder` first on the PYTHONPATH of the commands the test runs (and of their children)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))


# The kinds of SPEC's cacheable tasks whose key holds TensorFlow's version (`tools` of the `layers`
# source kind, of pruning and of the converter backend). The others' keys do not: digits data
# (numpy, scikit-learn), representative samples (numpy), C arrays (tflite-micro).
TENSORFLOW_KEYED = ("savedmodel", "prune", "tflite")


def test_misses_name_a_changed_tool_version(origin: tuple[Project, CacheLocation, S3Server | None],
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(e) A clean checkout whose environment says tensorflow 2.0.0: `cache status` names the version change,
    and the build restores no task whose key holds TensorFlow's version.

    The dataset (digits: numpy, scikit-learn) and representative (numpy) keys do not hold it: they
    hit. The carray key holds tflite-micro's version and the .tflite's bytes; the rebuilt int8.tflite
    is byte-identical (the TensorFlow that runs is the same one: only its metadata says 2.0.0), so
    the C arrays are restored too.
    """
    from tflmake.engine.toolversions import tool_version

    _, location, _ = origin
    installed = tool_version("tensorflow")
    assert installed not in ("2.0.0", "not installed")
    project = checkout(tmp_path / "project", location, mode="read")
    first_on_pythonpath(monkeypatch, fake_site(tmp_path / "fake-site", "2.0.0"))
    status = project.tflmake("cache", "status")
    assert status.returncode == 1, status.output
    lines = status.output.splitlines()
    assert f'miss   savedmodel:tiny  (tools.tensorflow: "{installed}" -> "2.0.0")' in lines, status.output
    assert "hit    dataset:tiny" in lines and "hit    representative:tiny" in lines, status.output
    assert "2 hits, 1 misses among stale cacheable tasks" in lines, status.output

    run = project.tflmake()
    assert run.returncode == 0, run.output
    assert not [name for name in restored(run) if name.split(":")[0] in TENSORFLOW_KEYED], run.output
    assert sorted(restored(run)) == ["carray:tiny.int8", "dataset:tiny", "representative:tiny"], run.output
    built = sorted(name.split(":")[0] for name in run.executed if name.split(":")[0] in TENSORFLOW_KEYED)
    assert built == ["prune", "savedmodel", "tflite", "tflite", "tflite"], run.output
    assert re.search(r"^tflmake: 9 built, 3 restored from cache", run.output, re.MULTILINE), run.output
    manifest = json.loads((project.build / "tiny" / "manifest.json").read_text())
    assert manifest["tools"]["tensorflow"] == "2.0.0"


@pytest.fixture
def dead_endpoint() -> Iterator[tuple[str, list[int]]]:
    """An S3 endpoint whose every connection is accepted and dropped; yields its URL and the connection count."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", free_port()))
    listener.listen(16)
    accepted: list[int] = []

    def drop() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            connection.close()

    threading.Thread(target=drop, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    listener.close()


def test_no_op_with_a_cache_makes_no_request(origin: tuple[Project, CacheLocation, S3Server | None],
                                              dead_endpoint: tuple[str, list[int]], tmp_path: Path) -> None:
    """(i) An up-to-date build with a cache configured connects to it zero times."""
    original, _, _ = origin
    url, accepted = dead_endpoint
    work = tmp_path / "work"
    shutil.copytree(original.root, work, symlinks=True)
    options = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": url}}
    table = {"url": "s3://bucket", "storage-options": options}
    (work / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"tflmake": {"cache": table}}}))
    run = Project(work).tflmake(python_options=("-X", "importtime"))
    assert run.returncode == 0 and run.executed == [], run.output
    assert accepted == []
    imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", run.output, re.MULTILINE)
    assert "doit" in imported and "fsspec" not in imported and "tflmake.cache.store" not in imported


def test_unreachable_cache_warns_once_and_builds(dead_endpoint: tuple[str, list[int]], tmp_path: Path) -> None:
    """(d) The cache's server accepts and drops every connection: one warning, at most 3 connection attempts,
    the build succeeds (a stopped server: test_stopped_cache_server_warns_once_and_builds)."""
    url, accepted = dead_endpoint
    location = CacheLocation("s3://bucket", {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": url}})
    run = checkout(tmp_path / "project", location).tflmake("-n", "2")
    assert run.returncode == 0, run.output
    warnings = [line for line in run.output.splitlines() if "warning" in line and "cache" in line]
    assert len(warnings) == 1 and warnings[0].endswith("; building without the cache"), run.output
    assert 1 <= len(accepted) <= 3
    assert re.search(r"^tflmake: \d+ built, 0 restored from cache", run.output, re.MULTILINE)


# Installed by a sitecustomize.py first on a child's PYTHONPATH (children of `doit -n` inherit it):
# every socket connection the process attempts to CONNECT_LOG_PORT is appended to CONNECT_LOG.
CONNECT_LOGGER = """
import os
import sys

_PORT = int(os.environ.get("CONNECT_LOG_PORT", "0"))
_LOG = os.environ.get("CONNECT_LOG", "")


def _log_connect(event, args):
    if event == "socket.connect" and _LOG and isinstance(args[1], tuple) and args[1][1:2] == (_PORT,):
        with open(_LOG, "a") as log:
            log.write(f"{os.getpid()} {args[1][0]}:{args[1][1]}\\n")


sys.addaudithook(_log_connect)
"""


def log_connections(monkeypatch: pytest.MonkeyPatch, folder: Path, port: int) -> Path:
    """Make the commands the test runs log each connection attempt to `port`; returns the log's path."""
    (folder / "site").mkdir(parents=True)
    (folder / "site" / "sitecustomize.py").write_text(CONNECT_LOGGER)
    first_on_pythonpath(monkeypatch, folder / "site")
    log = folder / "connections.log"
    monkeypatch.setenv("CONNECT_LOG_PORT", str(port))
    monkeypatch.setenv("CONNECT_LOG", str(log))
    return log


def attempts(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_stopped_cache_server_warns_once_and_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(d) A real S3 server fills a cache, then is stopped (its port closed): a clean checkout builds with
    one warning, no task restored, and at most 3 connection attempts to the dead port, serially and with `-n 2`.

    The server is the test's own `weed mini` (the session's server stays up for the other tests).
    """
    server = start_s3_server(tmp_path / "s3")
    try:
        location = CacheLocation(f"s3://{server.new_bucket()}", server.storage_options)
        log = log_connections(monkeypatch, tmp_path / "connections", server.port)
        filled = checkout(tmp_path / "first", location).tflmake()
        assert filled.returncode == 0, filled.output
        assert len([name for name in cache_files(location) if name.startswith("ac/")]) == CACHED_TASKS
        assert attempts(log), "the connection log must see the live server's connections"
    finally:
        server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()

    for jobs in ((), ("-n", "2")):
        log.unlink(missing_ok=True)
        # A clean checkout on another machine: an empty local cache of its own (the first checkout filled this one's).
        monkeypatch.setenv("TFLMAKE_CACHE_LOCAL_DIR", (tmp_path / f"local-cache{len(jobs)}").as_posix())
        run = checkout(tmp_path / f"clean{len(jobs)}", location).tflmake(*jobs)
        assert run.returncode == 0, run.output
        warnings = [line for line in run.output.splitlines() if "warning" in line and "cache" in line]
        assert len(warnings) == 1 and warnings[0].endswith("; building without the cache"), run.output
        assert re.search(r"^tflmake: 12 built, 0 restored from cache, 0 up to date, 0 failed", run.output,
                         re.MULTILINE), run.output
        assert 1 <= len(attempts(log)) <= 3, (jobs, attempts(log))


def test_input_edited_while_its_task_runs_is_not_published(tmp_path: Path) -> None:
    """(g) A python source that edits its own module while the SavedModel builds: that task publishes nothing."""
    location = CacheLocation((tmp_path / "cache").as_posix(), {})
    project = checkout(tmp_path / "project", location)
    (project.specs / "edits_itself.py").write_text(
        "import pathlib\n\nimport keras\n\n\ndef build():\n"
        "    pathlib.Path(__file__).write_text(pathlib.Path(__file__).read_text() + '# edited\\n')\n"
        "    return keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),\n"
        "                             keras.layers.Dense(10, activation='softmax')])\n")
    project.add_spec("tiny", SPEC.replace(SPEC[:SPEC.index("[dataset]")],
                                          '\n[model.source]\ntype = "python"\nentry = "edits_itself:build"\n\n'))
    run = project.tflmake()
    assert run.returncode == 0, run.output
    assert "savedmodel:tiny: not published: " in run.output and "changed while the task ran" in run.output
    published = {name.split("/")[1] for name in cache_files(location) if name.startswith("ac/")}
    assert "savedmodel" not in published and "dataset" in published
