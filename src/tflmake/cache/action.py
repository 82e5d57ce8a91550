"""Around one stale artifact task: restore its outputs from the cache, or build them and publish.

A model's first stale task also looks up the rest of the model (see probe):
its siblings' entries and small blobs arrive in one concurrent batch per
dependency level, so their restores need no round trip of their own.
Restore verifies every blob's sha256 before anything is renamed into the build
folder; a bad blob is reported on one line and the task is built locally (and,
in read-write mode, the entry healed). Publish writes the blobs first and the
entry last, and only when no input changed while the task ran. A cache that
cannot be reached costs one warning per run, then the build goes on without it.
"""

from __future__ import annotations

import getpass
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tflmake import atomic
from tflmake.cache import RESTORED
from tflmake.cache.archive import pack_folder, unpack_folder
from tflmake.cache.config import RUN_ENV, CacheConfig
from tflmake.cache.key import InputHashes, Stat, TaskFacts, action_key, file_stat, key_document, role
from tflmake.cache.probe import Lookup, look_up, restorable_targets
from tflmake.cache.store import CacheUnavailable, Store
from tflmake.digest import sha256_file
from tflmake.errors import BuildError, TflmakeError
from tflmake.kinds import TASK_KINDS
from tflmake.signing.config import from_environment as signing_from_environment

UNAVAILABLE_MARK = ".cache-unavailable"
INPUT_HASHES = ".cache-input-hashes.json"


class CorruptEntry(Exception):
    """An entry or one of its blobs is not what it claims."""


class UnsignedEntry(CorruptEntry):
    """An entry without a valid signature from the configured key, with require-signed-cache."""


# Stores opened by this process, and those that failed (never asked again this run).
_stores: dict[str, Store] = {}
_unavailable: set[str] = set()
_local_urls: set[str] = set()  # the local cache's folder (its warnings say so)

# Looked up ahead for the rest of a model: entries (None: a miss) by key, small blobs by digest.
_ahead: dict[str, dict[str, Any] | None] = {}
_ahead_blobs: dict[str, bytes] = {}
_models_looked_up: set[tuple[str, str]] = set()
AHEAD_BLOB_BYTES = 4 << 20  # larger blobs are fetched by their own task: their transfer dwarfs a round trip
AHEAD_TOTAL_BYTES = 64 << 20  # what one model's blobs fetched ahead may hold in memory

Siblings = Callable[[], Sequence[TaskFacts]]


def run_cached(facts: TaskFacts, config: CacheConfig, build: Callable[[], Any],
               siblings: Siblings | None = None) -> Any:
    """Restore the task's outputs from the local cache, else the shared one, else run `build()`; doit's action result.

    What the shared cache restores or the build makes enters the local cache
    (and, in read-write mode, a build's outputs the shared one). `siblings`
    gives the model's cacheable tasks in build order, looked up ahead in the
    shared cache on the model's first stale task.
    """
    local = open_local(config, facts.build_dir) if config.local else None
    shared = open_store(config, facts.build_dir) if config.reads or config.writes else None
    if local is None and shared is None:
        return build()
    hashes = InputHashes(f"{facts.build_dir}/{INPUT_HASHES}")
    document, stats = key_document(facts, config.namespace, hashes)
    hashes.save()
    key = action_key(document)
    heal_local = False
    if local is not None:
        try:
            entry = local.read_entry(facts.kind, facts.label, key)
            if entry is not None:
                restore(local, facts, entry)
                local.touch_entry(facts.kind, facts.label, key)
                if shared is not None and config.writes:  # CI with a warm local cache still fills the shared one
                    _publish_shared(shared, facts, key, document, stats, config)
                return RESTORED
        except CorruptEntry as error:
            say(f"tflmake: local cache: {facts.name}: {error}; building it locally")
            heal_local = True
        except CacheUnavailable as error:
            mark_unavailable(local.url, facts.build_dir, error)
            local = None
    result = build() if shared is None else _shared_or_build(shared, facts, config, (key, document, stats, hashes),
                                                             build, siblings)
    if local is not None and result in (None, RESTORED):
        try:
            if publish(local, facts, key, document, stats, config, overwrite=heal_local):
                evict(local, config)
            else:
                local.touch_entry(facts.kind, facts.label, key)
        except CacheUnavailable as error:
            mark_unavailable(local.url, facts.build_dir, error)
    return result


def _shared_or_build(store: Store, facts: TaskFacts, config: CacheConfig,
                     keyed: tuple[str, dict[str, Any], dict[str, Stat], InputHashes], build: Callable[[], Any],
                     siblings: Siblings | None) -> Any:
    """Restore from the shared cache or build (and, in read-write mode, publish)."""
    key, document, stats, hashes = keyed
    heal = False
    try:
        entry = None
        if config.reads:
            # Its own entry first, alone: an unreachable cache costs one connection attempt, not a batch.
            entry = _ahead.pop(key) if key in _ahead else store.read_entry(facts.kind, facts.label, key)
            if siblings is not None and (facts.build_dir, facts.model) not in _models_looked_up:
                _models_looked_up.add((facts.build_dir, facts.model))
                look_ahead(store, config.namespace, facts, entry, siblings(), hashes)
        if entry is not None:
            restore(store, facts, entry)
            return RESTORED
    except UnsignedEntry as error:
        say(f"tflmake: cache: {facts.name}: refused ({error}; require-signed-cache); building it locally")
        heal = True
    except CorruptEntry as error:
        say(f"tflmake: cache: {facts.name}: {error}; building it locally")
        heal = True
    except CacheUnavailable as error:
        mark_unavailable(store.url, facts.build_dir, error)
        return build()
    result = build()
    if result is None and config.writes:
        _publish_shared(store, facts, key, document, stats, config, heal)
    return result


def _publish_shared(store: Store, facts: TaskFacts, key: str, document: dict[str, Any], stats: dict[str, Stat],
                    config: CacheConfig, heal: bool = False) -> None:
    try:
        publish(store, facts, key, document, stats, config, overwrite=heal)
    except CacheUnavailable as error:
        mark_unavailable(store.url, facts.build_dir, error)


def evict(local: Store, config: CacheConfig) -> None:
    """Keep the local cache under its bound: past it, least recently used entries go (see maintenance)."""
    from tflmake.cache.maintenance import trim_to_bound

    trim_to_bound(local, int(config.local_max_mb * 2**20))


def look_ahead(store: Store, namespace: str, facts: TaskFacts, entry: dict[str, Any] | None,
               siblings: Sequence[TaskFacts], hashes: InputHashes) -> None:
    """Look up the model's other tasks whose targets are missing, and fetch their hits' small blobs."""
    chain = [task for task in siblings if task.name != facts.name
             and not all(os.path.exists(target) for target in task.targets)]
    if not chain:
        return
    known = restorable_targets(facts, entry) if entry is not None else {}
    small: dict[str, int] = {}
    for lookup in look_up(store, namespace, chain, hashes, known, _ahead):
        if lookup.key is None:
            continue
        _ahead[lookup.key] = lookup.entry
        outputs = (lookup.entry or {}).get("outputs")
        if isinstance(outputs, dict):
            small |= {record["sha256"]: record["size"] for record in outputs.values() if isinstance(record, dict)
                      and isinstance(record.get("sha256"), str) and isinstance(record.get("size"), int)
                      and record["size"] <= AHEAD_BLOB_BYTES}
    digests, held = [], 0
    for digest, size in small.items():  # in build order, within a memory budget
        if held + size > AHEAD_TOTAL_BYTES:
            break
        digests.append(digest)
        held += size
    _ahead_blobs.update((digest, data) for digest, data in zip(digests, store.read_blobs(digests), strict=True)
                        if data is not None)


def remember_hits(lookups: Sequence[Lookup]) -> None:
    """Entries found by a lookup earlier in this process (the cluster driver's): not read again.

    Hits only: a miss then may be a hit by the time the task runs (a cluster job published it).
    """
    _ahead.update((lookup.key, lookup.entry) for lookup in lookups if lookup.key is not None and lookup.hit)


def open_store(config: CacheConfig, build_dir: str) -> Store | None:
    """This process's store for the shared cache (`config.url`), or None once it proved unavailable in this run."""
    assert config.url is not None
    return _open(config.url, config.storage_options, build_dir)


def open_local(config: CacheConfig, build_dir: str) -> Store | None:
    """This process's store for the local cache folder, or None once it proved unavailable in this run."""
    folder = config.local_folder()
    _local_urls.add(folder)
    return _open(folder, {}, build_dir)


def _open(url: str, storage_options: dict[str, Any], build_dir: str) -> Store | None:
    if url in _unavailable or _marked_unavailable(build_dir, url):
        return None
    if url not in _stores:
        try:
            _stores[url] = Store(url, storage_options)
        except CacheUnavailable as error:
            mark_unavailable(url, build_dir, error)
            return None
    return _stores[url]


def mark_unavailable(url: str, build_dir: str, error: Exception) -> None:
    """Warn once per run and store (across `doit -n` processes) and stop asking that store."""
    _unavailable.add(url)
    if _marked_unavailable(build_dir, url):
        return
    run = os.environ.get(RUN_ENV)
    if run:
        try:
            # One line per store found unavailable in this run; lines of earlier runs are dropped.
            lines = [line for line in _mark_lines(build_dir) if line.startswith(f"{run} ")]
            atomic.write_text(f"{build_dir}/{UNAVAILABLE_MARK}", "".join(f"{line}\n" for line in
                                                                         [*lines, f"{run} {url}"]))
        except (OSError, BuildError):
            pass  # then other processes of the run find out themselves
    which = "the local cache" if url in _local_urls else "the cache"
    say(f"tflmake: warning: {error}; building without {which}")


def _marked_unavailable(build_dir: str, url: str) -> bool:
    """Another process of this run found `url` unavailable."""
    run = os.environ.get(RUN_ENV)
    return bool(run) and f"{run} {url}" in _mark_lines(build_dir)


def _mark_lines(build_dir: str) -> list[str]:
    try:
        return Path(f"{build_dir}/{UNAVAILABLE_MARK}").read_text().splitlines()
    except OSError:
        return []


def restore(store: Store, facts: TaskFacts, entry: dict[str, Any]) -> None:
    """Fetch and verify every output blob, then rename each into place (all verified before any moves)."""
    outputs = facts.outputs()
    recorded = entry.get("outputs")
    if not isinstance(recorded, dict) or set(recorded) != set(outputs):
        raise CorruptEntry("entry does not list this task's outputs")
    staging = tempfile.mkdtemp(dir=facts.build_dir, prefix=".cache-restore.")
    try:
        fetched = {}
        for number, (role, record) in enumerate(sorted(recorded.items())):
            local = os.path.join(staging, str(number))
            digest = record.get("sha256", "") if isinstance(record, dict) else ""
            ahead = _ahead_blobs.pop(digest, None)
            if ahead is not None:
                Path(local).write_bytes(ahead)
            elif not store.read_blob(digest, local):
                raise CorruptEntry(f"blob {digest[:12]} of {role} is missing")
            actual = sha256_file(local)
            if actual != digest:
                raise CorruptEntry(f"blob {digest[:12]} of {role} is corrupt (its sha256 is {actual[:12]})")
            fetched[role] = local
        check_signature(store, facts, entry, [fetched[role] for role in sorted(fetched)], staging)
        folders = TASK_KINDS[facts.kind].folder_outputs
        for role, local in fetched.items():
            _install(local, outputs[role], folders)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def signed_statement(facts: TaskFacts, entry: dict[str, Any]) -> dict[str, Any]:
    """What an entry's signature covers besides its blobs: the task, its key and the blobs' roles, so a
    signed entry cannot stand in for another task or an older key."""
    return {"task": facts.name, "key": entry.get("key"), "roles": sorted(facts.outputs())}


def check_signature(store: Store, facts: TaskFacts, entry: dict[str, Any], blobs: list[str], staging: str) -> None:
    """With require-signed-cache: the entry's signature, from the configured key, over exactly these blobs."""
    config = signing_from_environment()
    if config is None or not config.require_signed_cache:
        return
    record = entry.get("signature")
    digest = record.get("sha256") if isinstance(record, dict) else None
    if not isinstance(digest, str):
        raise UnsignedEntry("the entry is not signed")
    local = os.path.join(staging, "signature")
    if not store.read_blob(digest, local) or sha256_file(local) != digest:
        raise UnsignedEntry(f"its signature blob {digest[:12]} is missing or corrupt")
    from tflmake.signing.signature import verify_blobs

    problem = verify_blobs(config, signed_statement(facts, entry), blobs, local)
    if problem is not None:
        raise UnsignedEntry(problem)


def _install(local: str, path: str, folder: bool) -> None:
    if folder:
        with atomic.directory_for_write(path) as work:
            unpack_folder(local, str(work))
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    os.chmod(local, 0o666 & ~atomic._UMASK)
    os.replace(local, path)


def publish(store: Store, facts: TaskFacts, key: str, document: dict[str, Any], stats: dict[str, Stat],
            config: CacheConfig, overwrite: bool = False) -> bool:
    """Blobs first, the entry last; nothing when an input changed while the task ran or a blob is too big."""
    changed = [path for path, stat in stats.items() if _stat(path) != stat]
    if changed:
        say(f"tflmake: cache: {facts.name}: not published: {changed[0]} changed while the task ran")
        return False
    staging = tempfile.mkdtemp(dir=facts.build_dir, prefix=".cache-publish.")
    try:
        outputs, files = _blob_files(facts, staging)
        too_big = [role for role, record in outputs.items() if record["size"] > config.max_blob_mb * 2**20]
        if too_big:
            say(f"tflmake: cache: {facts.name}: not published: {too_big[0]} is larger than "
                f"max-blob-mb = {config.max_blob_mb:g}")
            return False
        for role, record in outputs.items():
            if overwrite or not store.has_blob(record["sha256"]):
                store.write_blob(record["sha256"], files[role], overwrite=overwrite)
        # The targets too: a SavedModel's bytes differ between equal trainings, its weights stamp does not.
        entry = {"format": 1, "task": facts.name, "key": key, "key_document": document, "outputs": outputs,
                 "targets": target_digests(facts), "tools": facts.fragment.get("tools", {}), "writer": writer()}
        signature = _sign_entry(store, facts, entry, [files[role] for role in sorted(files)], staging)
        if signature is not None:
            entry["signature"] = signature
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return store.write_entry(facts.kind, facts.label, key, entry, overwrite=overwrite)


def _sign_entry(store: Store, facts: TaskFacts, entry: dict[str, Any], blobs: list[str],
                staging: str) -> dict[str, Any] | None:
    """With signing on: sign the entry's statement and blobs, publish the signature as a blob; its record."""
    config = signing_from_environment()
    if config is None or not config.signs:
        return None
    from tflmake.signing.signature import sign_blobs

    local = os.path.join(staging, "signature")
    try:
        sign_blobs(config, signed_statement(facts, entry), blobs, local)
    except TflmakeError as error:  # the entry is still useful to readers that do not require signatures
        say(f"tflmake: cache: {facts.name}: published unsigned: {error}")
        return None
    digest = sha256_file(local)
    store.write_blob(digest, local)
    return {"sha256": digest, "size": os.path.getsize(local)}


def _blob_files(facts: TaskFacts, staging: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Each output role's record (sha256, size) and the local file holding its blob."""
    outputs, files = {}, {}
    for number, (output, path) in enumerate(sorted(facts.outputs().items())):
        if TASK_KINDS[facts.kind].folder_outputs:
            files[output] = os.path.join(staging, f"{number}.tar")
            pack_folder(path, files[output])
        else:
            files[output] = path
        outputs[output] = {"sha256": sha256_file(files[output]), "size": os.path.getsize(files[output]),
                         "folder": TASK_KINDS[facts.kind].folder_outputs}
    return outputs, files


def target_digests(facts: TaskFacts) -> dict[str, dict[str, Any]]:
    """sha256 and size of each target (for a folder kind, the files standing for the folder), by role."""
    return {role(path, facts.build_dir, facts.spec_folder): {"sha256": sha256_file(path), "size": os.path.getsize(path)}
            for path in facts.targets}


def _stat(path: str) -> Stat | None:
    try:
        return file_stat(path)
    except OSError:
        return None


def writer() -> dict[str, str]:
    """Who wrote an entry, for people reading the cache."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {"host": platform.node(), "user": user, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "ci": json.dumps(bool(os.environ.get("CI")))}


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
