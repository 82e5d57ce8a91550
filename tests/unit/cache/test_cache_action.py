"""Publish and restore around one task, on a real folder store (no TensorFlow: the "builder" writes bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tflmake.cache.action import CorruptEntry, publish, restore
from tflmake.cache.config import CacheConfig
from tflmake.cache.key import InputHashes, TaskFacts, action_key, facts_from_task, key_document
from tflmake.cache.store import Store
from tflmake.engine.fingerprint import key_and_targets_unchanged


def carray_task(root: Path) -> TaskFacts:
    """A carray-like task: one input, two file targets, in a build folder under `root`."""
    (root / "build" / "m").mkdir(parents=True, exist_ok=True)
    (root / "build" / "m" / "int8.tflite").write_bytes(b"tflite bytes")
    task = {"basename": "carray", "name": "m.int8", "file_dep": [f"{root}/build/m/int8.tflite"],
            "targets": [f"{root}/build/m/int8_model_data.c", f"{root}/build/m/int8_model_data.h"],
            "uptodate": [key_and_targets_unchanged({"model": "m", "tools": {"tflite-micro": "1"}})]}
    return facts_from_task(task, f"{root}/build", str(root), "m")


def build(facts: TaskFacts) -> None:
    for target in facts.targets:
        Path(target).write_text(f"generated {Path(target).name}")


def published(store: Store, facts: TaskFacts, config: CacheConfig) -> tuple[str, bool]:
    document, stats = key_document(facts, "", InputHashes(f"{facts.build_dir}/.hashes.json"))
    key = action_key(document)
    return key, publish(store, facts, key, document, stats, config)


def test_publish_then_restore_in_another_checkout(tmp_path: Path) -> None:
    """What one checkout published, another restores byte for byte (its targets absent before)."""
    store = Store((tmp_path / "cache").as_posix())
    first = carray_task(tmp_path / "one")
    build(first)
    key, done = published(store, first, CacheConfig(url=store.url, mode="read-write"))
    assert done
    second = carray_task(tmp_path / "two")
    entry = store.read_entry("carray", "m.int8", key)
    assert entry is not None
    restore(store, second, entry)
    assert [Path(t).read_text() for t in second.targets] == [Path(t).read_text() for t in first.targets]


def test_corrupt_blob_restores_nothing(tmp_path: Path) -> None:
    """All blobs are verified before any is renamed into the build folder."""
    store = Store((tmp_path / "cache").as_posix())
    first = carray_task(tmp_path / "one")
    build(first)
    key, _ = published(store, first, CacheConfig(url=store.url, mode="read-write"))
    entry = store.read_entry("carray", "m.int8", key)
    assert entry is not None
    last = sorted(entry["outputs"].values(), key=lambda record: record["sha256"])[-1]["sha256"]
    Path(store.blob_path(last)).write_bytes(b"flipped")
    second = carray_task(tmp_path / "two")
    with pytest.raises(CorruptEntry, match=f"blob {last[:12]} of build/m/int8_model_data.[ch] is corrupt"):
        restore(store, second, entry)
    assert not any(Path(t).exists() for t in second.targets)


def test_output_over_max_blob_size_is_not_published(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store((tmp_path / "cache").as_posix())
    facts = carray_task(tmp_path)
    build(facts)
    Path(facts.targets[0]).write_bytes(b"x" * 2**20)
    _, done = published(store, facts, CacheConfig(url=store.url, mode="read-write", max_blob_mb=0.5))
    assert not done
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.json"))
    assert "not published: build/m/int8_model_data.c is larger than max-blob-mb = 0.5" in capsys.readouterr().err


def test_input_changed_after_hashing_blocks_publishing(tmp_path: Path) -> None:
    """The inputs are re-stat'ed before publishing: an edit while the task ran publishes nothing."""
    store = Store((tmp_path / "cache").as_posix())
    facts = carray_task(tmp_path)
    document, stats = key_document(facts, "", InputHashes(f"{facts.build_dir}/.hashes.json"))
    build(facts)
    Path(facts.inputs[0]).write_bytes(b"tflite bytes, edited")
    assert not publish(store, facts, action_key(document), document, stats,
                       CacheConfig(url=store.url, mode="read-write"))
    assert not (tmp_path / "cache").exists()
