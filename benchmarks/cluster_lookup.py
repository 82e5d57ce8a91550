"""The cluster driver's look-up before submitting: S3 requests and time, batched per level against one read per task.

    python benchmarks/cluster_lookup.py --specs 4 --delays 0 20 50 --rounds 5

One serial build of N digits MLPs (benchmarks/cluster.py's spec) fills a fresh
bucket of a SeaweedFS S3 server on loopback; then, in a fresh checkout of the
same specs (every cacheable task stale), the driver's look-up
(`tflmake.cluster.restorable.probe`: one concurrent batch of entry reads per
dependency level, every model at once) is timed in this process against one
`read_entry` per task in build order (downstream keys from upstream entries, as
a look-up without batching must), each opening its own store. The S3 endpoint is
reached through benchmarks/cache_lookups.py's proxy that delays every
client-to-server chunk by `delay` ms (loopback has no latency; a real bucket has
tens of milliseconds per request). GETs are counted at s3fs's `_cat_file`,
batches at its `_cat`. The two ways alternate within each round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomli_w
from cache_lookups import DelayProxy, proxied
from cluster import SPEC, tflmake
from harness import REPO

sys.path.insert(0, str(REPO))
from tests.s3server import start_s3_server  # noqa: E402


def checkout(root: Path, specs: int, table: dict[str, Any] | None = None) -> Path:
    (root / "modelspecs").mkdir(parents=True)
    for index in range(specs):
        (root / "modelspecs" / f"m{index:03d}.toml").write_text(SPEC.format(units=16 + index))
    if table is not None:
        (root / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"tflmake": {"cache": table}}}))
    return root


def stale_models() -> list[Any]:
    """Every model of the current folder's project with all its cacheable tasks (a fresh checkout: all stale)."""
    from tflmake.cache.key import facts_from_task
    from tflmake.cluster.plan import StaleModel
    from tflmake.graph.tasks import find_spec_files, load_models
    from tflmake.kinds import TASK_KINDS
    from tflmake.paths import Layout

    layout = Layout("build")
    models, _ = load_models(find_spec_files("modelspecs"), layout)
    stale = []
    for spec, tasks in models:
        facts = tuple(facts_from_task(task, layout.build_dir, spec.folder, spec.name) for task in tasks
                      if TASK_KINDS[task["basename"]].cached)
        stale.append(StaleModel(spec, tuple(f.name for f in facts), facts))
    return stale


def one_read_per_task(models: list[Any], config: Any) -> int:
    """Each task's entry read on its own, in build order; the number of hits."""
    from tflmake.cache.action import INPUT_HASHES
    from tflmake.cache.key import InputHashes, action_key, key_document
    from tflmake.cache.probe import restorable_targets
    from tflmake.cache.store import Store

    store = Store(config.url, config.storage_options)
    hashes = InputHashes(f"build/{INPUT_HASHES}")
    known: dict[str, Any] = {}
    hits = 0
    for model in models:
        for facts in model.stale:
            document, _ = key_document(facts, config.namespace, hashes, known)
            entry = store.read_entry(facts.kind, facts.label, action_key(document))
            if entry is not None:
                hits += 1
                known.update(restorable_targets(facts, entry))
    return hits


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=4)
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 20.0, 50.0], help="ms added per request")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    from s3fs import S3FileSystem

    from tflmake.cache.config import CacheConfig
    from tflmake.cluster.restorable import probe

    work = Path(tempfile.mkdtemp(prefix="tflmake-bench-lookup-"))
    server = start_s3_server(work / "s3")
    try:
        bucket = server.new_bucket()
        table = {"url": f"s3://{bucket}", "mode": "read-write", "storage-options": server.storage_options}
        wall, _ = tflmake(checkout(work / "ci", args.specs, table))
        os.chdir(checkout(work / "fresh", args.specs))
        models = stale_models()
        tasks = sum(len(model.stale) for model in models)
        print(f"{args.specs} specs, {tasks} cacheable tasks; the bucket filled by a serial build in {wall:.1f} s")
        gets: list[int] = []
        batches: list[int] = []
        cat_file, cat = S3FileSystem._cat_file, S3FileSystem._cat

        async def counted_cat_file(self: Any, *a: Any, **k: Any) -> Any:
            gets.append(1)
            return await cat_file(self, *a, **k)

        async def counted_cat(self: Any, *a: Any, **k: Any) -> Any:
            batches.append(1)
            return await cat(self, *a, **k)

        S3FileSystem._cat_file, S3FileSystem._cat = counted_cat_file, counted_cat  # type: ignore[method-assign]
        print("delay (ms) | batched: GETs in batches, hits | median (ms) | one read per task: GETs, hits | "
              "median (ms) | ratio")
        for delay in args.delays:
            proxy = DelayProxy(int(server.endpoint.rsplit(":", 1)[1]), delay / 1000)
            # The bucket alone: the probe reads the local cache first, and the build above filled it.
            config = CacheConfig(url=f"s3://{bucket}", mode="read-write", storage_options=proxied(server, proxy.port),
                                 local=False)
            times: dict[str, list[float]] = {"batched": [], "single": []}
            counts: dict[str, tuple[int, int, int]] = {}
            for _ in range(args.rounds):
                for way in ("batched", "single"):
                    gets.clear()
                    batches.clear()
                    began = time.perf_counter()
                    if way == "batched":
                        result = probe(models, config)
                        hits = sum(len(model.stale) for model in result.restore)
                    else:
                        hits = one_read_per_task(models, config)
                    times[way].append(time.perf_counter() - began)
                    counts[way] = (len(gets), len(batches), hits)
            batched, single = (statistics.median(times[way]) * 1000 for way in ("batched", "single"))
            print(f"{delay:10.0f} | {counts['batched'][0]} in {counts['batched'][1]}, {counts['batched'][2]} hits | "
                  f"{batched:11.0f} | {counts['single'][0]}, {counts['single'][2]} hits | {single:11.0f} | "
                  f"{single / batched:.2f}x", flush=True)
    finally:
        server.stop()
        os.chdir(REPO)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
