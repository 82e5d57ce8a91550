"""Signed cache entries: a signing writer signs what it publishes; require-signed-cache refuses anything else."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.keyfiles import write_private_key, write_public_key
from tests.unit.cache.test_cache_action import build, carray_task, published

from tflmake.cache.action import UnsignedEntry, restore, run_cached
from tflmake.cache.config import CacheConfig
from tflmake.cache.store import Store
from tflmake.signing import SETTINGS_ENV
from tflmake.signing.config import parse_table, resolve, to_environment


def use_signing(monkeypatch: pytest.MonkeyPatch, root: Path, table: dict[str, object]) -> None:
    config = resolve(parse_table(table, "pyproject.toml"), "pyproject.toml", {}, root)
    monkeypatch.setenv(SETTINGS_ENV, to_environment(config))


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    write_public_key(tmp_path / "ci.pub", write_private_key(tmp_path / "ci.pem"))
    write_private_key(tmp_path / "intruder.pem")
    return tmp_path


def publish_as(monkeypatch: pytest.MonkeyPatch, keys: Path, store: Store, signer: str | None) -> str:
    if signer:
        use_signing(monkeypatch, keys, {"private-key": signer})
    else:
        monkeypatch.delenv(SETTINGS_ENV, raising=False)
    first = carray_task(keys / "ci")
    build(first)
    key, done = published(store, first, CacheConfig(url=store.url, mode="read-write"))
    assert done
    return key


def test_signed_entry_restores_when_required(keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store((keys / "cache").as_posix())
    key = publish_as(monkeypatch, keys, store, "ci.pem")
    use_signing(monkeypatch, keys, {"public-key": "ci.pub", "require-signed-cache": True})
    second = carray_task(keys / "dev")
    entry = store.read_entry("carray", "m.int8", key)
    assert entry is not None and "signature" in entry
    restore(store, second, entry)
    assert all(Path(target).is_file() for target in second.targets)


@pytest.mark.parametrize(("signer", "reason"), [(None, "the entry is not signed"),
                                                ("intruder.pem", "not signed by the configured key")])
def test_unsigned_or_foreign_entry_is_refused(keys: Path, monkeypatch: pytest.MonkeyPatch, signer: str | None,
                                              reason: str) -> None:
    """Nothing enters the build folder from an entry the configured key did not sign."""
    store = Store((keys / "cache").as_posix())
    key = publish_as(monkeypatch, keys, store, signer)
    use_signing(monkeypatch, keys, {"public-key": "ci.pub", "require-signed-cache": True})
    second = carray_task(keys / "dev")
    entry = store.read_entry("carray", "m.int8", key)
    assert entry is not None
    with pytest.raises(UnsignedEntry, match=reason):
        restore(store, second, entry)
    assert not any(Path(target).exists() for target in second.targets)


def test_refused_entry_is_built_locally_with_one_line(keys: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    store = Store((keys / "cache").as_posix())
    publish_as(monkeypatch, keys, store, None)
    use_signing(monkeypatch, keys, {"public-key": "ci.pub", "require-signed-cache": True})
    second = carray_task(keys / "dev")
    built = []
    run_cached(second, CacheConfig(url=store.url, mode="read"), lambda: built.append(build(second)))
    assert built
    assert ("tflmake: cache: carray:m.int8: refused (the entry is not signed; require-signed-cache); building it "
            "locally") in capsys.readouterr().err


def test_without_the_requirement_an_unsigned_entry_restores(keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store((keys / "cache").as_posix())
    key = publish_as(monkeypatch, keys, store, None)
    use_signing(monkeypatch, keys, {"public-key": "ci.pub"})
    second = carray_task(keys / "dev")
    entry = store.read_entry("carray", "m.int8", key)
    assert entry is not None
    restore(store, second, entry)
    assert all(Path(target).is_file() for target in second.targets)
