"""Look up a chain of tasks' cache entries in a few requests: one concurrent batch per dependency level.

A task's key digests its inputs' bytes. An input that an earlier task of the
chain makes is known, before anything is restored, from that task's entry (it
records its targets' sha256 and size), so a whole model is looked up level by
level: a fresh checkout pays one batch of reads per level (dataset, SavedModel,
calibration, variants, C arrays), not one round trip per task, and `cache
status` can say which tasks a restore will satisfy. `Levels` reads several caches
as one, in a build's order (the local cache before the shared one), so a chain
is looked up as the build itself would restore it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tflmake.cache.key import InputHashes, TaskFacts, action_key, key_document, role
from tflmake.cache.store import CacheUnavailable, Store

Place = tuple[str, str, str]  # kind, task label, key


class Entries(Protocol):
    """What a lookup reads: the entries under several places, in one batch (a Store, or Levels)."""

    def read_entries(self, places: list[Place]) -> list[dict[str, Any] | None]: ...


@dataclass(frozen=True)
class Lookup:
    """One task's place in the cache: its key and entry, or the input that keeps its key unknown."""

    facts: TaskFacts
    key: str | None = None  # None while an input is neither on disk nor restorable from an upstream hit
    document: dict[str, Any] | None = None
    entry: dict[str, Any] | None = None  # the entry under `key`, when the cache has one
    blocked_by: str | None = None  # the input that keeps the key unknown

    @property
    def hit(self) -> bool:
        return self.entry is not None


@dataclass
class Levels:
    """Several caches read as one, in a build's order: a place's entry comes from the first store holding it.

    A store that fails is dropped after `dropped(store, error)` is called (which
    may raise, to stop the lookup); later stores answer for it.
    """

    stores: list[Store]
    dropped: Callable[[Store, CacheUnavailable], None]
    found_in: dict[str, Store] = field(default_factory=dict)  # by key: the store whose entry a hit is

    def read_entries(self, places: list[Place]) -> list[dict[str, Any] | None]:
        found: list[dict[str, Any] | None] = [None] * len(places)
        for store in list(self.stores):
            missing = [number for number, entry in enumerate(found) if entry is None]
            if not missing:
                break
            try:
                entries = store.read_entries([places[number] for number in missing])
            except CacheUnavailable as error:
                self.stores.remove(store)
                self.dropped(store, error)
                continue
            for number, entry in zip(missing, entries, strict=True):
                if entry is not None:
                    found[number] = entry
                    self.found_in[places[number][2]] = store
        return found


def look_up(store: Entries, namespace: str, chain: Sequence[TaskFacts], hashes: InputHashes,
            known: dict[str, dict[str, Any]] | None = None,
            found: Mapping[str, dict[str, Any] | None] | None = None) -> list[Lookup]:
    """Each task of `chain` (in build order) looked up; inputs made by a task of the chain come from its entry.

    `known` gives digests (`{"sha256", "size"}` by path) of inputs already
    looked up elsewhere, `found` entries already read this run, by key (not
    read again). Inputs no task of the chain makes are hashed on disk.
    """
    made_by = {target: facts.name for facts in chain for target in facts.targets}
    known = dict(known or {})
    done: dict[str, Lookup] = {}
    pending = list(chain)
    while pending:
        ready, waiting = [], []
        for facts in pending:
            blocked = _blocked_input(facts, made_by, known)
            if blocked is None:
                ready.append(facts)
            elif made_by.get(blocked) in done or blocked not in made_by:
                done[facts.name] = Lookup(facts, blocked_by=blocked)  # its maker missed: unknown this run
            else:
                waiting.append(facts)
        places, documents = [], []
        for facts in ready:
            try:
                document, _ = key_document(facts, namespace, hashes, known)
            except FileNotFoundError as missing:
                done[facts.name] = Lookup(facts, blocked_by=missing.filename)
                continue
            documents.append((facts, document))
            places.append((facts.kind, facts.label, action_key(document)))
        unread = [place for place in places if not (found or {}).get(place[2])]
        read = dict(zip([place[2] for place in unread], store.read_entries(unread), strict=True))
        for (facts, document), place in zip(documents, places, strict=True):
            entry = read[place[2]] if place[2] in read else (found or {})[place[2]]
            done[facts.name] = Lookup(facts, place[2], document, entry)
            if entry is not None:
                known.update(restorable_targets(facts, entry))
        if not ready:
            break
        pending = waiting
    hashes.save()
    return [done.get(facts.name) or Lookup(facts, blocked_by=_blocked_input(facts, made_by, known))
            for facts in chain]


def restorable_targets(facts: TaskFacts, entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What restoring `entry` puts on disk: each target path's recorded sha256 and size."""
    recorded = entry.get("targets", {})
    return {path: recorded[name] for path in facts.targets
            if isinstance(recorded, dict) and (name := role(path, facts.build_dir, facts.spec_folder)) in recorded}


def _blocked_input(facts: TaskFacts, made_by: dict[str, str], known: dict[str, dict[str, Any]]) -> str | None:
    """The first input made in the chain whose digest is not known yet (None: the key can be computed)."""
    return next((path for path in facts.inputs if path in made_by and path not in known), None)
