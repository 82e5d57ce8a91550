"""Reference-shaped Keras 2 models: tflmake's int8 firmware vs the published int8 reference recipe.

    python benchmarks/reference_models.py             # a few minutes on 2 cores
    python benchmarks/reference_models.py --keep DIR  # keep the project in DIR

Issue 15's "Done when", emulated offline. Four models shaped like published
TinyML references (MobileNet, ResNet, DS-CNN, the anomaly-detection FC
autoencoder), scaled down to the 8x8 digits, are trained briefly with Keras 2
(`tf_keras`, seeded, a legacy Adam whose slots land in the SavedModel) and saved
as a Keras 2 `.h5` and as a TF2 SavedModel: the forms such models are published in.

Reference: the recipe published int8 references are made with, on the trained
Keras 2 model in memory: a `[1, ...]` concrete function, `Optimize.DEFAULT`, a
representative data set of 100 training samples, `TFLITE_BUILTINS_INT8`, int8
input and output, and per-tensor Dense weights where that recipe has them.
tflmake: a spec of ~20 lines per file (`keras_file` for the `.h5`,
`saved_model` for the SavedModel) with an int8 variant, `c_array = true` (so
batch 1 by default) and the same `per_channel_dense` choice, built with the
`tflmake` command in a temporary project.

Both `.tflite` files are measured the same way: bytes of the file, operators
read from the flatbuffer, the TFLite Micro arena from
`tflmake.tflite.micro.measure_arena`, and accuracy (MSE for the autoencoder)
with LiteRT on tflmake's test split, one sample per invoke.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CALIBRATION_SAMPLES = 100


def mobilenet(k: Any) -> Any:
    """MobileNet v1 (the visual-wake-words reference): Conv/BN/ReLU6, depthwise + pointwise blocks, GAP, Dense."""
    def block(x: Any, filters: int, strides: int) -> Any:
        x = k.layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False)(x)
        x = k.layers.ReLU(6.0)(k.layers.BatchNormalization()(x))
        x = k.layers.Conv2D(filters, 1, use_bias=False)(x)
        return k.layers.ReLU(6.0)(k.layers.BatchNormalization()(x))

    inputs = k.Input((8, 8, 1))
    x = k.layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = k.layers.ReLU(6.0)(k.layers.BatchNormalization()(x))
    x = block(block(block(x, 16, 1), 32, 2), 32, 1)
    x = k.layers.GlobalAveragePooling2D()(x)
    return k.Model(inputs, k.layers.Dense(10, activation="softmax")(x), name="mobilenet")


def resnet(k: Any) -> Any:
    """ResNet-8 (the image-classification reference): a stem, an identity block, a strided block with a 1x1 shortcut."""
    def block(x: Any, filters: int, strides: int) -> Any:
        y = k.layers.Conv2D(filters, 3, strides=strides, padding="same")(x)
        y = k.layers.Activation("relu")(k.layers.BatchNormalization()(y))
        y = k.layers.BatchNormalization()(k.layers.Conv2D(filters, 3, padding="same")(y))
        if strides != 1:
            x = k.layers.Conv2D(filters, 1, strides=strides)(x)
        return k.layers.Activation("relu")(k.layers.Add()([x, y]))

    inputs = k.Input((8, 8, 1))
    x = k.layers.Conv2D(16, 3, padding="same")(inputs)
    x = k.layers.Activation("relu")(k.layers.BatchNormalization()(x))
    x = block(block(x, 16, 1), 32, 2)
    x = k.layers.Flatten()(k.layers.AveragePooling2D(4)(x))
    return k.Model(inputs, k.layers.Dense(10, activation="softmax")(x), name="resnet")


def dscnn(k: Any) -> Any:
    """DS-CNN (the keyword-spotting reference): Conv/BN/ReLU, depthwise-separable blocks, dropout, AvgPool, Flatten."""
    inputs = k.Input((8, 8, 1))
    x = k.layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)
    x = k.layers.Activation("relu")(k.layers.BatchNormalization()(x))
    for _ in range(2):
        x = k.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = k.layers.Activation("relu")(k.layers.BatchNormalization()(x))
        x = k.layers.Conv2D(16, 1, use_bias=False)(x)
        x = k.layers.Activation("relu")(k.layers.BatchNormalization()(x))
    x = k.layers.Dropout(0.2)(x)
    x = k.layers.Flatten()(k.layers.AveragePooling2D(8)(x))
    return k.Model(inputs, k.layers.Dense(10, activation="softmax")(x), name="dscnn")


def autoencoder(k: Any) -> Any:
    """The anomaly-detection FC autoencoder, on 64 pixels: Dense/BN/ReLU down to 8 and back, linear output."""
    inputs = k.Input((64,))
    x = inputs
    for units in (32, 32, 8, 32, 32):
        x = k.layers.Activation("relu")(k.layers.BatchNormalization()(k.layers.Dense(units)(x)))
    return k.Model(inputs, k.layers.Dense(64)(x), name="autoencoder")


@dataclass(frozen=True)
class Reference:
    """One reference-shaped model: how it is built and the Dense granularity its reference recipe uses."""

    make: Callable[[Any], Any]
    autoencoder: bool
    per_channel_dense: bool
    why: str


REFERENCES = {
    "mobilenet": Reference(mobilenet, False, True, "converter default, as the reference scripts call it"),
    "resnet": Reference(resnet, False, True, "converter default, as the reference scripts call it"),
    "dscnn": Reference(dscnn, False, True, "converter default, as the reference scripts call it"),
    "autoencoder": Reference(autoencoder, True, False,
                             "the anomaly-detection reference is per-tensor; Dense layers dominate"),
}


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 digits as [n, 8, 8, 1] floats in 0..1 and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype(np.float32)[..., None], data.target


def inputs_of(name: str, x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), 64) if REFERENCES[name].autoencoder else x


def train(name: str) -> Any:
    """The model trained with Keras 2: seeded, a legacy Adam (its slots are saved), a few epochs."""
    import tf_keras as k

    k.utils.set_random_seed(0)
    model = REFERENCES[name].make(k)
    x, y = digits()
    if REFERENCES[name].autoencoder:
        model.compile(k.optimizers.legacy.Adam(0.003), "mse")
        model.fit(inputs_of(name, x), inputs_of(name, x), epochs=30, batch_size=64, verbose=0)
    else:
        # 0.003, not 0.01: at 0.01 the BatchNormalization moving statistics lag the weights
        # (ResNet: 98 % in training, 48 % in inference).
        model.compile(k.optimizers.legacy.Adam(0.003), "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=20, batch_size=64, verbose=0)
    return model


def write_model_files(name: str, folder: Path) -> Any:
    """`<name>.h5` and `<name>_saved_model/` of the trained model in `folder`; returns the model."""
    model = train(name)
    model.save(folder / f"{name}.h5")
    model.save(folder / f"{name}_saved_model", save_format="tf")
    return model


def calibration_samples(name: str) -> np.ndarray:
    """100 seeded training samples, the usual size of a reference's representative data set."""
    x, _ = digits()
    chosen = np.random.default_rng(0).choice(len(x), CALIBRATION_SAMPLES, replace=False)
    return inputs_of(name, x[chosen])


def reference_int8(model: Any, calibration: np.ndarray, per_channel_dense: bool) -> bytes:
    """The published-reference recipe: int8 everywhere, int8 I/O, a fixed [1, ...] signature."""
    import tensorflow as tf

    function = tf.function(lambda x: model(x, training=False))
    # Named after the Keras input, as from_keras_model names the signature's input.
    signature = tf.TensorSpec([1, *model.input_shape[1:]], tf.float32, name=model.input_names[0])
    concrete = function.get_concrete_function(signature)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([sample[None]] for sample in calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    converter._experimental_disable_per_channel_quantization_for_dense_layers = not per_channel_dense
    return bytes(converter.convert())


def spec_text(name: str, file_format: str) -> str:
    """What a new user writes for the model file: source, data, calibration, a float and a firmware variant."""
    reference = REFERENCES[name]
    source = (f'type = "keras_file"\npath = "../models/{name}.h5"' if file_format == "h5"
              else f'type = "saved_model"\npath = "../models/{name}_saved_model"')
    data = ('type = "npz"\npath = "../models/digits_pixels.npz"\n\n[evaluation]\ntask = "regression"'
            if reference.autoencoder else 'type = "digits"\nscale = 16.0\nshape = [8, 8, 1]')
    return (f"# {name}, a Keras 2 model as published ({file_format}), to int8 firmware\n"
            f"[model.source]\n{source}\n\n[dataset]\n{data}\n\n[representative]\n"
            f"samples = {CALIBRATION_SAMPLES}\n\n"
            '[[variant]]\nname = "float32"\n\n'
            '[[variant]]\nname = "int8"\nquantize = "int8"\nio_type = "int8"\nc_array = true\n'
            f"per_channel_dense = {str(reference.per_channel_dense).lower()}\n")


def write_digits_pixels(folder: Path) -> None:
    """The autoencoder's data set: each flattened digit is its own target."""
    pixels = digits()[0].reshape(-1, 64)
    np.savez(folder / "digits_pixels.npz", x=pixels, y=pixels)


def predict(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """Dequantized outputs, one invoke per sample, inputs quantized with the model's own parameters."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite, num_threads=1)
    interpreter.allocate_tensors()
    source, sink = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    outputs = []
    for row in x:
        sample = row[None].astype(np.float32)
        scale, zero = source["quantization"]
        if scale:
            info = np.iinfo(source["dtype"])
            sample = np.clip(np.round(sample / scale + zero), info.min, info.max)
        interpreter.set_tensor(source["index"], sample.astype(source["dtype"]))
        interpreter.invoke()
        result = interpreter.get_tensor(sink["index"]).astype(np.float32)
        scale, zero = sink["quantization"]
        outputs.append((result - zero) * scale if scale else result)
    return np.concatenate(outputs)


def quality(tflite: bytes, dataset: Path, autoencoder: bool) -> float:
    """Accuracy, or MSE for the autoencoder, on a tflmake dataset.npz's test split."""
    with np.load(dataset) as data:
        x, y = data["x_test"], data["y_test"]
    outputs = predict(tflite, x)
    if autoencoder:
        return float(np.mean((outputs - y) ** 2))
    return float(np.mean(outputs.argmax(axis=1) == y))


def measure(tflite_path: Path) -> dict[str, Any]:
    """Bytes, executed operators and the measured TFLite Micro arena of one .tflite (both sides alike)."""
    from tflmake.tflite.micro import measure_arena
    from tflmake.tflite.opcodes import operator_names

    data = tflite_path.read_bytes()
    return {"size": len(data), "ops": operator_names(data), "arena": measure_arena(str(tflite_path), 1),
            "names": tensor_name_bytes(data), "stripped": size_without_names(data)}


def tensor_name_bytes(model: bytes) -> int:
    """Bytes of tensor-name strings in a .tflite: debug names the converter copies from the traced graph."""
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    subgraphs = [root.Subgraphs(index) for index in range(root.SubgraphsLength())]
    return sum(len(graph.Tensors(i).Name() or b"") for graph in subgraphs for i in range(graph.TensorsLength()))


def size_without_names(model: bytes) -> int:
    """Bytes of the .tflite written again by TFLite's `strip_strings` (no tensor names, signatures, description).

    Both sides are re-serialized by the same writer, so what is left to compare is
    weights, quantization parameters, operators and their options.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    stripped = flatbuffer_utils.read_model_from_bytearray(bytearray(model))
    flatbuffer_utils.strip_strings(stripped)
    return len(flatbuffer_utils.convert_object_to_bytearray(stripped))


def write_project(root: Path, names: list[str], formats: tuple[str, ...] = ("h5", "sm")) -> dict[str, Any]:
    """models/ with every file, modelspecs/ with one spec per model file; the trained models."""
    models, specs = root / "models", root / "modelspecs"
    models.mkdir(parents=True)
    specs.mkdir()
    write_digits_pixels(models)
    trained = {}
    for name in names:
        trained[name] = write_model_files(name, models)
        for file_format in formats:
            (specs / f"{name}_{file_format}.toml").write_text(spec_text(name, file_format))
    return trained


def write_references(root: Path, trained: dict[str, Any]) -> None:
    """references/<name>_int8.tflite, converted by the reference recipe."""
    folder = root / "references"
    folder.mkdir()
    for name, model in trained.items():
        data = reference_int8(model, calibration_samples(name), REFERENCES[name].per_channel_dense)
        (folder / f"{name}_int8.tflite").write_bytes(data)


def compare(root: Path, name: str, file_format: str) -> dict[str, Any]:
    """Reference and tflmake figures for one model file, from the built project."""
    model = f"{name}_{file_format}"
    build = root / "build" / model
    dataset = build / "dataset.npz"
    autoencoder = REFERENCES[name].autoencoder
    reference_path = root / "references" / f"{name}_int8.tflite"
    reference = measure(reference_path) | {"quality": quality(reference_path.read_bytes(), dataset, autoencoder)}
    firmware = json.loads((build / "int8_firmware.json").read_text())
    report = json.loads((build / "report.json").read_text())
    entry = report["variants"]["int8"]
    ours = {"size": (build / "int8.tflite").stat().st_size, "ops": entry["ops"],
            "op_kinds": sorted(firmware["ops"]), "arena": firmware["arena_bytes_measured"],
            "names": tensor_name_bytes((build / "int8.tflite").read_bytes()),
            "stripped": size_without_names((build / "int8.tflite").read_bytes()),
            "quality": entry["mse"] if autoencoder else entry["accuracy"],
            "quality_same_way": quality((build / "int8.tflite").read_bytes(), dataset, autoencoder),
            "loaded_by": report.get("loaded_by")}
    return {"model": name, "format": file_format, "reference": reference, "tflmake": ours,
            "spec_lines": len((root / "modelspecs" / f"{model}.toml").read_text().splitlines())}


def build(root: Path) -> subprocess.CompletedProcess[str]:
    """`tflmake` in the project, as a new user runs it."""
    return subprocess.run([sys.executable, "-m", "tflmake"], cwd=root, capture_output=True, text=True)


def row(result: dict[str, Any]) -> list[str]:
    reference, ours = result["reference"], result["tflmake"]
    autoencoder = REFERENCES[result["model"]].autoencoder

    def shown(value: float) -> str:
        return f"MSE {value:.5f}" if autoencoder else f"{value * 100:.2f} %"

    def ops(figures: dict[str, Any]) -> str:
        return f"{len(figures['ops'])} ({', '.join(sorted(set(figures['ops'])))})"

    verdict = "yes" if ours["size"] <= reference["size"] and ours["arena"] <= reference["arena"] else "**no**"
    return [result["model"], result["format"], str(result["spec_lines"]), ours["loaded_by"] or "–",
            f"{reference['size']:,}", ops(reference), f"{reference['arena']:,}", shown(reference["quality"]),
            f"{ours['size']:,}", ops(ours), f"{ours['arena']:,}", shown(ours["quality"]), verdict,
            f"{reference['stripped']:,} / {ours['stripped']:,}"]


HEADER = ["Model", "File", "Spec lines", "Loaded by", "Ref. size (B)", "Ref. ops", "Ref. arena (B)",
          "Ref. accuracy / MSE", "tflmake size (B)", "tflmake ops", "tflmake arena (B)",
          "tflmake accuracy / MSE", "No larger, no more arena", "Without names: ref. / tflmake (B)"]


def table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|" + "---:|" * (len(HEADER) - 2)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in rows])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="reference-shaped models vs their int8 references")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--models", nargs="*", default=list(REFERENCES), choices=list(REFERENCES))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        root = args.keep or Path(temporary)
        start = time.perf_counter()
        trained = write_project(root, args.models)
        write_references(root, trained)
        run = build(root)
        elapsed = time.perf_counter() - start
        if run.returncode != 0:
            print(f"tflmake failed on the first try (exit {run.returncode}):\n{run.stdout}{run.stderr}",
                  file=sys.stderr)
            return 1
        results = [compare(root, name, file_format) for name in args.models for file_format in ("h5", "sm")]
    print(table([row(result) for result in results]))
    for result in results:
        ours = result["tflmake"]
        print(f"{result['model']}_{result['format']}: tflmake int8 quality measured by this script "
              f"{ours['quality_same_way']:.5f} (report.json {ours['quality']:.5f}); tensor names "
              f"{result['reference']['names']:,} B in the reference, {ours['names']:,} B in tflmake's; "
              f"size without names (strip_strings) {result['reference']['stripped']:,} B and "
              f"{ours['stripped']:,} B; "
              f"op kinds in the firmware resolver: {', '.join(ours['op_kinds'])}")
    print(f"\nmodels trained, references converted and tflmake built in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
