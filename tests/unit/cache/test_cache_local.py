"""The local cache: on by default in the user's cache folder, consulted before the shared one, bounded in size
(real folder stores; no TensorFlow: the "builder" writes bytes)."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tflmake.cache import RESTORED, action
from tflmake.cache.config import (
    CacheConfig,
    CacheConfigError,
    default_local_dir,
    for_build_steps,
    parse_table,
    with_overrides,
)
from tflmake.cache.key import TaskFacts, facts_from_task
from tflmake.cache.maintenance import _folder_size, trim, trim_to_bound
from tflmake.cache.store import Store
from tflmake.commands.main import main
from tflmake.digest import sha256_file
from tflmake.engine.fingerprint import key_and_targets_unchanged


def carray_task(root: Path, source: bytes = b"tflite bytes") -> TaskFacts:
    """A carray-like task of a checkout at `root`: one input, two file targets."""
    (root / "build" / "m").mkdir(parents=True, exist_ok=True)
    (root / "build" / "m" / "int8.tflite").write_bytes(source)
    task = {"basename": "carray", "name": "m.int8", "file_dep": [f"{root}/build/m/int8.tflite"],
            "targets": [f"{root}/build/m/int8_model_data.c", f"{root}/build/m/int8_model_data.h"],
            "uptodate": [key_and_targets_unchanged({"model": "m"})]}
    return facts_from_task(task, f"{root}/build", str(root), "m")


def builder(facts: TaskFacts, built: list[str]) -> Callable[[], None]:
    def build() -> None:
        built.append(facts.build_dir)
        source = Path(facts.inputs[0]).read_bytes()
        for target in facts.targets:
            Path(target).write_bytes(source + Path(target).name.encode())
    return build


@pytest.fixture(autouse=True)
def fresh_process_memo() -> None:
    """Each test is a run of its own: no store opened or found unavailable by an earlier one."""
    action._stores.clear()
    action._unavailable.clear()
    action._ahead.clear()
    action._ahead_blobs.clear()
    action._models_looked_up.clear()


# Settings ----------------------------------------------------------------


def test_the_folder_follows_the_xdg_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """$XDG_CACHE_HOME/tflmake when it is absolute, else ~/.cache/tflmake."""
    monkeypatch.setenv("HOME", "/home/ada")
    assert default_local_dir({"XDG_CACHE_HOME": "/var/cache/ada"}) == "/var/cache/ada/tflmake"
    assert default_local_dir({}) == "/home/ada/.cache/tflmake"
    assert default_local_dir({"XDG_CACHE_HOME": "relative/cache"}) == "/home/ada/.cache/tflmake"


def test_the_local_cache_is_on_by_default_and_bounded_to_2_gib() -> None:
    config = CacheConfig()
    assert config.local and config.active and config.local_max_mb == 2048 and not config.reads


def test_the_table_sets_switch_folder_and_bound_and_checks_them() -> None:
    config = parse_table({"local": False, "local-dir": "/fast/cache", "local-max-mb": 500}, "pyproject.toml")
    assert (config.local, config.local_dir, config.local_max_mb) == (False, "/fast/cache", 500)
    with pytest.raises(CacheConfigError, match=r"tool.tflmake.cache.local: expected true or false; got 'no'"):
        parse_table({"local": "no"}, "pyproject.toml")
    with pytest.raises(CacheConfigError, match=r'tool.tflmake.cache.locale: unknown key; did you mean "local"'):
        parse_table({"locale": False}, "pyproject.toml")


def test_the_environment_switches_it_off_and_moves_it() -> None:
    """TFLMAKE_CACHE_LOCAL=0 beats the file; TFLMAKE_CACHE_LOCAL_DIR beats local-dir."""
    assert not with_overrides(CacheConfig(), {"TFLMAKE_CACHE_LOCAL": "0"}).local
    assert with_overrides(CacheConfig(local=False), {"TFLMAKE_CACHE_LOCAL": "on"}).local
    with pytest.raises(CacheConfigError, match="TFLMAKE_CACHE_LOCAL: expected 1 or 0"):
        with_overrides(CacheConfig(), {"TFLMAKE_CACHE_LOCAL": "maybe"})
    config = CacheConfig(local_dir="/from/file")
    assert config.local_folder({"TFLMAKE_CACHE_LOCAL_DIR": "/from/env"}) == "/from/env"
    assert config.local_folder({}) == "/from/file"


def test_no_cache_on_the_command_line_turns_both_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from tflmake.commands.main import parse_options
    from tflmake.commands.settings import Settings

    settings, _ = parse_options(["--no-cache"], Settings())
    assert not settings.cache.active


def test_a_plain_doit_run_reads_the_switch_from_pyproject_and_never_the_shared_cache(tmp_path: Path) -> None:
    """Build steps started by `doit` (no tflmake command) use the local cache as the table sets it."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.tflmake.cache]\nurl = "s3://team"\nmode = "read-write"\nlocal-dir = "lc"\n')
    config = for_build_steps({}, pyproject.as_posix())
    assert config.local and not config.reads and not config.writes and os.path.isabs(config.local_dir)
    pyproject.write_text("[tool.tflmake.cache]\nlocal = false\n")
    assert not for_build_steps({}, pyproject.as_posix()).active
    assert not for_build_steps({"TFLMAKE_CACHE_LOCAL": "0"}, (tmp_path / "none.toml").as_posix()).active


# Restore and fill --------------------------------------------------------


def test_going_back_restores_from_the_local_cache_without_building(tmp_path: Path) -> None:
    """Built once, changed, changed back: the third run restores the first run's bytes."""
    built: list[str] = []
    config = CacheConfig()  # the defaults: local only, in this test's folder (tests/conftest.py)
    first = carray_task(tmp_path / "p")
    assert action.run_cached(first, config, builder(first, built)) is None
    original = [Path(t).read_bytes() for t in first.targets]
    changed = carray_task(tmp_path / "p", b"other tflite bytes")
    assert action.run_cached(changed, config, builder(changed, built)) is None
    back = carray_task(tmp_path / "p")
    assert action.run_cached(back, config, builder(back, built)) == RESTORED
    assert [Path(t).read_bytes() for t in back.targets] == original
    assert len(built) == 2


def test_switched_off_it_builds_and_writes_nothing(tmp_path: Path, local_cache: Path) -> None:
    built: list[str] = []
    for _ in range(2):
        facts = carray_task(tmp_path / "p")
        assert action.run_cached(facts, CacheConfig(local=False), builder(facts, built)) is None
    assert len(built) == 2 and not any(local_cache.iterdir())


def test_a_shared_hit_fills_the_local_cache(tmp_path: Path) -> None:
    """Two levels: what the shared cache restored, the local one holds next time, the shared one gone."""
    shared = (tmp_path / "shared").as_posix()
    built: list[str] = []
    ci = carray_task(tmp_path / "ci")
    assert action.run_cached(ci, CacheConfig(url=shared, mode="read-write", local=False), builder(ci, built)) is None
    mine = carray_task(tmp_path / "mine")
    assert action.run_cached(mine, CacheConfig(url=shared), builder(mine, built)) == RESTORED
    for path in sorted(Path(shared).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    again = carray_task(tmp_path / "again")
    assert action.run_cached(again, CacheConfig(url=shared), builder(again, built)) == RESTORED
    assert built == [ci.build_dir]


def test_a_corrupt_local_blob_is_named_rebuilt_and_healed(tmp_path: Path, local_cache: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    built: list[str] = []
    first = carray_task(tmp_path / "one")
    action.run_cached(first, CacheConfig(), builder(first, built))
    blob = next(path for path in (local_cache / "cas").rglob("*") if path.is_file())
    blob.write_bytes(b"flipped")
    second = carray_task(tmp_path / "two")
    assert action.run_cached(second, CacheConfig(), builder(second, built)) is None
    assert f"tflmake: local cache: carray:m.int8: blob {blob.name[:12]}" in capsys.readouterr().err
    assert sha256_file(blob) == blob.name  # healed
    third = carray_task(tmp_path / "three")
    assert action.run_cached(third, CacheConfig(), builder(third, built)) == RESTORED


def test_an_unwritable_local_folder_costs_one_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A local cache that cannot be written: one warning, and the build goes on."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TFLMAKE_CACHE_LOCAL_DIR", (blocker / "cache").as_posix())
    built: list[str] = []
    for name in ("one", "two"):
        facts = carray_task(tmp_path / name)
        assert action.run_cached(facts, CacheConfig(), builder(facts, built)) is None
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].endswith("; building without the local cache"), warnings
    assert len(built) == 2


# Size bound --------------------------------------------------------------


def fill(store: Store, tmp_path: Path, name: str, size: int, age: float) -> str:
    """An entry of one `size`-byte blob, last used `age` seconds ago."""
    source = tmp_path / f"{name}.bin"
    source.write_bytes(name.encode() * (size // len(name)))
    digest = sha256_file(source)
    store.write_blob(digest, str(source))
    store.write_entry("tflite", name, "k" * 64, {"outputs": {"o": {"sha256": digest, "size": size}}})
    then = time.time() - age
    os.utime(store.entry_path("tflite", name, "k" * 64), (then, then))
    return digest


def test_a_write_past_the_bound_evicts_the_least_recently_used(tmp_path: Path) -> None:
    """Past the bound the store is trimmed under it; a recently restored entry outlives older writes."""
    store = Store((tmp_path / "local").as_posix())
    digests = {name: fill(store, tmp_path, name, 4000, age) for name, age in
               (("a", 500), ("b", 400), ("c", 300), ("d", 200))}
    store.touch_entry("tflite", "a", "k" * 64)  # restored just now
    trim_to_bound(store, 10_000)
    assert _folder_size(Path(store.root)) <= 10_000
    assert store.has_blob(digests["a"]) and store.has_blob(digests["d"])
    assert not store.has_blob(digests["b"]) and store.read_entry("tflite", "b", "k" * 64) is None


def test_under_the_bound_nothing_is_evicted(tmp_path: Path) -> None:
    store = Store((tmp_path / "local").as_posix())
    digest = fill(store, tmp_path, "a", 4000, 10**6)
    trim_to_bound(store, 10_000)
    assert store.has_blob(digest)


def test_a_fresh_blob_without_its_entry_is_kept_an_old_one_goes(tmp_path: Path) -> None:
    """A blob no entry uses may be a build's between its blob and its entry: kept for an hour."""
    store = Store((tmp_path / "local").as_posix())
    (tmp_path / "x").write_bytes(b"fresh")
    store.write_blob(sha256_file(tmp_path / "x"), str(tmp_path / "x"))
    (tmp_path / "y").write_bytes(b"old")
    store.write_blob(sha256_file(tmp_path / "y"), str(tmp_path / "y"))
    old = time.time() - 7200
    os.utime(store.blob_path(sha256_file(tmp_path / "y")), (old, old))
    assert trim(Path(store.root), None, None).blobs_removed == 1
    assert store.has_blob(sha256_file(tmp_path / "x"))


def test_a_build_keeps_the_local_cache_under_its_bound(tmp_path: Path, local_cache: Path) -> None:
    """Publishing after each build evicts: the folder never ends a task above local-max-mb."""
    config = CacheConfig(local_max_mb=0.01)  # 10 KiB
    built: list[str] = []
    for number in range(6):
        facts = carray_task(tmp_path / f"p{number}", bytes([number]) * 3000)
        action.run_cached(facts, config, builder(facts, built))
        assert _folder_size(local_cache) <= 0.01 * 2**20
    newest = carray_task(tmp_path / "again", bytes([5]) * 3000)
    assert action.run_cached(newest, config, builder(newest, built)) == RESTORED


# tflmake cache gc --------------------------------------------------------


def test_cache_gc_trims_the_local_cache_to_its_bound(tmp_path: Path, local_cache: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Without a shared cache, `tflmake cache gc` works on the local one, by default down to local-max-mb."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "modelspecs").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.tflmake.cache]\nlocal-max-mb = 0.01\n")
    store = Store(local_cache.as_posix())
    old, new = fill(store, tmp_path, "old", 8000, 300), fill(store, tmp_path, "new", 8000, 10)
    assert main(["cache", "gc"]) == 0
    assert capsys.readouterr().out.startswith("removed 1 entries and 1 blobs; 1 entries")
    assert not store.has_blob(old) and store.has_blob(new)
    assert main(["cache", "gc", "--older-than", "1s"]) == 0
    assert not store.has_blob(new)


def test_cache_gc_local_beside_a_shared_cache(tmp_path: Path, local_cache: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """With a shared cache configured, --local picks the local one; without it, gc acts on the shared one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "modelspecs").mkdir()
    shared = Store((tmp_path / "shared").as_posix())
    kept = fill(shared, tmp_path, "shared", 4000, 10**6)
    local = fill(Store(local_cache.as_posix()), tmp_path, "local", 4000, 10**6)
    assert main(["--cache-url", shared.url, "cache", "gc", "--local", "--older-than", "1d"]) == 0
    assert Store(shared.url).has_blob(kept) and not Store(local_cache.as_posix()).has_blob(local)
    assert main(["--cache-url", shared.url, "cache", "gc", "--older-than", "1d"]) == 0
    assert not Store(shared.url).has_blob(kept)
    capsys.readouterr()


def test_cache_gc_with_every_cache_off_says_how_to_turn_one_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "modelspecs").mkdir()
    assert main(["--no-cache", "cache", "gc"]) == 1
    assert "no cache configured: the local cache is off" in capsys.readouterr().out


def test_gc_output_names_what_it_left(tmp_path: Path) -> None:
    from tflmake.cache.maintenance import collect_garbage

    store = Store((tmp_path / "local").as_posix())
    fill(store, tmp_path, "a", 4000, 10)
    out = io.StringIO()
    collect_garbage(store, "1G", "", out)
    assert out.getvalue().startswith("removed 0 entries and 0 blobs; 1 entries, 0.0 MB left")


def test_a_local_hit_in_read_write_mode_still_publishes_to_the_shared_cache(tmp_path: Path) -> None:
    """CI with a warm local cache: what it restores locally, the shared cache gets too."""
    shared = (tmp_path / "shared").as_posix()
    built: list[str] = []
    first = carray_task(tmp_path / "one")
    assert action.run_cached(first, CacheConfig(), builder(first, built)) is None  # local only
    second = carray_task(tmp_path / "two")
    assert action.run_cached(second, CacheConfig(url=shared, mode="read-write"), builder(second, built)) == RESTORED
    third = carray_task(tmp_path / "three")
    assert action.run_cached(third, CacheConfig(url=shared, local=False), builder(third, built)) == RESTORED
    assert len(built) == 1


def test_a_lost_race_for_the_input_hashes_file_never_fails_a_task(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `doit -n`, another task's write of build/.cache-input-hashes.json may remove this one's temp
    file (atomic's leftovers): the memo is lost, the task goes on (it failed with `PythonAction Error`)."""
    from tflmake import atomic
    from tflmake.errors import BuildError

    def lose_the_race(path: str, text: str) -> None:
        raise BuildError(f"cannot write {path}: No such file or directory")

    monkeypatch.setattr(atomic, "write_text", lose_the_race)
    built: list[str] = []
    facts = carray_task(tmp_path / "p")
    assert action.run_cached(facts, CacheConfig(), builder(facts, built)) is None
    again = carray_task(tmp_path / "q")
    assert action.run_cached(again, CacheConfig(), builder(again, built)) == RESTORED
