"""Look up a chain of tasks' cache entries in a few requests: one concurrent batch per dependency level.

A task's key digests its inputs' bytes. An input that an earlier task of the
chain makes is known, before anything is restored, from that task's entry (it
records its targets' sha256 and size), so a whole model is looked up level by
level: a fresh checkout pays one batch of reads per level (dataset, SavedModel,
calibration, variants, C arrays), not one round trip per task, and `cache
status` can say which tasks a restore will satisfy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tflmake.cache.key import InputHashes, TaskFacts, action_key, key_document, role
from tflmake.cache.store import Store


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


def look_up(store: Store, namespace: str, chain: Sequence[TaskFacts], hashes: InputHashes,
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
