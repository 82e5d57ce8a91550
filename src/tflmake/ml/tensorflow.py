"""Import TensorFlow once per process, quietly and deterministically."""

from __future__ import annotations

import os
import sys
from functools import cache
from types import ModuleType

# Threads TensorFlow's ops may use (intra-op and inter-op pools), e.g. a cluster worker's share of the
# machine's cores (cluster.job sets it); unset, TensorFlow's default (every core).
THREADS_ENV = "TFLMAKE_TF_THREADS"


@cache
def import_tensorflow() -> ModuleType:
    """TensorFlow with C++ log noise off (unless the user set a level) and op determinism on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    # absl keeps the stream it found at import (doit's stderr wrapper, which has no
    # close()); give it the real one so interpreter exit stays quiet.
    from absl import logging as absl_logging

    absl_logging.get_absl_handler().python_handler.stream = sys.__stderr__
    tf.config.experimental.enable_op_determinism()
    threads = tensorflow_threads()
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    return tf


def tensorflow_threads() -> int:
    """The thread count THREADS_ENV asks for, or 0 (TensorFlow's default)."""
    try:
        return max(0, int(os.environ.get(THREADS_ENV, "")))
    except ValueError:
        return 0


@cache
def import_keras() -> ModuleType:
    import_tensorflow()
    import keras

    return keras
