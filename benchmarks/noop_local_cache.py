"""The no-op with the local cache on by default, against the code before it (issue 21 §5).

    python benchmarks/noop_local_cache.py --before /tmp/base/src --rounds 21

A built one-spec project (the tiny starter spec of `tflmake new`); then, alternated
`--rounds` times, a no-op `python -m tflmake` and `python -m doit` with this
tree's `src/` and with `--before` (another commit's `src/`, e.g. from `git archive
COMMIT src | tar -x -C /tmp/base`) on PYTHONPATH, and `python -c "import doit"`.
Also prints the modules each no-op imports that the other does not
(`python -X importtime`): none means the local cache costs a no-op nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import DODO, ENVIRONMENT, IMPORT_DOIT

REPO = Path(__file__).resolve().parents[1]


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return time.perf_counter() - start


def imported(command: list[str], cwd: Path, env: dict[str, str]) -> set[str]:
    result = subprocess.run([sys.executable, "-X", "importtime", *command[1:]], cwd=cwd, capture_output=True,
                            text=True, env=env)
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines()[1:] if "|" in line}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the src/ folder of the code to compare with")
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="tflmake-noop-local-"))
    codes = {"before": str(Path(args.before).resolve()), "now": str(REPO / "src")}
    projects, envs = {}, {}
    for label, src in codes.items():
        project = scratch / label
        envs[label] = {**ENVIRONMENT, "PYTHONPATH": src, "TFLMAKE_CACHE_LOCAL_DIR": str(scratch / "local-cache")}
        project.mkdir()
        subprocess.run([sys.executable, "-m", "tflmake", "new", "tiny"], cwd=project, env=envs[label], check=True,
                       capture_output=True)
        (project / "dodo.py").write_text(DODO)
        timed([sys.executable, "-m", "tflmake"], project, envs[label])
        projects[label] = project
    commands = {"tflmake": [sys.executable, "-m", "tflmake"], "doit": [sys.executable, "-m", "doit"]}
    times: dict[str, list[float]] = {"import doit": []} | {f"{c}, {label}": [] for c in commands for label in codes}
    for _ in range(args.rounds):
        times["import doit"].append(timed(IMPORT_DOIT, scratch, ENVIRONMENT))
        for name, command in commands.items():
            for label in codes:
                times[f"{name}, {label}"].append(timed(command, projects[label], envs[label]))
    print(f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load {os.getloadavg()[0]:.1f}, {args.rounds} rounds")
    print("| command | median | / `import doit` |\n|---|---:|---:|")
    base = statistics.median(times["import doit"])
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values) * 1000:.0f} ms | {statistics.median(values) / base:.2f}x |")
    for name, command in commands.items():
        before, now = (imported(command, projects[label], envs[label]) for label in codes)
        print(f"{name} no-op: {len(now)} modules imported now, {len(before)} before; only now: "
              f"{sorted(now - before) or 'none'}; only before: {sorted(before - now) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
