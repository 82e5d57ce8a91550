"""`python -m tflmake.worker --build-dir DIR`: serve the project in the working directory (started by tflmake)."""

import argparse
import sys

from tflmake.worker.server import serve

parser = argparse.ArgumentParser(prog="python -m tflmake.worker")
parser.add_argument("--build-dir", default="build")
parser.add_argument("--idle", type=float, default=900.0, help="seconds without a request before exiting")
parser.add_argument("--max-rss-mb", type=float, default=3072.0, help="exit after a step that leaves it larger")
parser.add_argument("--slot", type=int, default=0, help="which of the project's workers this is (0, 1, ...)")
parser.add_argument("--lock-descriptor", type=int, default=-1,
                    help="the slot's lock file, locked by the starting client (-1: lock it here)")
options = parser.parse_args()
sys.exit(serve(options.build_dir, options.idle, options.max_rss_mb, options.slot, options.lock_descriptor))
