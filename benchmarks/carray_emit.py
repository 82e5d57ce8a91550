"""Time tflmake's C-array emitter against `xxd -i` on the same random bytes.

    python benchmarks/carray_emit.py          # 2 MB, a few seconds
    python benchmarks/carray_emit.py --full   # 16 MB, the figure in BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tflmake.emit.carray import render_array


def time_emitter(data: bytes, out: Path) -> float:
    start = time.perf_counter()
    out.write_text(render_array(data, symbol="g_model", alignment=16, section=None))
    return time.perf_counter() - start


def time_xxd(source: Path, out: Path) -> float:
    start = time.perf_counter()
    with out.open("wb") as handle:
        subprocess.run(["xxd", "-i", str(source)], stdout=handle, check=True)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="tflmake's C-array emitter vs xxd -i")
    parser.add_argument("--full", action="store_true", help="16 MB instead of 2 MB")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    args = parser.parse_args(argv)
    if shutil.which("xxd") is None:
        print("xxd is not installed (Debian: apt-get install xxd)", file=sys.stderr)
        return 2
    megabytes = 16 if args.full else 2
    data = os.urandom(megabytes * 1024 * 1024)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "model.tflite").write_bytes(data)
        emitter = min(time_emitter(data, work / "tflmake.c") for _ in range(args.repeat))
        xxd = min(time_xxd(work / "model.tflite", work / "xxd.c") for _ in range(args.repeat))
    print(f"{megabytes} MB random bytes, best of {args.repeat}")
    print(f"tflmake emit.carray: {emitter:.3f} s")
    print(f"xxd -i:              {xxd:.3f} s")
    print(f"xxd / tflmake:       {xxd / emitter:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
