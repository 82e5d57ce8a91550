"""The flow a user writes by hand from the TFLite tutorials, in one process (the baseline).

Same work as `doit tflite carray` for digits_mlp: split the digits set, train the
MLP, export a SavedModel, draw 100 representative samples, convert the five
variants, write the int8 model as a C array. Run: python benchmarks/handwritten_flow.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(out: Path) -> None:
    import keras
    import numpy as np
    import tensorflow as tf
    from sklearn.datasets import load_digits

    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32").reshape(-1, 8, 8)
    y = digits.target.astype("int64")
    order = np.random.default_rng(0).permutation(len(x))
    split = len(x) - round(len(x) * 0.2)
    x_train, y_train = x[order[:split]], y[order[:split]]

    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
    model.export(str(out / "saved_model"), format="tf_saved_model", verbose=False)
    samples = x_train[np.sort(np.random.default_rng(0).choice(len(x_train), 100, replace=False))]

    def representative():
        for index in range(len(samples)):
            yield [samples[index: index + 1]]

    for name in ("float32", "dynamic", "float16", "int8", "int16x8"):
        converter = tf.lite.TFLiteConverter.from_saved_model(str(out / "saved_model"))
        if name != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if name == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if name in ("int8", "int16x8"):
            converter.representative_dataset = representative
        if name == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
        if name == "int16x8":
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        (out / f"{name}.tflite").write_bytes(converter.convert())

    data = (out / "int8.tflite").read_bytes()
    body = ",\n".join(", ".join(f"0x{b:02x}" for b in data[i:i + 12]) for i in range(0, len(data), 12))
    (out / "int8_model_data.h").write_text(
        "#pragma once\nextern const unsigned char g_model[];\nextern const unsigned int g_model_len;\n")
    (out / "int8_model_data.c").write_text(
        f'#include "int8_model_data.h"\nalignas(16) const unsigned char g_model[] = {{\n{body}\n}};\n'
        f"const unsigned int g_model_len = {len(data)};\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
