"""The driver's cache settings for workers: a relative folder cache reaches them as the driver's absolute folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tflmake.cache.config import CacheConfig
from tflmake.cache.store import Store
from tflmake.cluster.driver import worker_config


@pytest.mark.parametrize(("url", "expected"), [
    ("cache", "{cwd}/cache"),
    ("./cache", "{cwd}/cache"),
    ("~/cache", "{home}/cache"),
    ("file://cache", "file://{cwd}/cache"),
    ("file:cache", "file://{cwd}/cache"),  # fsspec reads it as a folder: split_protocol names no protocol
    ("file://./cache", "file://{cwd}/cache"),
    ("file:./cache", "file://{cwd}/cache"),
    ("local://cache", "file://{cwd}/cache"),
    ("file:///srv/cache", "file:///srv/cache"),
    ("/srv/cache", "/srv/cache"),
    ("s3://bucket/cache", "s3://bucket/cache"),
])
def test_workers_get_the_absolute_folder_of_a_relative_cache(url: str, expected: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain paths stay plain, URLs stay file:// URLs; other storage is passed on as given, read-write."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = CacheConfig(url=url, mode="read", namespace="ns", storage_options={"anon": True})
    sent = worker_config(config)
    assert sent.url == expected.format(cwd=Path.cwd().as_posix(), home=(tmp_path / "home").as_posix())
    assert (sent.mode, sent.namespace, sent.storage_options) == ("read-write", "ns", {"anon": True})


@pytest.mark.parametrize("url", ["file://cache", "file:cache", "file://./cache", "cache"])
def test_a_worker_elsewhere_opens_the_drivers_cache_folder(url: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A blob a worker (another current folder) writes is the blob the driver's store reads."""
    (tmp_path / "project").mkdir()
    (tmp_path / "worker").mkdir()
    (tmp_path / "blob").write_bytes(b"artifact")
    monkeypatch.chdir(tmp_path / "project")
    sent = worker_config(CacheConfig(url=url, mode="read-write"))
    monkeypatch.chdir(tmp_path / "worker")
    assert Store(sent.url or "").write_blob("ab" * 32, str(tmp_path / "blob"))
    monkeypatch.chdir(tmp_path / "project")
    assert Store(url).read_blob("ab" * 32, str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == b"artifact"
    assert not os.listdir(tmp_path / "worker")
