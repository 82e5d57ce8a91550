"""What `tflmake cache` does: status, push and verify --rebuild over the project's tasks; verify and gc on the store."""

from __future__ import annotations

import argparse
import os
import random
from dataclasses import replace
from typing import Any

from doit.cmd_base import check_tasks_exist

from tflmake.cache import maintenance
from tflmake.cache.action import INPUT_HASHES, publish, target_digests
from tflmake.cache.config import CacheConfig, from_environment
from tflmake.cache.key import (
    InputHashes,
    TaskFacts,
    action_key,
    facts_from_task,
    key_differences,
    key_document,
)
from tflmake.cache.probe import look_up
from tflmake.cache.store import CacheUnavailable, Store
from tflmake.commands.status import UP_TO_DATE, target_statuses
from tflmake.digest import sha256_file
from tflmake.errors import TflmakeError
from tflmake.kinds import TASK_KINDS


class CacheOperations:
    """What `tflmake cache` does, over doit's task list and state."""

    def __init__(self, task_list: list[Any], dep_manager: Any, outstream: Any) -> None:
        self.task_list = task_list
        self.dep_manager = dep_manager
        self.outstream = outstream

    def run(self, args: list[str]) -> int:
        """`tflmake cache ARGS`; the exit code."""
        options = _parse(args)
        if options is None:
            return 0
        action, names = options.action, options.tasks
        sample, rebuild, max_size, older_than = options.sample, options.rebuild, options.max_size, options.older_than
        try:
            config, local = _configured(options.local)
            store = Store(config.url or "", config.storage_options)
            if action == "gc":
                if local and not max_size and not older_than:
                    max_size = f"{config.local_max_mb:g}M"
                return maintenance.collect_garbage(store, max_size, older_than, self.outstream)
            if action == "verify" and not rebuild:
                return maintenance.verify_blobs(store, sample, self.outstream)
            tasks = {task.name: task for task in self.task_list}
            check_tasks_exist(tasks, names)
            if action == "status":
                return self._status(store, config, names)
            if action == "push":
                return self._push(store, config)
            if action == "verify":
                return self._rebuild(store, config, sample)
            raise TflmakeError(f"cache: unknown action {action!r}; expected status, push, verify or gc")
        except CacheUnavailable as error:
            self.outstream.write(f"tflmake: cache: {error}\n")
            return 2

    def _cacheable(self, names: list[str] | None = None) -> list[tuple[Any, str]]:
        """(task, state) of every cacheable task in build order, optionally those named."""
        statuses = target_statuses(self.task_list, self.dep_manager)
        wanted = set(names or [])
        return [(task, status.state) for status in statuses
                if TASK_KINDS[(task := self._task(status.task)).name.split(":")[0]].cached
                and (not wanted or task.name in wanted or task.name.split(":")[0] in wanted)]

    def _task(self, name: str) -> Any:
        return next(task for task in self.task_list if task.name == name)

    def _status(self, store: Store, config: CacheConfig, names: list[str]) -> int:
        chain = [_facts(task) for task, state in self._cacheable(names) if state != UP_TO_DATE]
        # Downstream keys come from what upstream hits would restore: one batch of reads per level.
        lookups = look_up(store, config.namespace, chain, _hashes(chain[0])) if chain else []
        lines = []
        for lookup in lookups:
            if lookup.hit:
                lines.append(f"hit    {lookup.facts.name}")
            elif lookup.document is None:
                lines.append(f"later  {lookup.facts.name}  (needs {lookup.blocked_by} built first)")
            else:
                lines.append(f"miss   {lookup.facts.name}  ({_nearest(store, lookup.facts, lookup.document)})")
        misses = sum(line.startswith("miss") for line in lines)
        lines.append(f"{sum(line.startswith('hit') for line in lines)} hits, {misses} misses "
                     f"among stale cacheable tasks")
        self.outstream.write("\n".join(lines) + "\n")
        return 1 if misses else 0

    def _push(self, store: Store, config: CacheConfig) -> int:
        if not config.writes:
            raise TflmakeError("cache push writes the cache: it needs mode read-write (--cache-mode read-write)")
        pushed = skipped = 0
        for task, state in self._cacheable():
            if state != UP_TO_DATE:
                skipped += 1
                continue
            facts = _facts(task)
            document, stats = key_document(facts, config.namespace, _hashes(facts))
            pushed += publish(store, facts, action_key(document), document, stats, config)
        self.outstream.write(f"pushed {pushed} entries; {skipped} tasks not up to date were left out\n")
        return 0

    def _rebuild(self, store: Store, config: CacheConfig, sample: int) -> int:
        """Rebuild each task whose current key has an entry, without the cache; compare the bytes."""
        from tflmake.engine.runner import build_step

        checked = bad = 0
        candidates = self._cacheable()
        if sample:
            candidates = random.sample(candidates, min(sample, len(candidates)))
            candidates.sort(key=lambda pair: [t.name for t, _ in self._cacheable()].index(pair[0].name))
        for task, _state in candidates:
            facts = _facts(task)
            if any(not os.path.exists(path) for path in facts.inputs):
                continue
            document, _ = key_document(facts, config.namespace, _hashes(facts))
            entry = store.read_entry(facts.kind, facts.label, action_key(document))
            if entry is None:
                continue
            failure = build_step(*task.actions[0].args)  # run_step's arguments: basename, spec, layout, ...
            if failure is not None:
                self.outstream.write(f"{task.name}: local rebuild failed: {failure.message}\n")
                bad += 1
                continue
            checked += 1
            for line in _compare(facts, entry):
                bad += 1
                self.outstream.write(line + "\n")
        self.outstream.write(f"rebuilt {checked} cached tasks: {bad} differ from their cache entries\n")
        return 1 if bad else 0


def _parse(args: list[str]) -> argparse.Namespace | None:
    """The action and its options; None after --help."""
    parser = argparse.ArgumentParser(prog="tflmake cache", description="The artifact caches, shared and local.")
    parser.add_argument("action", choices=("status", "push", "verify", "gc"))
    parser.add_argument("--local", action="store_true",
                        help="act on the local cache (the default when no shared cache is configured); "
                             "gc trims it to local-max-mb unless --max-size or --older-than is given")
    parser.add_argument("tasks", nargs="*", help="status: tasks or kinds to look at (default: all)")
    parser.add_argument("--sample", type=int, default=0, metavar="N", help="verify: check N random entries")
    parser.add_argument("--rebuild", action="store_true",
                        help="verify: rebuild this project's cached tasks locally and compare bytes")
    parser.add_argument("--max-size", default="", metavar="SIZE", help="gc: trim the folder to SIZE (5G, 500M)")
    parser.add_argument("--older-than", default="", metavar="AGE", help="gc: remove entries older than AGE (30d)")
    try:
        return parser.parse_args(args)
    except SystemExit as exit_:
        if exit_.code:
            raise TflmakeError("cache: see `tflmake cache --help` for the actions and options") from None
        return None


def _configured(local: bool) -> tuple[CacheConfig, bool]:
    """The settings of the cache to act on: the shared one, or the local one (its folder as the URL, read-write);
    and whether it is the local one."""
    config = from_environment()
    if config is not None and (config.reads or config.writes) and not local:
        return config, False
    if config is None or not config.local:
        raise TflmakeError("no cache configured: the local cache is off ([tool.tflmake.cache] local = false, "
                           "TFLMAKE_CACHE_LOCAL=0 or --no-cache) and no shared cache is set ([tool.tflmake.cache] "
                           "url, --cache-url or TFLMAKE_CACHE_URL, with a mode other than off)")
    return replace(config, url=config.local_folder(), mode="read-write", storage_options={}), True


def _facts(task: Any) -> TaskFacts:
    spec, layout = task.actions[0].args[1:3]
    return facts_from_task(task, layout.build_dir, spec.folder, spec.name)


def _hashes(facts: TaskFacts) -> InputHashes:
    return InputHashes(f"{facts.build_dir}/{INPUT_HASHES}")


def _nearest(store: Store, facts: TaskFacts, document: dict[str, Any]) -> str:
    """What differs between this key and the task's closest entry, e.g. `tools.tensorflow: 2.20.0 -> 2.21.0`."""
    found = [entry["key_document"] for entry in store.entries(facts.kind, facts.label)
             if isinstance(entry.get("key_document"), dict)]
    if not found:
        return "no entry for this task"
    differences = min((key_differences(old, document) for old in found), key=len)
    return "; ".join(differences) or "entry unreadable"


def _compare(facts: TaskFacts, entry: dict[str, Any]) -> list[str]:
    """One line per output whose local bytes differ from the entry's.

    Folder outputs (a SavedModel) are compared by their targets, the weights stamp
    standing for the folder: TensorFlow writes different SavedModel bytes for equal weights.
    """
    records = entry.get("targets", {}) if TASK_KINDS[facts.kind].folder_outputs else entry.get("outputs", {})
    recorded = {role: record.get("sha256", "") for role, record in records.items() if isinstance(record, dict)}
    if TASK_KINDS[facts.kind].folder_outputs:
        local = {role: record["sha256"] for role, record in target_digests(facts).items()}
    else:
        local = {role: sha256_file(path) for role, path in facts.outputs().items()}
    return [f"{facts.name}: cache entry differs from a local rebuild: {role} is "
            f"{str(recorded.get(role, 'absent'))[:12]} in the cache, {digest[:12]} rebuilt"
            for role, digest in sorted(local.items()) if recorded.get(role) != digest]
