"""Before submitting: which stale models the caches already hold whole, so they need no cluster job.

A fresh checkout of a project CI has built finds every entry in the shared
cache, and an option changed back to a value built before finds them in the
local cache: the driver's build restores them all, and a job per model would
only start an engine to restore what is there (a job has no local cache, so it
would even rebuild). So the driver looks up each stale model's stale cacheable
tasks first, as its build will restore them: the local cache, then the shared
one for what the local cache lacks (`cache.probe`: one concurrent batch of reads
per dependency level, all models together). It submits only the models with a
miss, or with a task whose key stays unknown until something is built.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from tflmake.cache.action import INPUT_HASHES, mark_unavailable, open_local, remember_hits
from tflmake.cache.config import CacheConfig
from tflmake.cache.key import InputHashes
from tflmake.cache.probe import Levels, look_up
from tflmake.cache.store import CacheUnavailable, Store
from tflmake.cluster.plan import StaleModel


@dataclass(frozen=True)
class Probe:
    """The stale models split by what the caches hold, and what finding out cost."""

    submit: tuple[StaleModel, ...]  # a miss, an unknown key, or not looked up: a job builds it
    restore: tuple[StaleModel, ...]  # every stale cacheable task a hit: the driver's build restores it
    looked_up: int  # tasks
    seconds: float
    local_hits: int | None = None  # tasks found in the local cache (None: it was not read)
    shared_hits: int = 0  # tasks found in the shared cache (and not in the local one)


def probe(models: Sequence[StaleModel], config: CacheConfig) -> Probe:
    """Look up every model's stale cacheable tasks in the local cache, then the shared one.

    CacheUnavailable when the shared cache cannot be read; a local cache that
    cannot be read is one warning, and the build goes on without it.
    """
    began = time.time()
    chain = [facts for model in models for facts in model.stale]
    if not chain:
        return Probe(tuple(models), (), 0, 0.0)
    build_dir = chain[0].build_dir  # one project, one build folder
    shared = Store(config.url or "", config.storage_options)
    # The store the driver's build opens, so a local cache found unavailable here is skipped there too.
    local = open_local(config, build_dir) if config.local else None

    def dropped(store: Store, error: CacheUnavailable) -> None:
        if store is not local:
            raise error
        mark_unavailable(store.url, build_dir, error)

    levels = Levels([store for store in (local, shared) if store is not None], dropped)
    # The input hashes the driver's own build reuses afterwards.
    lookups = look_up(levels, config.namespace, chain, InputHashes(f"{build_dir}/{INPUT_HASHES}"))
    hit_in = {lookup.facts.name: levels.found_in[lookup.key] for lookup in lookups if lookup.hit and lookup.key}
    # The driver's build then restores these without reading them again (local hits it reads from its folder).
    remember_hits([lookup for lookup in lookups if hit_in.get(lookup.facts.name) is shared])
    whole = [bool(model.stale) and all(facts.name in hit_in for facts in model.stale) for model in models]
    return Probe(tuple(model for model, hit in zip(models, whole, strict=True) if not hit),
                 tuple(model for model, hit in zip(models, whole, strict=True) if hit),
                 len(chain), time.time() - began,
                 None if local is None else sum(store is local for store in hit_in.values()),
                 sum(store is shared for store in hit_in.values()))
