"""Before submitting, the driver looks stale models up in the cache: a model it holds whole needs no job.

A real folder store (and a dead S3 endpoint for the unreachable case); no
TensorFlow, no engine: the "builders" write bytes, and the executor named is
never reached when nothing is left to submit.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from tests.s3server import free_port
from tests.unit.cluster.test_cluster_plan import CSV, MODEL

from tflmake.cache import RESTORED, action
from tflmake.cache.action import publish, run_cached
from tflmake.cache.config import LOCAL_DIR_ENV, CacheConfig
from tflmake.cache.key import InputHashes, TaskFacts, action_key, facts_from_task, key_document
from tflmake.cache.store import CacheUnavailable, Store
from tflmake.cluster.driver import fill_cache
from tflmake.cluster.plan import StaleModel
from tflmake.cluster.restorable import Probe, probe
from tflmake.engine.fingerprint import key_and_targets_unchanged
from tflmake.spec.load import load_spec


def checkout(root: Path, names: tuple[str, ...]) -> dict[str, StaleModel]:
    """A project whose models each have a tflite-like task (from a spec-folder file) and a carray-like one."""
    models = {}
    for name in names:
        (root / "modelspecs").mkdir(parents=True, exist_ok=True)
        (root / "modelspecs" / f"{name}.csv").write_text("ax,label\n1,0\n2,0\n")
        (root / "modelspecs" / f"{name}.bin").write_bytes(f"weights of {name}".encode())
        (root / "modelspecs" / f"{name}.toml").write_text(MODEL + CSV.format(path=f"{name}.csv"))
        spec = load_spec(root / "modelspecs" / f"{name}.toml")
        build, specs = f"{root}/build", f"{root}/modelspecs"
        tasks = [
            {"basename": "tflite", "name": f"{name}.int8", "file_dep": [f"{specs}/{name}.bin"],
             "targets": [f"{build}/{name}/int8.tflite"]},
            {"basename": "carray", "name": f"{name}.int8", "file_dep": [f"{build}/{name}/int8.tflite"],
             "targets": [f"{build}/{name}/int8_model_data.c", f"{build}/{name}/int8_model_data.h"]},
        ]
        facts = tuple(facts_from_task({**task, "uptodate": [key_and_targets_unchanged({"model": name})]},
                                      build, specs, name) for task in tasks)
        models[name] = StaleModel(spec, tuple(f.name for f in facts), facts)
    return models


def build_and_publish(store: Store, facts: TaskFacts) -> None:
    """What a CI build does for one task: write its targets, then publish them."""
    for target in facts.targets:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(f"{facts.name} made {Path(target).name}")
    document, stats = key_document(facts, "", InputHashes(f"{facts.build_dir}/.hashes.json"))
    assert publish(store, facts, action_key(document), document, stats, CacheConfig(url=store.url, mode="read-write"))


@pytest.fixture
def cache(tmp_path: Path) -> CacheConfig:
    """CI built `whole` completely and `half` up to its tflite task; a fresh checkout has neither built."""
    # The shared cache alone: these tests count its requests (the local cache is tested in tests/unit/cache).
    config = CacheConfig(url=(tmp_path / "cache").as_posix(), mode="read-write", local=False)
    store = Store(config.url or "")
    ci = checkout(tmp_path / "ci", ("whole", "half"))
    for facts in (*ci["whole"].stale, ci["half"].stale[0]):
        build_and_publish(store, facts)
    return config


def test_models_the_cache_holds_whole_need_no_job(cache: CacheConfig, tmp_path: Path) -> None:
    """Every stale task a hit (downstream keys from upstream entries): restore; one miss: submit."""
    fresh = checkout(tmp_path / "fresh", ("whole", "half"))
    probed = probe([fresh["whole"], fresh["half"]], cache)
    assert [m.spec.name for m in probed.restore] == ["whole"]
    assert [m.spec.name for m in probed.submit] == ["half"]
    assert probed.looked_up == 4 and probed.seconds >= 0
    assert not (tmp_path / "fresh" / "build" / "whole").exists()  # looked up, nothing restored yet


def test_a_model_not_looked_up_is_submitted(cache: CacheConfig, tmp_path: Path) -> None:
    """No facts of its stale tasks (a caller that gives only names): unknown, so the cluster builds it."""
    fresh = checkout(tmp_path / "fresh", ("whole",))
    bare = StaleModel(fresh["whole"].spec, fresh["whole"].tasks)
    assert probe([bare], cache) == Probe((bare,), (), 0, 0.0)
    mixed = probe([bare, fresh["whole"]], cache)
    assert mixed.submit == (bare,) and mixed.restore == (fresh["whole"],)


def test_nothing_submitted_when_the_cache_holds_every_model(cache: CacheConfig, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """One line; the engine is never reached (a dead scheduler address would be a warning)."""
    fresh = checkout(tmp_path / "fresh", ("whole",))
    monkeypatch.chdir(tmp_path / "fresh")
    lines: list[str] = []
    assert fill_cache(f"dask://127.0.0.1:{free_port()}", [fresh["whole"]], cache, "modelspecs", lines.append) == {}
    assert len(lines) == 1, lines
    assert lines[0].startswith("cluster: 1 of 1 models restore from the cache (2 tasks looked up in ")
    assert lines[0].endswith(" s); nothing submitted")


def test_an_unreachable_cache_during_the_probe_is_one_warning_and_no_job(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs could neither fetch their files nor publish: one warning, nothing shipped or submitted."""
    fresh = checkout(tmp_path / "fresh", ("whole", "half"))
    monkeypatch.chdir(tmp_path / "fresh")
    dead = CacheConfig(url="s3://bucket", mode="read-write", storage_options={
        "key": "k", "secret": "s", "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{free_port()}"}})
    with pytest.raises(CacheUnavailable):
        probe(list(fresh.values()), dead)
    lines: list[str] = []
    assert fill_cache(f"dask://127.0.0.1:{free_port()}", list(fresh.values()), dead, "modelspecs", lines.append) == {}
    assert len(lines) == 1, lines
    assert lines[0].startswith("tflmake: warning: cache s3://bucket unavailable: ")
    assert lines[0].endswith("; building without the cluster")


@pytest.fixture
def with_local(cache: CacheConfig) -> CacheConfig:
    """The same shared cache, with the local cache on (its folder: this test's own, tests/conftest.py)."""
    return replace(cache, local=True)


def copy_entries(source: Store, target: Store, facts: TaskFacts) -> None:
    """What a build that restored or made `facts` left in `target` (its entry; blobs are not looked up)."""
    for entry in source.entries(facts.kind, facts.label):
        assert target.write_entry(facts.kind, facts.label, entry["key"], entry)


def test_a_model_the_local_cache_holds_whole_needs_no_job(with_local: CacheConfig, local_cache: Path,
                                                          tmp_path: Path) -> None:
    """An option changed back: the shared cache lacks the model, the local cache holds every stale task."""
    for facts in checkout(tmp_path / "earlier", ("other",))["other"].stale:  # keys name no folder
        build_and_publish(Store(local_cache.as_posix()), facts)
    fresh = checkout(tmp_path / "fresh", ("other",))
    probed = probe([fresh["other"]], with_local)
    assert probed.restore == (fresh["other"],) and probed.submit == ()
    assert (probed.local_hits, probed.shared_hits) == (2, 0)
    assert probe([fresh["other"]], replace(with_local, local=False)).submit == (fresh["other"],)  # before


def test_a_model_the_local_and_shared_caches_hold_together_needs_no_job(with_local: CacheConfig, local_cache: Path,
                                                                       tmp_path: Path) -> None:
    """The local cache holds `half`'s carray task, the shared one its tflite task: restored as the build would."""
    fresh = checkout(tmp_path / "fresh", ("whole", "half"))
    copy_entries(Store(with_local.url or ""), Store(local_cache.as_posix()), fresh["whole"].stale[0])
    ci = checkout(tmp_path / "ci", ("half",))
    build_and_publish(Store(local_cache.as_posix()), ci["half"].stale[1])  # carray, keyed by the shared tflite
    probed = probe([fresh["whole"], fresh["half"]], with_local)
    assert [m.spec.name for m in probed.restore] == ["whole", "half"] and probed.submit == ()
    assert (probed.local_hits, probed.shared_hits) == (2, 2)


def test_only_shared_hits_are_remembered_for_the_drivers_build(with_local: CacheConfig, local_cache: Path,
                                                               tmp_path: Path) -> None:
    """The build reads local entries from its own folder first; `_ahead` stands for the shared store only."""
    fresh = checkout(tmp_path / "fresh", ("whole",))
    copy_entries(Store(with_local.url or ""), Store(local_cache.as_posix()), fresh["whole"].stale[0])
    action._ahead.clear()
    probed = probe([fresh["whole"]], with_local)
    assert (probed.local_hits, probed.shared_hits) == (1, 1)
    assert [entry["task"] for entry in action._ahead.values() if entry] == ["carray:whole.int8"]
    action._ahead.clear()


def test_an_unreadable_local_cache_is_one_warning_and_the_shared_cache_answers(
        cache: CacheConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """As in a build: `building without the local cache`, and the models the shared cache holds still restore."""
    (tmp_path / "not-a-folder").write_text("a file where the local cache folder should be")
    monkeypatch.setenv(LOCAL_DIR_ENV, (tmp_path / "not-a-folder").as_posix())
    fresh = checkout(tmp_path / "fresh", ("whole", "half"))
    probed = probe([fresh["whole"], fresh["half"]], replace(cache, local=True))
    assert [m.spec.name for m in probed.restore] == ["whole"]
    assert (probed.local_hits, probed.shared_hits) == (0, 3)
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 1 and warnings[0].endswith("; building without the local cache"), warnings
    assert f"{tmp_path}/not-a-folder" in action._unavailable  # the driver's build skips it too


def test_the_line_says_which_cache_holds_the_hits(with_local: CacheConfig, local_cache: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With the local cache on, the probe line counts its hits and the shared cache's."""
    fresh = checkout(tmp_path / "fresh", ("whole",))
    copy_entries(Store(with_local.url or ""), Store(local_cache.as_posix()), fresh["whole"].stale[0])
    monkeypatch.chdir(tmp_path / "fresh")
    lines: list[str] = []
    assert fill_cache(f"dask://127.0.0.1:{free_port()}", [fresh["whole"]], with_local, "modelspecs",
                      lines.append) == {}
    assert re.fullmatch(r"cluster: 1 of 1 models restore from the cache \(2 tasks looked up in [0-9.]+ s; "
                        r"1 hits in the local cache, 1 in the shared one\); nothing submitted", lines[0]), lines


def test_the_drivers_build_does_not_read_entries_the_probe_found(cache: CacheConfig, tmp_path: Path) -> None:
    """Hits the probe read are remembered (misses are not: a job may publish them meanwhile)."""
    fresh = checkout(tmp_path / "fresh", ("whole", "half"))
    action._ahead.clear()
    action._models_looked_up.clear()
    probe([fresh["whole"], fresh["half"]], cache)
    assert sorted(entry["task"] for entry in action._ahead.values() if entry) == \
        ["carray:whole.int8", "tflite:half.int8", "tflite:whole.int8"]
    store = Store(cache.url or "")
    action._stores[cache.url or ""] = store
    reads: list[str] = []
    for name in ("cat", "cat_file"):
        method = getattr(store.fs, name)
        setattr(store.fs, name, lambda *args, _method=method, _name=name, **kwargs: (reads.append(_name),
                                                                                      _method(*args, **kwargs))[1])
    whole = fresh["whole"].stale
    for facts in whole:
        assert run_cached(facts, cache, lambda: pytest.fail("restored, not built"), lambda: whole) == RESTORED
    # No entry read: one batch fetching the carray task's two blobs ahead (a folder store's `cat` reads them
    # one by one). Without the probe's hits: an entry read for each task before it.
    assert reads == ["cat", "cat_file", "cat_file"]
    action._ahead.clear()
    action._models_looked_up.clear()
