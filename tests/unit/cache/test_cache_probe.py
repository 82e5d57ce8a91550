"""A model's lookups in one batch per level, on a real folder store (no TensorFlow: the "builders" write bytes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tflmake.cache import RESTORED, action
from tflmake.cache.action import run_cached
from tflmake.cache.config import CacheConfig
from tflmake.cache.key import InputHashes, TaskFacts, facts_from_task
from tflmake.cache.probe import Levels, look_up
from tflmake.cache.store import CacheUnavailable, Store
from tflmake.engine.fingerprint import key_and_targets_unchanged


def chain(root: Path) -> list[TaskFacts]:
    """A tflite-like task made from a spec-folder file, and the carray-like task made from its output."""
    (root / "build" / "m").mkdir(parents=True, exist_ok=True)
    (root / "weights.bin").write_bytes(b"the model")
    tasks = [
        {"basename": "tflite", "name": "m.int8", "file_dep": [f"{root}/weights.bin"],
         "targets": [f"{root}/build/m/int8.tflite"]},
        {"basename": "carray", "name": "m.int8", "file_dep": [f"{root}/build/m/int8.tflite"],
         "targets": [f"{root}/build/m/int8_model_data.c", f"{root}/build/m/int8_model_data.h"]},
    ]
    return [facts_from_task({**task, "uptodate": [key_and_targets_unchanged({"model": "m"})]},
                            f"{root}/build", str(root), "m") for task in tasks]


def builder(facts: TaskFacts) -> Callable[[], None]:
    def build() -> None:
        for target in facts.targets:
            Path(target).write_text(f"{facts.name} made {Path(target).name}")
    return build


def counted(store: Store) -> list[str]:
    """Record every read the store's real file system is asked for (the calls still happen)."""
    calls: list[str] = []
    for name in ("cat", "cat_file", "get_file"):
        method = getattr(store.fs, name)

        def wrapper(*args: Any, _method: Any = method, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _method(*args, **kwargs)
        setattr(store.fs, name, wrapper)
    return calls


@pytest.fixture(autouse=True)
def fresh_process_memo() -> None:
    """Each test is a run of its own: nothing looked up ahead by an earlier one."""
    action._ahead.clear()
    action._ahead_blobs.clear()
    action._models_looked_up.clear()


def filled_store(tmp_path: Path) -> tuple[Store, CacheConfig]:
    store = Store((tmp_path / "cache").as_posix())
    # The shared cache alone: these tests count its requests (the local level: test_cache_local.py).
    config = CacheConfig(url=store.url, mode="read-write", local=False)
    for facts in chain(tmp_path / "one"):
        assert run_cached(facts, config, builder(facts)) is None
    return store, config


def test_a_chain_is_looked_up_one_batch_per_level(tmp_path: Path) -> None:
    """A fresh checkout: the carray key comes from the tflite entry's recorded target, before any restore."""
    store, config = filled_store(tmp_path)
    second = chain(tmp_path / "two")
    calls = counted(store)
    lookups = look_up(store, "", second, InputHashes(f"{second[0].build_dir}/.hashes.json"))
    assert [lookup.hit for lookup in lookups] == [True, True]
    assert not Path(second[0].targets[0]).exists()  # nothing restored: looking up only reads entries
    assert len(calls) == 2  # one read per level (each level here has one task)


def test_levels_answer_each_place_from_the_first_store_holding_it(tmp_path: Path) -> None:
    """The later store is asked only for what the earlier one lacks; a downstream key follows the upstream hit."""
    store, _ = filled_store(tmp_path)
    first_level = Store((tmp_path / "first").as_posix())  # holds the tflite task's entry only
    tflite = chain(tmp_path / "one")[0]
    for entry in store.entries(tflite.kind, tflite.label):
        assert first_level.write_entry(tflite.kind, tflite.label, entry["key"], entry)
    asked: list[str] = []  # the tasks whose entries the later store is asked for
    read_entries = store.read_entries

    def asking(places: list[tuple[str, str, str]]) -> list[dict[str, Any] | None]:
        asked.extend(f"{kind}:{label}" for kind, label, _ in places)
        return read_entries(places)
    store.read_entries = asking  # type: ignore[method-assign]
    second = chain(tmp_path / "two")
    levels = Levels([first_level, store], lambda failed, error: pytest.fail(str(error)))
    lookups = look_up(levels, "", second, InputHashes(f"{second[0].build_dir}/.hashes.json"))
    assert [lookup.hit for lookup in lookups] == [True, True]
    assert [levels.found_in[lookup.key or ""] for lookup in lookups] == [first_level, store]
    assert asked == [second[1].name]


def test_a_level_that_fails_is_dropped_and_the_next_answers(tmp_path: Path) -> None:
    """`dropped` hears of the failed store once; the lookup goes on with the stores left."""
    store, _ = filled_store(tmp_path)
    (tmp_path / "not-a-folder").write_text("a file where a cache folder should be")
    broken = Store((tmp_path / "not-a-folder").as_posix())
    failures: list[Store] = []
    levels = Levels([broken, store], lambda failed, error: failures.append(failed))
    second = chain(tmp_path / "two")
    lookups = look_up(levels, "", second, InputHashes(f"{second[0].build_dir}/.hashes.json"))
    assert [lookup.hit for lookup in lookups] == [True, True]
    assert failures == [broken] and levels.stores == [store]


def test_a_level_whose_failure_is_raised_stops_the_lookup(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("a file where a cache folder should be")
    broken = Store((tmp_path / "not-a-folder").as_posix())

    def stop(failed: Store, error: CacheUnavailable) -> None:
        raise error

    second = chain(tmp_path / "two")
    with pytest.raises(CacheUnavailable, match="not-a-folder"):
        look_up(Levels([broken], stop), "", second, InputHashes(f"{second[0].build_dir}/.hashes.json"))


def test_a_task_whose_maker_misses_waits_for_it(tmp_path: Path) -> None:
    store, config = filled_store(tmp_path)
    second = chain(tmp_path / "two")
    (tmp_path / "two" / "weights.bin").write_bytes(b"another model")
    lookups = look_up(store, "", second, InputHashes(f"{second[0].build_dir}/.hashes.json"))
    assert not lookups[0].hit and lookups[0].document is not None
    assert lookups[1].key is None and lookups[1].blocked_by == second[1].inputs[0]


def test_siblings_looked_up_ahead_restore_without_a_request_of_their_own(tmp_path: Path) -> None:
    """The model's first stale task looks up the rest; the carray task then restores with no read."""
    store, config = filled_store(tmp_path)
    second = chain(tmp_path / "two")
    read_only = CacheConfig(url=config.url, mode="read", local=False)
    action._stores[read_only.url or ""] = store
    calls = counted(store)
    assert run_cached(second[0], read_only, builder(second[0]), lambda: second) == RESTORED
    first_task_reads = len(calls)
    assert run_cached(second[1], read_only, builder(second[1]), lambda: second) == RESTORED
    assert len(calls) == first_task_reads, calls
    for one, two in zip(chain(tmp_path / "one"), second, strict=True):
        assert [Path(t).read_bytes() for t in two.targets] == [Path(t).read_bytes() for t in one.targets]


def test_a_corrupt_blob_fetched_ahead_is_still_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store, config = filled_store(tmp_path)
    blob = next(path for path in (tmp_path / "cache" / "cas").rglob("*")
                if path.is_file() and path.read_bytes().startswith(b"carray"))
    blob.write_bytes(b"carray made something else")
    second = chain(tmp_path / "two")
    action._stores[config.url or ""] = store
    assert run_cached(second[0], config, builder(second[0]), lambda: second) == RESTORED
    assert run_cached(second[1], config, builder(second[1]), lambda: second) is None  # built locally
    assert f"tflmake: cache: {second[1].name}: blob {blob.name[:12]}" in capsys.readouterr().err


def test_read_many_keeps_order_and_says_none_for_missing(tmp_path: Path) -> None:
    store = Store((tmp_path / "cache").as_posix())
    store.write_blob("ab" * 32, __file__)
    found = store.read_blobs(["cd" * 32, "ab" * 32, "ab" * 32])
    assert found[0] is None and found[1] == found[2] == Path(__file__).read_bytes()


def test_blobs_beyond_the_memory_budget_are_fetched_by_their_own_task(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store, config = filled_store(tmp_path)
    monkeypatch.setattr(action, "AHEAD_TOTAL_BYTES", 0)
    second = chain(tmp_path / "two")
    action._stores[config.url or ""] = store
    calls = counted(store)
    assert run_cached(second[0], config, builder(second[0]), lambda: second) == RESTORED
    assert action._ahead_blobs == {}
    before = len(calls)
    assert run_cached(second[1], config, builder(second[1]), lambda: second) == RESTORED
    assert calls[before:] == ["get_file", "get_file"]  # its two blobs; its entry was looked up ahead
