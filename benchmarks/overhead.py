"""Orchestration overhead and incremental rebuild (issue 6, benchmarks 2 and 3).

    python benchmarks/overhead.py            # 1 round, about a minute
    python benchmarks/overhead.py --rounds 3 # the BENCHMARKS.md figures (medians)

Per round, on digits_mlp: the hand-written one-process flow
(benchmarks/handwritten_flow.py); a clean `doit tflite`; a clean
`doit tflite carray` (tflmake's bundle also measures the TFLM arena and runs
the golden vector, which the hand-written flow does not); then an edit of the
int8 variant's io_type and the rebuild it causes, against the clean build.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

from harness import DOIT, cleanup, make_project, run


def round_times(scratch: Path) -> dict[str, float]:
    times = {"handwritten": run([sys.executable, str(Path(__file__).with_name("handwritten_flow.py")),
                                 str(scratch / "handwritten")], scratch)}
    for label, targets in (("doit tflite", ["tflite"]), ("doit tflite carray", ["tflite", "carray"])):
        project = make_project(1, scratch / label.replace(" ", "_"))
        times[label] = run([*DOIT, *targets], project)
        if "carray" in targets:
            spec = project / "modelspecs" / "m000.toml"
            spec.write_text(spec.read_text().replace('io_type = "int8"', 'io_type = "uint8"'))
            times["incremental io_type"] = run([*DOIT, *targets], project)
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    scratch = make_project(0)
    rounds = []
    for _ in range(args.rounds):
        rounds.append(round_times(scratch))
        for child in scratch.iterdir():
            if child.is_dir() and child.name != "modelspecs":
                shutil.rmtree(child)
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    base = medians["handwritten"]
    print(f"median of {args.rounds} round(s)")
    for key, value in medians.items():
        against = "clean `doit tflite carray`" if key.startswith("incremental") else "hand-written"
        reference = medians["doit tflite carray"] if key.startswith("incremental") else base
        print(f"{key:22s} {value:6.2f} s   {value / reference:5.2f}x {against}")
    cleanup(scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
