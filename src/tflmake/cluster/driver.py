"""The driver of a cluster build: ship the files of each stale model the caches lack, submit one job per model, report.

The cluster only fills the shared cache; the driver's own build that follows
restores from it (and evaluates locally: latency is a measurement of this
machine). So a job that fails costs nothing but time: its model builds locally,
and a model whose stale tasks all hit (in the local cache, the shared one, or
the two together, as the build restores) needs no job at all.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from tflmake.cache.config import CacheConfig
from tflmake.cache.store import CacheUnavailable, Store
from tflmake.cluster.executor import ExecutorError, open_executor, parse_executor
from tflmake.cluster.identity import build_identity
from tflmake.cluster.job import DRIVER_ENVIRONMENT, run_job
from tflmake.cluster.plan import JobPlan, PlanError, StaleModel, plan_job, specs_folder
from tflmake.cluster.restorable import Probe, probe
from tflmake.digest import sha256_file
from tflmake.errors import TflmakeError

Say = Callable[[str], None]


class ClusterError(TflmakeError):
    """A cluster build cannot start (the build stops with this one line)."""


def fill_cache(executor: str, models: list[StaleModel], config: CacheConfig, specs_dir: str,
               say: Say) -> dict[str, dict[str, Any]]:
    """Build into the cache, on the cluster, each model the caches lack; each job's result (failed: ok False).

    Raises ClusterError when no cache can take the results; an unreachable
    cache or cluster is one warning line and no job results (the build goes on locally).
    """
    url = parse_executor(executor)
    if not (config.url and config.writes):
        raise ClusterError("--executor: the cluster fills the shared cache, so it needs a cache URL in "
                           "read-write mode (--cache-url URL --cache-mode read-write)")
    if not models:
        say("cluster: no stale cacheable tasks; nothing submitted")
        return {}
    restoring = ""
    try:
        probed = probe(models, config)
    except CacheUnavailable as error:  # the jobs could neither fetch their files nor publish
        say(f"tflmake: warning: {error}; building without the cluster")
        return {}
    else:
        if probed.looked_up:
            models = list(probed.submit)
            restoring = f"{restoring_summary(probed)}; "
    plans: list[JobPlan] = []
    results: dict[str, dict[str, Any]] = {}
    for model in models:
        try:
            plans.append(plan_job(model))
        except PlanError as error:
            results[model.spec.name] = {"model": model.spec.name, "ok": False, "message": str(error)}
            say(f"cluster: {model.spec.name}: {error}; building it locally")
    if not plans:
        if restoring:
            say(f"cluster: {restoring}nothing submitted")
        return results
    try:
        began = time.time()
        payloads = make_payloads(plans, worker_config(config), specs_folder(specs_dir))
        shipped = time.time() - began
        engine = open_executor(url)
    except (CacheUnavailable, ExecutorError) as error:
        say(f"tflmake: warning: {error}; building without the cluster")
        return results
    say(f"cluster: {restoring}{len(payloads)} job{'s' if len(payloads) != 1 else ''} submitted to {executor} "
        f"(files shipped in {shipped:.2f} s, engine ready in {time.time() - began - shipped:.1f} s)")
    try:
        results |= collect(engine.run(run_job, payloads), payloads, say)
    finally:
        engine.close()
    return results


def restoring_summary(probed: Probe) -> str:
    """`2 of 3 models restore from the cache (18 tasks looked up in 0.04 s; 9 hits in the local cache, 3 in the
    shared one)`: the breakdown only when the local cache was read."""
    where = ("" if probed.local_hits is None else
             f"; {probed.local_hits} hits in the local cache, {probed.shared_hits} in the shared one")
    return (f"{len(probed.restore)} of {len(probed.restore) + len(probed.submit)} models restore from the cache "
            f"({probed.looked_up} tasks looked up in {probed.seconds:.2f} s{where})")


def worker_config(config: CacheConfig) -> CacheConfig:
    """The driver's cache settings for workers: read-write, a folder cache named by its absolute path.

    A worker's current folder is not the driver's, so a relative folder cache
    (`cache`, `file://cache`, `file:cache`, `file://./cache`, `~/cache`) goes out
    as the folder fsspec opens for the driver: a plain absolute path, or a
    `file:///abs/path` URL when it was given as a URL.
    """
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    url = config.url or ""
    protocol = fsspec.core.split_protocol(url)[0]
    if protocol in (None, "file", "local"):
        fs, root = fsspec.core.url_to_fs(url)
        if isinstance(fs, LocalFileSystem):
            # fsspec reads `file:cache` as a folder too (split_protocol names no protocol there).
            url = f"file://{root}" if protocol or url.startswith(("file:", "local:")) else root
    return replace(config, url=url, mode="read-write")


def make_payloads(plans: list[JobPlan], config: CacheConfig, specs_dir: str) -> list[dict[str, Any]]:
    """Upload every file the jobs need (once per content) and describe each job as plain data."""
    store = Store(config.url or "", config.storage_options)
    driver = build_identity()
    uploaded: set[str] = set()
    payloads = []
    for plan in plans:
        files = {relative: sha256_file(path) for relative, path in plan.files.items()}
        for relative, digest in files.items():
            if digest not in uploaded and not store.has_blob(digest):
                store.write_blob(digest, plan.files[relative])
            uploaded.add(digest)
        payloads.append({"model": plan.model, "specs": specs_dir, "files": files, "tasks": list(plan.tasks),
                         "cache": asdict(config), "driver": driver,
                         "environment": {name: os.environ.get(name) for name in DRIVER_ENVIRONMENT}})
    return payloads


def collect(finished: Any, payloads: list[dict[str, Any]], say: Say) -> dict[str, dict[str, Any]]:
    """One progress line per job as it finishes; a summary line with the job start overhead."""
    results: dict[str, dict[str, Any]] = {}
    began = time.time()
    for count, (number, result) in enumerate(finished, start=1):
        model = payloads[number]["model"]
        result = {**result, "model": model}
        results[model] = result
        if result.get("ok"):
            say(f"cluster: {model} done on {result.get('worker', '?')} in {result.get('seconds', 0):.1f} s "
                f"({count} of {len(payloads)})")
        else:
            say(f"cluster: {model}: {result.get('message', 'failed')}; building it locally "
                f"({count} of {len(payloads)})")
    waits = [r["started"] - r["submitted"] for r in results.values() if "started" in r and "submitted" in r]
    failed = sum(not r.get("ok") for r in results.values())
    # The quickest start is the engine's own latency; later jobs also wait for a free worker.
    overhead = (f"; jobs started {min(waits):.2f} s after submit at best, {statistics.median(waits):.2f} s "
                "median (waiting for a free worker)" if waits else "")
    say(f"cluster: {len(results) - failed} of {len(results)} jobs done in {time.time() - began:.1f} s{overhead}")
    return results
