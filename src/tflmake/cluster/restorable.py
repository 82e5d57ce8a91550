"""Before submitting: which stale models the cache already holds whole, so they need no cluster job.

A fresh checkout of a project CI has built finds every entry in the cache: its
driver build restores them all, and a job per model would only start an engine
to restore what is there. So the driver looks up each stale model's stale
cacheable tasks first (`cache.probe`: one concurrent batch of reads per
dependency level, all models together) and submits only the models with a miss,
or with a task whose key stays unknown until something is built.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from tflmake.cache.action import INPUT_HASHES, remember_hits
from tflmake.cache.config import CacheConfig
from tflmake.cache.key import InputHashes
from tflmake.cache.probe import look_up
from tflmake.cache.store import Store
from tflmake.cluster.plan import StaleModel


@dataclass(frozen=True)
class Probe:
    """The stale models split by what the cache holds, and what finding out cost."""

    submit: tuple[StaleModel, ...]  # a miss, an unknown key, or not looked up: a job builds it
    restore: tuple[StaleModel, ...]  # every stale cacheable task a hit: the driver's build restores it
    looked_up: int  # tasks
    seconds: float


def probe(models: Sequence[StaleModel], config: CacheConfig) -> Probe:
    """Look up every model's stale cacheable tasks; CacheUnavailable when the cache cannot be read."""
    began = time.time()
    chain = [facts for model in models for facts in model.stale]
    if not chain:
        return Probe(tuple(models), (), 0, 0.0)
    store = Store(config.url or "", config.storage_options)
    # One project, one build folder: the input hashes the driver's own build reuses afterwards.
    hashes = InputHashes(f"{chain[0].build_dir}/{INPUT_HASHES}")
    lookups = look_up(store, config.namespace, chain, hashes)
    remember_hits(lookups)  # the driver's own build that follows restores them without reading them again
    hits = {lookup.facts.name for lookup in lookups if lookup.hit}
    whole = [bool(model.stale) and all(facts.name in hits for facts in model.stale) for model in models]
    return Probe(tuple(model for model, hit in zip(models, whole, strict=True) if not hit),
                 tuple(model for model, hit in zip(models, whole, strict=True) if hit),
                 len(chain), time.time() - began)
