"""The store on a real folder and a real S3 server: create-only writes, restore checks, unreachable stores."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from tests.s3server import free_port
from tests.support import CacheLocation

from tflmake.cache.archive import pack_folder, unpack_folder
from tflmake.cache.store import CacheUnavailable, Store
from tflmake.digest import sha256_file


def test_blob_round_trip_and_missing_blob(cache_store: CacheLocation, tmp_path: Path) -> None:
    store = Store(cache_store.url, cache_store.storage_options)
    source = tmp_path / "a.bin"
    source.write_bytes(b"bytes of an artifact")
    digest = sha256_file(source)
    assert store.write_blob(digest, str(source))
    assert store.has_blob(digest)
    assert store.read_blob(digest, str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == b"bytes of an artifact"
    assert not store.read_blob("0" * 64, str(tmp_path / "none.bin"))


def test_entries_are_create_only(cache_store: CacheLocation) -> None:
    """A second writer of the same key changes nothing (S3 If-None-Match; a link on a folder)."""
    store = Store(cache_store.url, cache_store.storage_options)
    assert store.write_entry("tflite", "m.int8", "k" * 64, {"outputs": {"a": 1}})
    assert not store.write_entry("tflite", "m.int8", "k" * 64, {"outputs": {"a": 2}})
    assert store.read_entry("tflite", "m.int8", "k" * 64) == {"outputs": {"a": 1}}
    assert store.write_entry("tflite", "m.int8", "k" * 64, {"outputs": {"a": 3}}, overwrite=True)
    assert store.read_entry("tflite", "m.int8", "k" * 64) == {"outputs": {"a": 3}}
    assert [entry["outputs"] for entry in store.entries("tflite", "m.int8")] == [{"a": 3}]
    assert store.read_entry("tflite", "m.int8", "j" * 64) is None


def test_unreachable_s3_fails_fast_after_few_connection_attempts(tmp_path: Path) -> None:
    """A dead endpoint is CacheUnavailable after at most 3 connections, not minutes of retries."""
    port = free_port()
    attempts = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen(16)

    def refuse() -> None:
        # Accept and drop: a server that is there but does not answer S3.
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            attempts.append(1)
            connection.close()

    threading.Thread(target=refuse, daemon=True).start()
    store = Store("s3://bucket", {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"}})
    with pytest.raises(CacheUnavailable, match="unavailable"):
        store.read_entry("tflite", "m.int8", "k" * 64)
    listener.close()
    assert 1 <= len(attempts) <= 3


def test_folder_archive_is_deterministic(tmp_path: Path) -> None:
    """Equal folders give equal tar bytes, whatever their files' times; unpacking gives the files back."""
    for name in ("a", "b"):
        (tmp_path / name / "variables").mkdir(parents=True)
        (tmp_path / name / "saved_model.pb").write_bytes(b"graph")
        (tmp_path / name / "variables" / "v.data").write_bytes(b"weights")
    (tmp_path / "b" / "saved_model.pb").touch()
    pack_folder(str(tmp_path / "a"), str(tmp_path / "a.tar"))
    pack_folder(str(tmp_path / "b"), str(tmp_path / "b.tar"))
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    unpack_folder(str(tmp_path / "a.tar"), str(tmp_path / "c"))
    assert (tmp_path / "c" / "variables" / "v.data").read_bytes() == b"weights"


def test_stopped_s3_server_is_unavailable_within_seconds() -> None:
    """Nothing listens on the port (a stopped server): CacheUnavailable at once, no minutes of retries."""
    port = free_port()
    store = Store("s3://bucket", {"key": "k", "secret": "s",
                                  "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"}})
    started = time.monotonic()
    with pytest.raises(CacheUnavailable, match="unavailable"):
        store.read_entry("tflite", "m.int8", "k" * 64)
    assert time.monotonic() - started < 5
