"""What Keras' clear_session costs in a process that has imported TensorFlow, before and after `gc.freeze()`.

    python benchmarks/clear_session.py --rounds 5

The warm worker runs clear_session before and after every step (worker/isolation.py); it collects
garbage over every object the process holds. A conversion is made first, as a step would.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time


def timed_clear_sessions(keras: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        keras.backend.clear_session()  # type: ignore[attr-defined]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    tf.lite.TFLiteConverter.from_keras_model(model).convert()
    print(f"objects tracked: {len(gc.get_objects())}")
    print(f"clear_session, median of {rounds}: {timed_clear_sessions(keras, rounds):.3f} s")
    gc.collect()
    gc.freeze()
    print(f"after gc.freeze() ({gc.get_freeze_count()} objects frozen): "
          f"{timed_clear_sessions(keras, rounds):.3f} s")


if __name__ == "__main__":
    main()
