"""`tflmake new`: a starter spec that explains every key and builds offline as written."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from tflmake.commands.settings import Settings, parse, parser
from tflmake.errors import SpecError, TflmakeError
from tflmake.spec.schema import NAME_PATTERN

TEMPLATE = '''\
# {name}: a tflmake model spec. `tflmake` builds it into build/{name}/.
# `tflmake validate` checks it without building; `tflmake schema` prints the JSON Schema
# behind it (point your editor at it for completion). Commented keys show their default.
# Paths in this file are relative to this file's folder.

[model]
# name = "{name}"        # default: the file name; outputs go to build/<name>/
description = "Small MLP on the 8x8 digits set"   # free text; changing it rebuilds nothing

# Where the model comes from. "layers" builds a keras.Sequential from the list below and
# trains it with [train] on [dataset]. The other types:
#   type = "python"        entry = "module.path:function"  (returns a Keras model; trained)
#                          sources = ["config.json"]  (files it reads besides its local imports)
#                          weights = "pretrained.weights.h5"  (optional; [train] epochs = 0: not trained)
#   type = "keras_file"    path = "model.keras" (or a Keras 2 .h5), trust_code = false  (used as is)
#   type = "saved_model"   path = "saved_model_dir"  (used as is)
#   type = "frozen_graph"  path = "graph.pb", input_arrays = ["x"], output_arrays = ["y"],
#                          input_shapes = {{ x = [1, 8, 8] }}  (TF1 graph, used as is)
[model.source]
type = "layers"
input_shape = [8, 8]     # one sample, without the batch dimension
# Each layer: type = a class name from keras.layers; the other keys are its arguments.
layers = [
  {{ type = "Flatten" }},
  {{ type = "Dense", units = 32, activation = "relu" }},
  {{ type = "Dense", units = 10, activation = "softmax" }},
]

# Training and test data, also the source of the representative (calibration) set.
#   type = "digits"  scikit-learn's bundled 8x8 digits (offline)
#   type = "mnist"   MNIST, downloaded through Keras
#   type = "npz"     your arrays: path = "data/train.npz", test_path = "data/test.npz"
#                    (optional; then test_fraction is not used), x_key = "x", y_key = "y"
#   type = "image_folder"  path = "images" (one subfolder per class, sorted = labels),
#                    image_size = [96, 96], color_mode = "rgb", interpolation = "bilinear",
#                    class_names = ["cat", "dog"] (optional: folders and label order),
#                    frame_size = [120, 160] (the camera's frame; the C front end resizes it)
#   type = "audio_folder"  path = "speech" (one subfolder of .wav per class), sample_rate = 16000,
#                    clip_ms = 1000, normalize = "max", features = "mfcc" (or "log_mel"), window_ms = 30,
#                    stride_ms = 20, mel_bins = 40, mfcc_count = 10, lower_hz = 20, upper_hz = 4000
#   type = "csv"     path = "imu.csv", columns = ["ax", "ay", "az"], label_column = "activity",
#                    window = 128, stride = 64 (default: window)
#   type = "python"  entry = "mydata:load" (returns {{ x = ..., y = ... }} as numpy arrays)
[dataset]
type = "digits"
scale = 16.0             # inputs are divided by this (digits are 0..16); default: 1
shape = [8, 8]           # reshape every sample to this; default: keep the data's shape
# test_fraction = 0.2    # share of the data held out for testing
# seed = 0               # seed of the train/test split

# How a "layers" or "python" model is trained (loaded models are used as is: omit [train]).
[train]
epochs = 5
# batch_size = 32
# optimizer = "adam"     # a keras.optimizers name: adam, sgd, rmsprop, ...
# learning_rate = 0.001
# loss = "sparse_categorical_crossentropy"
# metrics = ["accuracy"]
# seed = 0               # seeds weight initialisation and shuffling

# Calibration samples for quantize = "int8" and "int16x8", drawn from the training split.
[representative]
# samples = 100
# seed = 0
# indices = [0, 5, 9]       # or exactly these positions in the training split
# indices_file = "calibration.txt"   # or those listed (positions or data-folder file names)

# The firmware bundle of variants with c_array = true: <variant>_model_data.h/.c (model
# array, I/O constants, labels, measured arena, golden self-test), <variant>_op_resolver.h,
# and the same C files as firmware/<model>_<variant>_*, unique across models.
[c_array]
# alignment = 16         # alignas() of the array: 4, 8, 16, 32, 64 or 128
# symbol = "g_{{model}}_{{variant}}_model_data"   # C name of the array ({{variant}} required
#                        # when several variants are exported)
# section = ".rodata.model"   # optional linker section for the array (default: none)

# How the evaluate task measures every variant on the test split (report.json, report.md).
[evaluation]
# task = "classification"   # or "regression" (MSE/MAE instead of accuracy/agreement),
#                           # or "anomaly" (ROC AUC of the reconstruction error)
# top_k = 5                 # k of the top-k accuracy (classification)
# output = 0                # models with several outputs: the one the metrics use
# latency_runs = 100        # timed single-thread invokes (host latency, not device)

# Quality gates: the report task fails when a variant breaks one. Omitted = not checked.
# Fractions, not percent. A variant's own `gates = {{ ... }}` overrides these key by key.
[gates]
# min_accuracy = 0.9        # top-1 accuracy on the test split
# max_accuracy_drop = 0.03  # accuracy lost against the float32 variant (0.03 = 3 points)
# min_agreement = 0.95      # share of samples with the same top-1 class as float32
# max_size_bytes = 100000   # .tflite size
# max_arena_bytes = 65536   # TFLite Micro arena (c_array variants)
# max_latency_ms = 1.0      # median host latency
# min_auc = 0.9             # ROC AUC (task = "anomaly")

# The variant to ship (see docs/firmware.md): among the c_array variants passing every gate,
# the one with the least flash, arena or host latency, written again under names that never
# change: firmware/<model>_selected_*. A broken gate then keeps a variant from shipping
# instead of failing the build.
# [select]
# minimize = "flash"        # or "arena", "latency"
# symbol = "g_{{model}}_selected_model_data"   # C name of the selected model array

# One [[variant]] per .tflite file (build/<name>/<variant>.tflite).
#   name      file name of the variant; unique in this spec
#   quantize  "none" (float32, the default), "dynamic" (int8 weights), "float16",
#             "int8" (integer only, calibrated), "int16x8" (16-bit activations, calibrated),
#             "int4_weights" (weight-only int4, backend = "litert_quantizer" only)
#   backend   "converter" (TFLiteConverter flags, default) or "litert_quantizer"
#             (litert-quantizer on the float32 variant's .tflite)
#   io_type   input/output type, only with quantize = "int8": "float32" (default), "int8",
#             "uint8"
#   c_array   also write the firmware bundle for TFLite Micro (default false)
# Converter controls (see docs/variants.md), all optional:
#   batch = 1                 fixed [1, ...] input: no SHAPE/STRIDED_SLICE/PACK for Flatten;
#                             or "dynamic". Default: 1 when c_array = true, else "dynamic"
#   per_channel_dense = false one scale per Dense weight tensor (smaller model and arena)
#   strip_names = false       keep every tensor name; default: true (names dropped) when c_array = true
#   gates     this variant's own quality gates, e.g. gates = {{ min_agreement = 0.97 }}
# Optimization (see docs/optimization.md), all optional:
#   keep_float = ["dense_1"]  regexes on op output tensor names kept in float
#   keep_float_search = {{ max_accuracy_drop = 0.01 }}  int8: search the fewest ops to keep in float
#                             so test accuracy drops at most 1 point (instead of keep_float)
#   recipe = "recipe.json"    raw LiteRT Quantizer recipe (litert_quantizer only)
#   prune = {{ sparsity = 0.5, schedule = "polynomial", epochs = 2, encoding = "dense" }}
#   qat = {{ epochs = 2 }}      quantization-aware fine-tuning before int8 conversion
# Ethos-U NPU (see docs/npu.md; pip install 'tflmake[npu]'), quantize = "int8" only:
#   accelerator = "ethos-u55-128"  compile with Vela into <variant>_vela.tflite, with its estimates
#   system_config = "Ethos_U55_High_End_Embedded"  memory_mode = "Shared_Sram"  (Vela's defaults)
#   vela_config = "vela.ini"  your own Vela configuration file (then name its sections above)
# Firmware keys (see docs/firmware.md, Signing; pip install 'tflmake[signing]'), c_array = true only:
#   encrypt = true  store the model AES-GCM encrypted with the key file TFLMAKE_ENCRYPTION_KEY names
#                   (the bundle is also signed whenever TFLMAKE_SIGNING_KEY names a P-256 key)
[[variant]]
name = "float32"
quantize = "none"

[[variant]]
name = "int8"
quantize = "int8"
io_type = "int8"
c_array = true
'''


# The repository's own dodo.py: `doit` builds a project just as `tflmake` does.
DODO_SHIM = '''\
"""doit entry point for this repository; the tasks live in the tflmake package."""

from tflmake.engine.noop import exit_if_nothing_changed

# Plain `doit` with nothing changed since the last full build: one line, before any task loads.
exit_if_nothing_changed(__file__, specs_dir={specs}, build_dir={build_dir})

from tflmake.graph.tasks import project_tasks  # noqa: E402

globals().update(project_tasks(specs_dir={specs}, build_dir={build_dir}))
'''


def dodo_shim(specs_dir: str, build_dir: str) -> str:
    """The text of a dodo.py that hands `doit` the project's tasks."""
    return DODO_SHIM.format(specs=json.dumps(specs_dir), build_dir=json.dumps(build_dir))


def write_dodo_shim(settings: Settings, folder: Path = Path(".")) -> Path | None:
    """Write `dodo.py` into `folder` (the project's) unless one exists; its path, or None."""
    target = folder / "dodo.py"
    try:
        with open(target, "x", encoding="utf-8") as file:
            file.write(dodo_shim(settings.specs, settings.build_dir))
    except FileExistsError:
        return None
    return target


def starter_spec(name: str) -> str:
    """The text of a new spec for model `name`."""
    return TEMPLATE.format(name=name)


def new_spec(name: str, specs_dir: str | Path, from_spec: str | Path | None = None) -> Path:
    """Write `<specs_dir>/<name>.toml`, from the template or a copy of `from_spec`.

    Raises TflmakeError for an invalid name, an existing file or an unreadable source.
    """
    if not re.fullmatch(NAME_PATTERN, name) or len(name) > 64:
        raise TflmakeError(f'"{name}" is not a valid model name: use lowercase letters, digits '
                           "and _, starting with a letter (at most 64 characters)")
    target = Path(specs_dir) / f"{name}.toml"
    if target.exists():
        raise TflmakeError(f"{target.as_posix()} already exists; not overwriting it")
    if from_spec is None:
        text = starter_spec(name)
    else:
        source = _source(from_spec, specs_dir)
        text = _rebased(_copied(source, name), source.parent, target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "x", encoding="utf-8") as file:
        file.write(text)
    return target


def _source(from_spec: str | Path, specs_dir: str | Path) -> Path:
    """`--from` takes a spec file or the name of a model in the specs folder."""
    as_name = Path(specs_dir) / f"{from_spec}.toml"
    return as_name if not Path(from_spec).exists() and as_name.is_file() else Path(from_spec)


# Spec keys whose string values are paths relative to the spec's folder.
_PATH_KEYS = re.compile(r"""^(\s*(?:path|test_path|recipe)\s*=\s*)(["'])([^"'\n]*)\2""", re.MULTILINE)


def _rebased(text: str, old_folder: Path, new_folder: Path) -> str:
    """Relative `path`, `test_path` and `recipe` values rewritten to point, from `new_folder`,
    at the files they named from `old_folder` (absolute ones stay as they are)."""
    def rebase(match: re.Match[str]) -> str:
        value = match.group(3)
        if not value or Path(value).is_absolute():
            return match.group(0)
        moved = Path(os.path.relpath(old_folder.resolve() / value, new_folder.resolve())).as_posix()
        return f"{match.group(1)}{match.group(2)}{moved}{match.group(2)}"

    return _PATH_KEYS.sub(rebase, text)


def _copied(source: Path, name: str) -> str:
    """The source spec's text with its `model.name` (if any) set to `name`."""
    try:
        text = source.read_text("utf-8")
    except OSError as error:
        raise TflmakeError(f"--from: cannot read {source.as_posix()}: {error.strerror}") from None
    lines = text.splitlines(keepends=True)
    in_model = False
    for index, line in enumerate(lines):
        header = re.match(r"\s*\[([^\]]*)\]", line)
        if header:
            in_model = header.group(1).strip() == "model"
        elif in_model and re.match(r"\s*name\s*=", line):
            lines[index] = re.sub(r"=\s*(\"[^\"]*\"|'[^']*')", f'= "{name}"', line, count=1)
            break
    return "".join(lines)


def run(args: list[str], settings: Settings) -> int:
    """`tflmake new NAME [--from SPEC]`."""
    from tflmake.spec.load import load_spec

    command = parser("new", "Write a commented starter spec that builds offline as written.")
    command.add_argument("name", help="model name: lowercase letters, digits and _")
    command.add_argument("--from", dest="from_spec", metavar="SPEC",
                        help="copy this spec file (or model of the specs folder) instead")
    options = parse(command, args)
    path = new_spec(options.name, settings.specs, options.from_spec)
    print(f"wrote {path.as_posix()}")
    if write_dodo_shim(settings) is not None:
        print("wrote dodo.py (so plain `doit` builds this folder too)")
    try:
        load_spec(path)
    except SpecError as error:
        print(f"{error}\nfix these before building (tflmake validate {path.as_posix()})",
              file=sys.stderr)
        return 1
    print(f"build it with: tflmake tflite:{options.name}.int8   (or just: tflmake)")
    return 0
