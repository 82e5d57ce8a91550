"""Static batch 1 and per-tensor Dense weights: size, ops and TFLite Micro arena, before and after.

    python benchmarks/converter_controls.py             # a few minutes on 2 cores
    python benchmarks/converter_controls.py --keep DIR  # keep the built project in DIR

Builds, in a temporary project with the `tflmake` command, four models on the
8x8 digits: the repo's digits_mlp and digits_cnn, an FC autoencoder (the
anomaly-detection benchmark's shape, 64 -> 4x128 -> 8 -> 4x128 -> 64,
regression on its own input) and a depthwise-separable CNN (DS-CNN-like).
Each gets four int8 firmware variants (int8 I/O, c_array = true):

- `dynamic_pc`: batch = "dynamic", per-channel Dense (what tflmake did before the keys)
- `batch1_pc`:  batch = 1 (the new default for c_array variants), per-channel Dense
- `dynamic_pt`: batch = "dynamic", per_channel_dense = false
- `batch1_pt`:  batch = 1, per_channel_dense = false

plus the float32 model with each batch (c_array = true, to measure its arena),
and prints one Markdown table from the models' report.json and _firmware.json:
.tflite bytes, op count and the op kinds a batch adds, the measured arena, and
accuracy (or MSE for the autoencoder).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BATCH_OPS = ("SHAPE", "STRIDED_SLICE", "PACK")

VARIANTS = {
    "dynamic_pc": 'batch = "dynamic"',
    "batch1_pc": "batch = 1",
    "dynamic_pt": 'batch = "dynamic"\nper_channel_dense = false',
    "batch1_pt": "batch = 1\nper_channel_dense = false",
}

AUTOENCODER = """
[model.source]
type = "layers"
input_shape = [64]
layers = [
  { type = "Dense", units = 128, activation = "relu" },
  { type = "Dense", units = 128, activation = "relu" },
  { type = "Dense", units = 128, activation = "relu" },
  { type = "Dense", units = 128, activation = "relu" },
  { type = "Dense", units = 8, activation = "relu" },
  { type = "Dense", units = 128, activation = "relu" },
  { type = "Dense", units = 128, activation = "relu" },
  { type = "Dense", units = 128, activation = "relu" },
  { type = "Dense", units = 128, activation = "relu" },
  { type = "Dense", units = 64 },
]

[dataset]
type = "npz"
path = "digits_autoencoder.npz"

[train]
epochs = 20
loss = "mse"
metrics = []

[evaluation]
task = "regression"
latency_runs = 10
"""

DS_CNN = """
[model.source]
type = "layers"
input_shape = [8, 8, 1]
layers = [
  { type = "Conv2D", filters = 16, kernel_size = 3, padding = "same", activation = "relu" },
  { type = "DepthwiseConv2D", kernel_size = 3, padding = "same", activation = "relu" },
  { type = "Conv2D", filters = 32, kernel_size = 1, activation = "relu" },
  { type = "DepthwiseConv2D", kernel_size = 3, padding = "same", activation = "relu" },
  { type = "Conv2D", filters = 32, kernel_size = 1, activation = "relu" },
  { type = "MaxPooling2D", pool_size = 2 },
  { type = "Flatten" },
  { type = "Dense", units = 64, activation = "relu" },
  { type = "Dense", units = 10, activation = "softmax" },
]

[dataset]
type = "digits"
scale = 16.0
shape = [8, 8, 1]

[train]
epochs = 10

[evaluation]
latency_runs = 10
"""


# The float32 model both ways too: what a default of batch = 1 for every variant would change.
FLOAT_VARIANTS = {"float_dynamic": 'batch = "dynamic"', "float_batch1": "batch = 1"}


def variants() -> str:
    text = "".join(f'\n[[variant]]\nname = "{name}"\nc_array = true\n{keys}\n'
                   for name, keys in FLOAT_VARIANTS.items())
    return text + "".join(f'\n[[variant]]\nname = "{name}"\nquantize = "int8"\nio_type = "int8"\n'
                          f"c_array = true\n{keys}\n" for name, keys in VARIANTS.items())


def repo_spec_without_variants(name: str) -> str:
    text = (REPO / "modelspecs" / f"{name}.toml").read_text()
    return text[:text.index("[[variant]]")] + "[evaluation]\nlatency_runs = 10\n"


def write_project(root: Path) -> None:
    specs = root / "modelspecs"
    specs.mkdir(parents=True)
    from sklearn.datasets import load_digits

    pixels = (load_digits().data / 16.0).astype(np.float32)
    np.savez(specs / "digits_autoencoder.npz", x=pixels, y=pixels)
    (specs / "digits_mlp.toml").write_text(repo_spec_without_variants("digits_mlp") + variants())
    (specs / "digits_cnn.toml").write_text(repo_spec_without_variants("digits_cnn") + variants())
    (specs / "fc_autoencoder.toml").write_text(AUTOENCODER + variants())
    (specs / "ds_cnn.toml").write_text(DS_CNN + variants())


def row(model: str, name: str, entry: dict, firmware: dict) -> list[str]:  # type: ignore[type-arg]
    ops = entry["ops"]
    batch_ops = [op for op in ops if op in BATCH_OPS]
    quality = f"MSE {entry['mse']:.5f}" if entry["accuracy"] is None else f"{entry['accuracy'] * 100:.2f} %"
    return [model, name, f"{entry['size_bytes']:,}", str(len(ops)), ", ".join(sorted(set(batch_ops))) or "–",
            str(len(firmware["ops"])), f"{firmware['arena_bytes_measured']:,}",
            quality]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in rows])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="tflmake converter controls benchmark")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        root = args.keep or Path(temporary)
        write_project(root)
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "tflmake"], cwd=root, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if run.returncode != 0:
            print(run.stdout + run.stderr, file=sys.stderr)
            return 1
        rows = []
        for model in ("digits_mlp", "digits_cnn", "fc_autoencoder", "ds_cnn"):
            report = json.loads((root / "build" / model / "report.json").read_text())
            for name in [*FLOAT_VARIANTS, *VARIANTS]:
                firmware = json.loads((root / "build" / model / f"{name}_firmware.json").read_text())
                rows.append(row(model, name, report["variants"][name], firmware))
    print(table(["Model", "Variant", "Size (B)", "Ops", "Batch ops", "Op kinds", "Arena (B)",
                 "Accuracy / MSE"], rows))
    print(f"\nbuilt in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
