"""No-op after `build/` is restored with new timestamps, before and after `tflmake refresh`.

    python benchmarks/restored_build.py              # 1 spec, about 30 s
    python benchmarks/restored_build.py --specs 10   # more artifacts to re-hash

A built project of N digits_mlp copies is copied and every file under the
copy's build/ gets a new mtime, as a CI cache restore does. doit then re-hashes
those files on every no-op, since it saves nothing for up-to-date tasks. Median
of 9 alternated no-ops of the original and the copy, before and after
`tflmake refresh` in the copy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

from harness import DOIT, cleanup, make_project, paired_median_times, run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=1, help="digits_mlp copies to build")
    args = parser.parse_args(argv)
    original = make_project(args.specs)
    run(DOIT, original)
    restored = original.with_name(original.name + "-restored")
    shutil.copytree(original, restored)
    later = time.time() + 60
    for folder, _, files in os.walk(restored / "build"):
        for name in files:
            os.utime(os.path.join(folder, name), (later, later))
    print(f"{args.specs} spec(s)       | original no-op (s) | restored no-op (s) | restored / original")
    for when in ("before refresh", "after refresh"):
        if when == "after refresh":
            run([sys.executable, "-m", "tflmake", "refresh"], restored)
        kept, copied = paired_median_times(DOIT, DOIT, original, repeat=9, second_cwd=restored)
        print(f"{when:18s} | {kept:18.3f} | {copied:18.3f} | {copied / kept:19.2f}", flush=True)
    cleanup(original)
    cleanup(restored)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
