"""Running built models in LiteRT the way firmware does (quantize in, dequantize out)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def predict(tflite_path: Path, x: np.ndarray) -> np.ndarray:
    """Dequantized outputs of a .tflite on every row of `x`, one invoke per sample."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_path), num_threads=1)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    sink = interpreter.get_output_details()[0]
    outputs = []
    for row in x:
        sample = row[None].astype(np.float32)
        scale, zero = source["quantization"]
        if scale:
            sample = np.clip(np.round(sample / scale + zero), np.iinfo(source["dtype"]).min,
                             np.iinfo(source["dtype"]).max)
        interpreter.set_tensor(source["index"], sample.astype(source["dtype"]))
        interpreter.invoke()
        result = interpreter.get_tensor(sink["index"]).astype(np.float32)
        scale, zero = sink["quantization"]
        outputs.append((result - zero) * scale if scale else result)
    return np.concatenate(outputs)


def accuracy(tflite_path: Path, dataset_path: Path) -> float:
    with np.load(dataset_path) as data:
        x, y = data["x_test"], data["y_test"]
    return float(np.mean(predict(tflite_path, x).argmax(axis=1) == y))
