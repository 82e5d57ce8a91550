"""Child process for arena measurement: exit 0 if the model allocates and runs in N bytes.

Run as `python -m tflmake._arena_probe MODEL ARENA_BYTES INPUT_COUNT`. It is a
separate process because TFLite Micro's Python interpreter segfaults, rather
than raising, for some arenas that are too small.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    import numpy as np
    from tflite_micro.python.tflite_micro import runtime

    model_path, arena_bytes, input_count = argv[0], int(argv[1]), int(argv[2])
    try:
        interpreter = runtime.Interpreter.from_file(model_path, arena_size=arena_bytes)
        for index in range(input_count):
            details = interpreter.get_input_details(index)
            interpreter.set_input(np.zeros(details["shape"], details["dtype"]), index)
        interpreter.invoke()
    except RuntimeError as error:
        print(f"tflmake: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
