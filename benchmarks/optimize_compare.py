"""Converter vs LiteRT Quantizer int8, pruning and QAT, measured by tflmake's own report.

    python benchmarks/optimize_compare.py             # about 40 s on 2 cores
    python benchmarks/optimize_compare.py --keep DIR  # keep the built project in DIR

Builds, in a temporary project with the `tflmake` command: digits_mlp and
digits_cnn (the repo's specs, variants replaced) as float32, converter int8
and LiteRT Quantizer int8 (both with int8 I/O, so they are comparable), a
50 % pruned int8 digits_mlp, and a QAT demonstration model whose exponential
hidden layer loses accuracy under post-training int8, with a control that
gets the same extra epochs as ordinary float training. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMPARE = """
[[variant]]
name = "float32"

[[variant]]
name = "int8_converter"
quantize = "int8"
io_type = "int8"

[[variant]]
name = "int8_litert"
quantize = "int8"
backend = "litert_quantizer"
"""

PRUNED = """
[[variant]]
name = "int8_pruned50"
quantize = "int8"
io_type = "int8"
prune = { sparsity = 0.5, schedule = "polynomial", epochs = 2 }

[[variant]]
name = "int8_pruned50_sparse"
quantize = "int8"
io_type = "int8"
prune = { sparsity = 0.5, schedule = "polynomial", epochs = 2, encoding = "sparse" }
"""

# Inputs 0..4 into exp(): activations span several orders of magnitude, which
# one int8 scale per tensor cannot hold.
QAT_DEMO = """
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [
  { type = "Flatten" },
  { type = "Dense", units = 32, activation = "exponential" },
  { type = "Dense", units = 10, activation = "softmax" },
]

[dataset]
type = "digits"
scale = 4.0
shape = [8, 8]

[train]
epochs = EPOCHS

[[variant]]
name = "float32"

[[variant]]
name = "int8"
quantize = "int8"
"""

QAT_VARIANT = """
[[variant]]
name = "int8_qat"
quantize = "int8"
qat = { epochs = 3 }
"""


def repo_spec_without_variants(name: str) -> str:
    text = (REPO / "modelspecs" / f"{name}.toml").read_text()
    return text[:text.index("[[variant]]")] + "[evaluation]\nlatency_runs = 20\n"


def write_specs(specs: Path) -> None:
    specs.mkdir(parents=True)
    (specs / "digits_mlp.toml").write_text(repo_spec_without_variants("digits_mlp") + COMPARE + PRUNED)
    (specs / "digits_cnn.toml").write_text(repo_spec_without_variants("digits_cnn") + COMPARE)
    (specs / "qat_demo.toml").write_text(QAT_DEMO.replace("EPOCHS", "20") + QAT_VARIANT)
    # The control: QAT's 3 extra epochs given to ordinary float training instead.
    (specs / "qat_control.toml").write_text(QAT_DEMO.replace("EPOCHS", "23"))


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f} %"


def rows_of(report: dict, names: list[str]) -> list[list[str]]:
    rows = []
    for name in names:
        entry = report["variants"][name]
        rows.append([report["model"], name, f"{entry['size_bytes']:,}", f"{entry['gzip_bytes']:,}",
                     percent(entry["accuracy"]), percent(entry["agreement"]),
                     percent(entry.get("sparsity"))])
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="tflmake optimization benchmark")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        root = args.keep or Path(temporary)
        write_specs(root / "modelspecs")
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "tflmake"], cwd=root, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if run.returncode != 0:
            print(run.stdout + run.stderr, file=sys.stderr)
            return 1
        reports = {path.parent.name: json.loads(path.read_text())
                   for path in sorted((root / "build").glob("*/report.json"))}
    header = ["Model", "Variant", "Size (B)", "gzip (B)", "Accuracy", "Agreement", "Sparsity"]
    print("Backends, int8 with int8 I/O:\n")
    print(table(header, [row for model in ("digits_mlp", "digits_cnn")
                         for row in rows_of(reports[model], ["float32", "int8_converter", "int8_litert"])]))
    print("\nPruning (digits_mlp, converter int8; one pruned model, two encodings):\n")
    print(table(header, rows_of(reports["digits_mlp"], ["int8_converter", "int8_pruned50",
                                                        "int8_pruned50_sparse"])))
    print("\nQAT (exponential hidden layer, inputs 0..4):\n")
    print(table(header, rows_of(reports["qat_demo"], ["float32", "int8", "int8_qat"])
                + rows_of(reports["qat_control"], ["float32", "int8"])))
    builds = len(re.findall(r"^\.  ", run.stdout + run.stderr, flags=re.MULTILINE))
    print(f"\n{builds} tasks built in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
