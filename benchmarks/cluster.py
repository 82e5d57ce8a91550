"""Cluster builds: N specs on a Dask LocalCluster of 1 and 2 workers, job overhead, projection to more workers.

    python benchmarks/cluster.py                  # 4 specs, 1 and 2 workers
    python benchmarks/cluster.py --specs 20 --workers 1 2
    python benchmarks/cluster.py --specs 20 --workers 2 --engine ray   # ray-local:W (tflmake[ray])

N copies of a digits MLP spec (epochs and variants below). In one run:
  serial   `tflmake --no-cache` in a fresh checkout (the reference)
  W        `tflmake --executor dask-local:W` (or ray-local:W) with an empty folder cache (read-write), fresh checkout
  W again  the same in a second fresh checkout with that (now full) cache: the driver looks every stale
           task up first, submits nothing and restores (the look-up's time and task count from its line)
Every cluster run gets an empty local cache of its own (TFLMAKE_CACHE_LOCAL_DIR): the driver would
otherwise restore the models an earlier run built from it and submit no job.
For each cluster run it reads tflmake's own lines: when the files were shipped
and the engine ready, each job's time on its worker, the median job start
overhead (submit -> start on an idle worker: the quickest job start), and the driver's build after the jobs
(restores plus evaluation). From the 1-worker run's per-model job time it
projects the wall time on more workers and names what stops the scaling.
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ENVIRONMENT

SPEC = """
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [{{ type = "Flatten" }}, {{ type = "Dense", units = {units}, activation = "relu" }},
          {{ type = "Dense", units = 10, activation = "softmax" }}]

[dataset]
type = "digits"
scale = 16.0
shape = [8, 8]

[train]
epochs = 3

[representative]
samples = 100

[[variant]]
name = "float32"

[[variant]]
name = "dynamic"
quantize = "dynamic"

[[variant]]
name = "int8"
quantize = "int8"
io_type = "int8"
c_array = true
"""

PROBE = r"cluster: (\d+) of \d+ models restore from the cache \((\d+) tasks looked up in ([\d.]+) s(?:; [^)]*)?\); "
NOTHING = re.compile(rf"^{PROBE}nothing submitted$", re.MULTILINE)
SHIPPED = re.compile(rf"^(?:{PROBE})?\d+ jobs? submitted to \S+ \(files shipped in ([\d.]+) s, "
                     r"engine ready in ([\d.]+) s\)", re.MULTILINE)
JOB = re.compile(r"^cluster: \w+ done on \S+ in ([\d.]+) s", re.MULTILINE)
JOBS = re.compile(r"^cluster: (\d+) of (\d+) jobs done in ([\d.]+) s; jobs started ([\d.]+) s after submit at best",
                  re.MULTILINE)
DRIVER = re.compile(r"^tflmake: (\d+) built, (\d+) restored from cache, .*\(([\d.]+)s\)$", re.MULTILINE)


def checkout(root: Path, count: int) -> Path:
    (root / "modelspecs").mkdir(parents=True)
    for index in range(count):
        (root / "modelspecs" / f"m{index:03d}.toml").write_text(SPEC.format(units=16 + index))
    return root


def tflmake(root: Path, *args: str, local_cache: Path | None = None) -> tuple[float, str]:
    """Wall time and output of `tflmake ARGS` in `root` (`local_cache`: the local cache's folder)."""
    environment = ENVIRONMENT if local_cache is None else {**ENVIRONMENT, "TFLMAKE_CACHE_LOCAL_DIR": str(local_cache)}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tflmake", *args], cwd=root, capture_output=True, text=True,
                            env=environment)
    wall = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise SystemExit(f"tflmake {' '.join(args)} failed in {root}:\n{output[-3000:]}")
    return wall, output


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--engine", choices=("dask", "ray"), default="dask")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tflmake-bench-cluster-"))
    try:
        serial, _ = tflmake(checkout(work / "serial", args.specs), "--no-cache")
        print(f"{args.specs} specs; serial build (no cache): {serial:.1f} s wall; {args.engine}-local", flush=True)
        print("workers | wall (s) | vs serial | ship (s) | engine start (s) | jobs (s) | job median (s) | "
              "job start overhead, best (s) | driver build after jobs (s) | restored")
        measured = {}
        for workers in args.workers:
            root = checkout(work / f"w{workers}", args.specs)
            wall, output = tflmake(root, "--executor", f"{args.engine}-local:{workers}", "--cache-url",
                                   (work / f"cache{workers}").as_posix(), "--cache-mode", "read-write",
                                   local_cache=work / f"local{workers}")
            ship, engine = map(float, SHIPPED.search(output).groups()[-2:])  # type: ignore[union-attr]
            jobs = [float(seconds) for seconds in JOB.findall(output)]
            done, total, jobs_wall, overhead = JOBS.search(output).groups()  # type: ignore[union-attr]
            built, restored, driver = DRIVER.findall(output)[-1]
            measured[workers] = (ship, engine, statistics.median(jobs), float(driver))
            print(f"{workers:7d} | {wall:8.1f} | {wall / serial:9.2f} | {ship:8.2f} | {engine:16.1f} | "
                  f"{float(jobs_wall):8.1f} | {statistics.median(jobs):14.1f} | {float(overhead):28.2f} | "
                  f"{float(driver):27.1f} | {restored} ({built} built; {done} of {total} jobs ok)", flush=True)
            again, output = tflmake(checkout(work / f"w{workers}-again", args.specs), "--executor",
                                    f"{args.engine}-local:{workers}", "--cache-url",
                                    (work / f"cache{workers}").as_posix(), "--cache-mode", "read-write",
                                    local_cache=work / f"local{workers}-again")
            whole, looked_up, probe = NOTHING.search(output).groups()  # type: ignore[union-attr]
            built, restored, driver = DRIVER.findall(output)[-1]
            print(f"{workers:7d} again, fresh checkout, full cache: {again:.1f} s wall; {whole} of {args.specs} "
                  f"models restore, nothing submitted; {looked_up} tasks looked up in {probe} s; driver build "
                  f"{driver} s, {restored} restored, {built} built", flush=True)
        project(args.specs, measured[min(measured)])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def project(count: int, measured: tuple[float, float, float, float]) -> None:
    """Wall time on W workers: ship + engine start + ceil(N / W) rounds of one job + the driver's build."""
    ship, engine, job, driver = measured
    print(f"\nprojection from the smallest run (ship {ship:.2f} s, engine {engine:.1f} s, job {job:.1f} s, "
          f"driver build {driver:.1f} s, for {count} specs):")
    print("workers | projected wall (s) | largest part")
    for workers in sorted({1, 2, 4, 8, 16, count}):
        rounds = math.ceil(count / workers) * job
        parts = {"jobs": rounds, "driver restore + evaluation": driver, "engine start": engine,
                 "driver upload": ship}
        print(f"{workers:7d} | {ship + engine + rounds + driver:18.1f} | {max(parts, key=lambda k: parts[k])}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
