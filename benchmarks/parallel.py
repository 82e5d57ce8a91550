"""Parallel builds (issue 6, benchmark 4): `doit -n 2` against a serial build of the same models.

    python benchmarks/parallel.py            # 2 models (digits_mlp and digits_cnn)
    python benchmarks/parallel.py --copies 2 # 2 copies of each (4 models)

doit's default parallel type is a process pool (`-P process`): each worker
imports TensorFlow once and keeps it for all the tasks it runs. Threads (`-P
thread`) are not used: TensorFlow is imported per process anyway, and the
builders redirect file descriptors 1 and 2 around each step, which is
process-wide. The .tflite files of both builds must be byte-identical.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from harness import DODO, DOIT, REPO, cleanup, digests, run


def project(root: Path, copies: int) -> Path:
    (root / "modelspecs").mkdir(parents=True)
    (root / "dodo.py").write_text(DODO)
    for name in ("digits_mlp", "digits_cnn"):
        for copy in range(copies):
            text = (REPO / "modelspecs" / f"{name}.toml").read_text()
            (root / "modelspecs" / f"{name}_{copy}.toml").write_text(text)
    return root


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1, help="copies of each example spec")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="tflmake-parallel-"))
    serial_project = project(scratch / "serial", args.copies)
    parallel_project = project(scratch / "parallel", args.copies)
    serial = run(DOIT, serial_project)
    parallel = run([*DOIT, "-n", "2"], parallel_project)
    same = digests(serial_project / "build") == digests(parallel_project / "build")
    models = 2 * args.copies
    print(f"{models} models: serial {serial:.1f} s, doit -n 2 {parallel:.1f} s, "
          f"speed-up {serial / parallel:.2f}x; .tflite byte-identical: {same}")
    cleanup(scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
