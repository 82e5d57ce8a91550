"""The task cache: a spec's task dicts are reused only while everything they were made from is unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tflmake.engine import taskcache
from tflmake.graph.tasks import project_tasks

REPO = Path(__file__).resolve().parents[3]
MLP = (REPO / "tests" / "data" / "specs" / "digits_mlp.toml").read_text()

# Every task of the project as doit would read it, from a fresh process (so from the cache
# file when one is there), plus whether any spec was described afresh.
DESCRIBE = """
import json
import os
from tflmake.graph import tasks as graph
described = []
original = graph.model_tasks
graph.model_tasks = lambda spec, layout: described.append(spec.name) or original(spec, layout)
namespace = graph.project_tasks()
tasks = [task for key, creator in namespace.items() if key.startswith("task_") for task in creator()]
print(json.dumps({"described": described, "tasks": [
    {"name": f"{task['basename']}:{task.get('name')}", "file_dep": sorted(task.get("file_dep", [])),
     "targets": task.get("targets"), "keys": [getattr(u, "config_digest", None) for u in task.get("uptodate", [])],
     "actions": [f"{a[0].__module__}.{a[0].__qualname__}{a[1:]!r}" for a in task.get("actions", [])]}
    for task in tasks]}))
"""


def describe(project: Path) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-c", DESCRIBE], cwd=project, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "modelspecs").mkdir()
    (tmp_path / "modelspecs" / "digits_mlp.toml").write_text(MLP)
    return tmp_path


def test_second_load_reuses_every_task_unchanged(project: Path) -> None:
    """A fresh process describes no spec and gets the same tasks, keys and dependencies."""
    first = describe(project)
    second = describe(project)
    assert first["described"] == ["digits_mlp"]
    assert second["described"] == []
    assert second["tasks"] == first["tasks"]
    assert (project / "build" / ".task-cache.pickle").is_file()


def test_edited_spec_is_described_again(project: Path) -> None:
    """A changed spec text means new task dicts: the edit reaches the task keys."""
    first = describe(project)
    spec = project / "modelspecs" / "digits_mlp.toml"
    spec.write_text(spec.read_text().replace("epochs = 5", "epochs = 6"))
    second = describe(project)
    assert second["described"] == ["digits_mlp"]
    keys = {task["name"]: task["keys"] for task in second["tasks"]}
    assert keys["savedmodel:digits_mlp"] != {t["name"]: t["keys"] for t in first["tasks"]}["savedmodel:digits_mlp"]


def test_a_named_file_that_disappears_is_a_spec_error_again(project: Path) -> None:
    """A cached spec whose keras file was deleted is loaded afresh and fails as it would uncached."""
    (project / "model.keras").write_bytes(b"k")
    (project / "modelspecs" / "digits_mlp.toml").write_text(
        '[model.source]\ntype = "keras_file"\npath = "../model.keras"\n[[variant]]\nname = "f"\n')
    assert [t["name"] for t in describe(project)["tasks"] if t["name"].startswith("spec:digits_mlp")] == []
    (project / "model.keras").unlink()
    errors = [t for t in describe(project)["tasks"] if t["name"].startswith("spec:digits_mlp")]
    assert len(errors) == 1 and "model.source.path: no such file" in errors[0]["actions"][0]


def test_a_file_added_to_a_saved_model_source_becomes_a_dependency(project: Path) -> None:
    """What a SavedModel directory holds is part of the entry: a new file there is a new file_dep."""
    (project / "sm" / "variables").mkdir(parents=True)
    (project / "sm" / "saved_model.pb").write_bytes(b"pb")
    (project / "modelspecs" / "digits_mlp.toml").write_text(
        '[model.source]\ntype = "saved_model"\npath = "../sm"\n[[variant]]\nname = "f"\n')
    describe(project)
    (project / "sm" / "variables" / "variables.index").write_bytes(b"i")
    second = describe(project)
    deps = next(t["file_dep"] for t in second["tasks"] if t["name"] == "savedmodel:digits_mlp")
    assert second["described"] == ["digits_mlp"]
    assert deps == ["sm/saved_model.pb", "sm/variables/variables.index"]


def test_other_tool_versions_doit_or_tflmake_code_empty_the_cache(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries made with other tool versions, another doit or another tflmake are never used."""
    monkeypatch.chdir(project)
    describe(project)
    cache_file = "build/.task-cache.pickle"
    fresh = taskcache.TaskCache(cache_file, "build", lambda spec: ([], []))
    assert fresh._stored, "the entry is there for an unchanged environment"
    monkeypatch.setattr(taskcache.toolversions, "tool_version", lambda tool: "another version")
    assert not taskcache.TaskCache(cache_file, "build", lambda spec: ([], []))._stored
    monkeypatch.undo()
    monkeypatch.chdir(project)
    monkeypatch.setattr(taskcache, "code_stamp", lambda: [("graph.py", 1, 2)])
    assert not taskcache.TaskCache(cache_file, "build", lambda spec: ([], []))._stored
    monkeypatch.undo()
    monkeypatch.chdir(project)
    monkeypatch.setattr(taskcache, "DOIT_VERSION", (0, 99, 0))
    assert not taskcache.TaskCache(cache_file, "build", lambda spec: ([], []))._stored


def test_unreadable_cache_file_is_ignored_and_replaced(project: Path) -> None:
    """A truncated or foreign cache file only means every spec is described again."""
    describe(project)
    (project / "build" / ".task-cache.pickle").write_bytes(b"\x80\x05garbage")
    assert describe(project)["described"] == ["digits_mlp"]
    assert describe(project)["described"] == []


def test_saved_cache_keeps_only_current_specs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A removed spec's entry is dropped from the file when the project is next loaded."""
    (project / "modelspecs" / "other.toml").write_text(MLP.replace('name = "digits_mlp"', 'name = "other"'))
    describe(project)
    (project / "modelspecs" / "other.toml").unlink()
    describe(project)
    monkeypatch.chdir(project)
    saved = taskcache.TaskCache("build/.task-cache.pickle", "build", lambda spec: ([], []))
    assert [Path(path).name for path in saved._stored] == ["digits_mlp.toml"]


def test_project_tasks_in_process_matches_a_fresh_process(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading from the cache inside this process gives the same task names as describing afresh."""
    monkeypatch.chdir(project)
    names = []
    for _ in range(2):
        namespace = project_tasks()
        names.append([f"{t['basename']}:{t.get('name')}" for key, creator in namespace.items()
                      if key.startswith("task_") for t in creator()])
    assert names[0] == names[1] and "tflite:digits_mlp.int8" in names[0]


def test_a_new_signing_key_describes_the_spec_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The carray key holds the public key's id: a key set, replaced or unset must not reuse old task dicts."""
    pytest.importorskip("cryptography")
    from tests.psa import write_signing_key

    key = project / "signing.pem"
    write_signing_key(key)
    monkeypatch.setenv("TFLMAKE_SIGNING_KEY", str(key))
    assert describe(project)["described"] == ["digits_mlp"]
    assert describe(project)["described"] == []
    write_signing_key(key)
    os.utime(key, ns=(1, 1))
    assert describe(project)["described"] == ["digits_mlp"]
    monkeypatch.delenv("TFLMAKE_SIGNING_KEY")
    assert describe(project)["described"] == ["digits_mlp"]
