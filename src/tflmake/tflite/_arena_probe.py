"""Child process for arena measurement: probe one arena size, or run the whole search.

`python -m tflmake.tflite._arena_probe probe MODEL ARENA_BYTES INPUT_COUNT` exits 0 if the
model allocates and runs in ARENA_BYTES. `... search MODEL LOW HIGH HIGH_FITS
INPUT_COUNT` runs the grow-then-bisect search in this one process, printing
`try N` before each probe and `state LOW HIGH HIGH_FITS` after it, then `done N`.
A fresh search (LOW = 0) first prints `check CAP` and probes the largest arena it
would ever try: a model that fails there fails at every size (an op or type TFLM
lacks), so it prints `unrunnable` at once; TFLM's own words are on stderr.
Both live in a child because TFLite Micro's Python interpreter segfaults, rather
than raising, for some arenas that are too small: the parent restarts the
search from the last state, counting the crashed size as too small.
"""

from __future__ import annotations

import sys

# No microcontroller has more; a model that cannot run in this cannot run in TFLM at all.
ARENA_CAP = 256 * 1024 * 1024


def fits(model_path: str, arena_bytes: int, input_count: int) -> bool:
    import numpy as np
    from tflite_micro.python.tflite_micro import runtime

    try:
        interpreter = runtime.Interpreter.from_file(model_path, arena_size=arena_bytes)
        for index in range(input_count):
            details = interpreter.get_input_details(index)
            interpreter.set_input(np.zeros(details["shape"], details["dtype"]), index)
        interpreter.invoke()
    except RuntimeError as error:
        print(f"tflmake: {error}", file=sys.stderr)
        return False
    return True


def search(model_path: str, low: int, high: int, high_fits: bool, input_count: int) -> int:
    """Grow `high` until it fits, then bisect; invariant: `low` does not fit."""
    if low == 0 and not high_fits:
        print(f"check {ARENA_CAP}", flush=True)
        if not fits(model_path, ARENA_CAP, input_count):
            print("unrunnable", flush=True)
            return 2
    while not high_fits:
        print(f"try {high}", flush=True)
        if fits(model_path, high, input_count):
            high_fits = True
        else:
            low, high = high, min(high * 4, ARENA_CAP)
        print(f"state {low} {high} {int(high_fits)}", flush=True)
    while high - low > 1:
        middle = (low + high) // 2
        print(f"try {middle}", flush=True)
        if fits(model_path, middle, input_count):
            high = middle
        else:
            low = middle
        print(f"state {low} {high} 1", flush=True)
    print(f"done {high}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "probe":
        return 0 if fits(argv[1], int(argv[2]), int(argv[3])) else 1
    return search(argv[1], int(argv[2]), int(argv[3]), argv[4] == "1", int(argv[5]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
