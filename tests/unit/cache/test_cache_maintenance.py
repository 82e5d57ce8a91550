"""Folder-cache gc and blob verification, on a real folder store."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

from tflmake.cache.maintenance import collect_garbage, parse_age, parse_size, verify_blobs
from tflmake.cache.store import Store
from tflmake.digest import sha256_file
from tflmake.errors import TflmakeError


def publish(store: Store, tmp_path: Path, name: str, data: bytes, age: float = 0) -> str:
    """An entry for task `tflite:<name>` with one blob holding `data`, written `age` seconds ago."""
    source = tmp_path / f"{name}.bin"
    source.write_bytes(data)
    digest = sha256_file(source)
    store.write_blob(digest, str(source))
    store.write_entry("tflite", name, "k" * 64, {"task": f"tflite:{name}",
                                                  "outputs": {"o": {"sha256": digest, "size": len(data)}}})
    then = time.time() - age
    os.utime(store.entry_path("tflite", name, "k" * 64), (then, then))
    return digest


def test_gc_removes_old_entries_then_their_blobs(tmp_path: Path) -> None:
    """Entries older than the age go, and the blobs only they used; an entry never loses its blob."""
    store = Store((tmp_path / "cache").as_posix())
    old = publish(store, tmp_path, "old", b"o" * 100, age=40 * 86400)
    new = publish(store, tmp_path, "new", b"n" * 100)
    out = io.StringIO()
    assert collect_garbage(store, "", "30d", out) == 0
    assert not store.has_blob(old) and store.has_blob(new)
    assert store.read_entry("tflite", "old", "k" * 64) is None
    assert out.getvalue().startswith("removed 1 entries and 1 blobs")


def test_gc_trims_oldest_first_to_the_size(tmp_path: Path) -> None:
    store = Store((tmp_path / "cache").as_posix())
    oldest = publish(store, tmp_path, "a", b"a" * 4000, age=300)
    newest = publish(store, tmp_path, "b", b"b" * 4000, age=10)
    collect_garbage(store, "6K", "", io.StringIO())
    assert not store.has_blob(oldest) and store.has_blob(newest)


def test_verify_names_a_corrupt_blob(tmp_path: Path) -> None:
    store = Store((tmp_path / "cache").as_posix())
    digest = publish(store, tmp_path, "m.int8", b"model bytes")
    out = io.StringIO()
    assert verify_blobs(store, 0, out) == 0
    Path(store.blob_path(digest)).write_bytes(b"model bytez")
    assert verify_blobs(store, 0, out) == 1
    assert f"tflite:m.int8: o: blob {digest[:12]} is corrupt" in out.getvalue()
    assert json.loads(Path(store.entry_path("tflite", "m.int8", "k" * 64)).read_text())["task"] == "tflite:m.int8"


def test_sizes_and_ages_parse_and_bad_ones_are_named() -> None:
    assert parse_size("500M") == 500 * 2**20 and parse_size("2g") == 2 * 2**30 and parse_size("1024") == 1024
    assert parse_age("30d") == 30 * 86400 and parse_age("12h") == 43200
    with pytest.raises(TflmakeError, match="--max-size: expected a size such as 500M"):
        parse_size("lots")
    with pytest.raises(TflmakeError, match="--older-than: expected an age such as 30d"):
        parse_age("1 year")
