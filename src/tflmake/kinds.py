"""The kinds a spec chooses from, as data: one record per source type, quantize mode, data set type,
task kind and report metric, holding the facts the rest of the code asks.

Code asks a record ("does this source train?"), never compares a kind's name;
an unknown kind is a KeyError here, never a fallback. The schema's enums must
equal these tables' keys (tests/unit/test_kinds.py). Adding a kind is one
record here, one builder function, the schema and its docs page. Pure data: no
imports beyond the standard library, so every layer may read it. Records are
NamedTuples: immutable, and cheap to define on the no-op path (a frozen
dataclass costs ~0.7 ms of import time each).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

PathKind = Literal["file", "directory"]


class SourceKind(NamedTuple):
    """`[model.source] type`: where a model comes from."""

    doc: str
    trains: bool  # built from code or the spec, then trained with [train] on [dataset]
    saved_model: bool  # has a saved_model/ target (a frozen graph converts straight from its .pb)
    keras: bool  # becomes a Keras model the build can fine-tune (pruning, QAT) and save weights of
    path: PathKind | None = None  # what its `path` key names, if it has one
    # Packages whose versions decide the savedmodel task's output (tf_keras may load Keras 2 files).
    tools: tuple[str, ...] = ("tensorflow", "keras")


SOURCE_KINDS = {
    "layers": SourceKind("A keras.Sequential defined in the spec, trained.", trains=True, saved_model=True,
                         keras=True),
    "keras_file": SourceKind("A .keras or .h5 file (Keras 3, or Keras 2 upgraded), used as is.", trains=False,
                             saved_model=True, keras=True, path="file", tools=("tensorflow", "keras", "tf_keras")),
    "saved_model": SourceKind("A SavedModel directory, used as is.", trains=False, saved_model=True,
                              keras=False, path="directory"),
    "python": SourceKind("module.path:function returning a Keras model, trained.", trains=True,
                         saved_model=True, keras=True),
    "frozen_graph": SourceKind("A TF1 frozen graph (.pb), converted directly.", trains=False,
                               saved_model=False, keras=False, path="file"),
}


class QuantizeMode(NamedTuple):
    """A variant's `quantize`: what the .tflite holds and what building it needs."""

    doc: str
    backends: tuple[str, ...]  # which `backend` values can produce it
    calibrated: bool = False  # needs the representative set
    micro: bool = True  # TFLite Micro can run it, so `c_array = true` is allowed
    micro_reason: str = ""  # why not, for the validation message
    io_types: tuple[str, ...] = ("float32",)  # allowed `io_type` values (the first is the default)
    int8_weights: bool = False  # the converter stores Dense weights as int8 with scales (per_channel_dense)
    full_integer: bool = False  # every tensor integer: what QAT, the converter's keep_float and its search build on
    float_reference: bool = False  # the float model every variant is compared with


QUANTIZE_MODES = {
    "none": QuantizeMode("float32", ("converter",), float_reference=True),
    "dynamic": QuantizeMode("int8 weights, float activations", ("converter", "litert_quantizer"),
                            int8_weights=True, micro=False, micro_reason="hybrid models (int8 weights with float "
                            "activations) have no TFLite Micro kernels"),
    "float16": QuantizeMode("float16 weights", ("converter",), micro=False,
                            micro_reason="TFLite Micro cannot dequantize float16 weights"),
    "int8": QuantizeMode("full integer, calibrated", ("converter", "litert_quantizer"), calibrated=True,
                         io_types=("float32", "int8", "uint8"), int8_weights=True, full_integer=True),
    "int16x8": QuantizeMode("int16 activations, int8 weights, calibrated", ("converter", "litert_quantizer"),
                            calibrated=True, int8_weights=True),
    "int4_weights": QuantizeMode("int4 weights, float activations", ("litert_quantizer",), micro=False,
                                 micro_reason="weight-only int4 models have no TFLite Micro kernels"),
}


class Accelerator(NamedTuple):
    """A variant's `accelerator`: the Arm Ethos-U configuration Vela compiles its int8 `.tflite` for.

    The key is Vela's `--accelerator-config`; the system configuration and memory
    mode are Vela's own defaults for it (sections of its Arm/vela.ini), so a spec
    that names only the accelerator compiles exactly as `vela --accelerator-config` does.
    """

    doc: str
    npu: str  # the NPU family, as the report names it
    macs: int  # multiply-accumulates per cycle
    system_config: str  # default `system_config`
    memory_mode: str  # default `memory_mode`


def _ethos_u(npu: str, macs: int, system_config: str, memory_mode: str) -> Accelerator:
    return Accelerator(f"Arm {npu} with {macs} MACs per cycle.", npu, macs, system_config, memory_mode)


_U55 = ("Ethos_U55_High_End_Embedded", "Shared_Sram")
_U65 = ("Ethos_U65_Client_Server", "Dedicated_Sram_384KB")
_U85 = ("Ethos_U85_SYS_DRAM_Mid", "Dedicated_Sram_384KB")
ACCELERATORS = {
    "ethos-u55-32": _ethos_u("Ethos-U55", 32, *_U55),
    "ethos-u55-64": _ethos_u("Ethos-U55", 64, *_U55),
    "ethos-u55-128": _ethos_u("Ethos-U55", 128, *_U55),
    "ethos-u55-256": _ethos_u("Ethos-U55", 256, *_U55),
    "ethos-u65-256": _ethos_u("Ethos-U65", 256, *_U65),
    "ethos-u65-512": _ethos_u("Ethos-U65", 512, *_U65),
    "ethos-u85-128": _ethos_u("Ethos-U85", 128, *_U85),
    "ethos-u85-256": _ethos_u("Ethos-U85", 256, *_U85),
    "ethos-u85-512": _ethos_u("Ethos-U85", 512, *_U85),
    "ethos-u85-1024": _ethos_u("Ethos-U85", 1024, *_U85),
    "ethos-u85-2048": _ethos_u("Ethos-U85", 2048, *_U85),
}
# The package whose version decides Vela's output (the vela task's key).
VELA_TOOLS = ("ethos-u-vela",)


# keras.utils.image_dataset_from_directory's accepted formats.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
AUDIO_EXTENSIONS = (".wav",)


class Backend(NamedTuple):
    """A variant's `backend`: what makes its .tflite."""

    doc: str
    quantizes_float_tflite: bool  # starts from the float32 variant's .tflite, not the SavedModel
    tools: tuple[str, ...]  # packages whose versions decide the bytes (the tflite task's key)


BACKENDS = {
    "converter": Backend("TFLiteConverter's post-training flags, from the SavedModel.", False, ("tensorflow",)),
    "litert_quantizer": Backend("The LiteRT Quantizer on the float32 variant's .tflite.", True,
                                ("litert-quantizer", "ai-edge-litert")),
}


class DatasetKind(NamedTuple):
    """`[dataset] type`: where samples come from and which keys name files on disk (its dependencies).

    Per-type defaults live in the schema's if/then branch of the type.
    """

    doc: str
    files: tuple[str, ...] = ()  # keys naming files the loader reads
    folders: tuple[str, ...] = ()  # keys naming folders of class subfolders; every file in them is read
    extensions: tuple[str, ...] = ()  # which files of those folders count
    entry: bool = False  # `entry = "module:function"` in the spec's folder returns the arrays
    # The libraries whose versions decide the loaded arrays (part of the dataset task's key).
    tools: tuple[str, ...] = ("numpy", "scikit-learn")
    # Raw sensor data (PCM, camera frames, sensor rows) reaches the model through steps the firmware must
    # repeat: the bundle carries them as a generated C front end (tflmake.frontend) and verifies it.
    front_end: bool = False


DATASET_KINDS = {
    "digits": DatasetKind("scikit-learn's bundled 8x8 digits, offline."),
    "npz": DatasetKind("A local .npz file (optionally a second one for the test split).",
                       files=("path", "test_path")),
    "mnist": DatasetKind("Keras MNIST (downloads on first use)."),
    "image_folder": DatasetKind("One subfolder of images per class (Keras' image_dataset_from_directory).",
                                folders=("path", "test_path"), extensions=IMAGE_EXTENSIONS,
                                tools=("numpy", "pillow"), front_end=True),
    "audio_folder": DatasetKind("One subfolder of wav clips per class, through an MFCC or log-mel front end.",
                                folders=("path", "test_path"), extensions=AUDIO_EXTENSIONS,
                                tools=("numpy",), front_end=True),
    "csv": DatasetKind("Sensor rows cut into labelled windows.", files=("path", "test_path"), tools=("numpy",),
                      front_end=True),
    "python": DatasetKind("module:function in the spec's folder returning the arrays.", entry=True,
                          tools=("numpy",)),
}


Arity = Literal["spec", "model", "variant", "project"]


class TaskKind(NamedTuple):
    """A doit task basename: its builder (`tflmake.builders.<basename>`), arity and doc line."""

    doc: str
    arity: Arity  # one task per broken spec, per model, per variant (or option set), or per project
    # Its outputs are deterministic artifacts of the model: the shared cache stores and restores them
    # (and manifest.json records them). evaluate is not: host latency measures this machine.
    cached: bool = False
    folder_outputs: bool = False  # each target stands for the folder it sits in, cached whole
    # Its tasks exist only when a project setting turns them on ([tool.tflmake.signing]); without them it
    # has no group task either, so a project that does not opt in has exactly the tasks it had before.
    opt_in: bool = False
    # Its builder may import TensorFlow, Keras or LiteRT (seconds per process): the warm worker runs it.
    tensorflow: bool = False


TASK_KINDS = {
    "spec": TaskKind("Specs that failed validation (each fails with its message).", "spec"),
    "dataset": TaskKind("Train/test split of each model's data set.", "model", cached=True,
                        tensorflow=True),
    "savedmodel": TaskKind("SavedModel of each model: built and trained, or loaded.", "model", cached=True,
                           folder_outputs=True, tensorflow=True),
    "prune": TaskKind("Pruned SavedModel of each distinct prune option set (shared by its variants).",
                      "variant", cached=True, folder_outputs=True, tensorflow=True),
    "representative": TaskKind("Representative (calibration) samples of each model.", "model", cached=True),
    "tflite": TaskKind("Each .tflite variant.", "variant", cached=True, tensorflow=True),
    "vela": TaskKind("Ethos-U NPU models (Vela) of variants with an accelerator, with Vela's estimates.",
                     "variant", cached=True),
    "carray": TaskKind("Firmware bundles (C arrays, op resolver, arena size) of variants with c_array = true.",
                       "variant", cached=True),
    # Not cached: a signature is made with this build's key and differs from run to run (ECDSA is randomised).
    "sign": TaskKind("Signature of each variant's shipped files (.tflite, firmware bundle), with signing on.",
                     "variant", opt_in=True),
    # TensorFlow reads the SavedModel's variables for their digest, unless the build folder remembers it
    # (not after a clean build restored from the cache): in a `-n` client, each process imported it.
    "manifest": TaskKind("Provenance of each model: sha256 of every artifact, spec hashes, tool versions.",
                         "model", tensorflow=True),
    "sign_manifest": TaskKind("Signature of each model's manifest.json, with signing on.", "model", opt_in=True),
    "evaluate": TaskKind("Measure every variant on the test split (report.json, tradeoff.png).", "model",
                         tensorflow=True),
    "report": TaskKind("Check each model's quality gates and write its report.md.", "model"),
    "select": TaskKind("The variant to ship of models with [select], under stable names (firmware/<model>_selected_*).",
                       "model"),
    "summary": TaskKind("Project report: build/report.md and build/report.html, every model on one page.",
                        "project"),
}


class Metric(NamedTuple):
    """A number report.json holds per variant."""

    doc: str
    unit: str  # "fraction", "bytes", "ms", "count" or "" (a plain number)
    tasks: tuple[str, ...] = ("classification", "regression", "anomaly")  # evaluation tasks that measure it
    compared: bool = True  # `tflmake report --diff` lists its moves
    gate: str | None = None  # the [gates] key that limits it
    gate_is_minimum: bool = False
    # Measured on the test split: a diff compares it only between reports of one test set.
    depends_on_test_set: bool = True


class EvaluationTask(NamedTuple):
    """`[evaluation] task`: what the model predicts; report/evaluation_tasks.MEASURES measures it."""

    headline: str  # the report.json key a one-line summary and the trade-off plot show
    headline_label: str
    higher_is_better: bool
    as_percent: bool
    reconstructs: bool = False  # the model's target is its own input (trained on normal samples)
    class_labels: bool = False  # labels are class indices (range-checked; top-1 agreement means something)


EVALUATION_TASKS = {
    "classification": EvaluationTask("accuracy", "test accuracy", True, True, class_labels=True),
    "regression": EvaluationTask("mse", "test MSE", False, False),
    "anomaly": EvaluationTask("auc", "ROC AUC", True, False, reconstructs=True),
}
# In the order diffs list them and gates are checked.
METRICS = {
    "size_bytes": Metric(".tflite size", "bytes", gate="max_size_bytes", depends_on_test_set=False),
    "gzip_bytes": Metric("gzip -9 size", "bytes", depends_on_test_set=False),
    "accuracy": Metric("top-1 accuracy on the test split", "fraction", ("classification",),
                       gate="min_accuracy", gate_is_minimum=True),
    "top_k_accuracy": Metric("share of samples whose label is among the top k classes", "fraction",
                             ("classification",)),
    "accuracy_drop": Metric("float accuracy minus this variant's", "fraction", ("classification",),
                            compared=False, gate="max_accuracy_drop"),
    "agreement": Metric("share of samples whose top-1 class matches the float model's", "fraction",
                        ("classification",), gate="min_agreement", gate_is_minimum=True),
    "max_abs_diff": Metric("largest absolute difference from the float outputs", ""),
    "mean_abs_diff": Metric("mean absolute difference from the float outputs", ""),
    "mse": Metric("mean squared error (anomaly: mean reconstruction error)", "", ("regression", "anomaly")),
    "mae": Metric("mean absolute error", "", ("regression",)),
    "auc": Metric("ROC AUC of the reconstruction error (labels 0 normal, 1 anomaly)", "", ("anomaly",),
                  gate="min_auc", gate_is_minimum=True),
    "op_count": Metric("operators in the model", "count", depends_on_test_set=False),
    "arena_bytes": Metric("TFLite Micro tensor arena", "bytes", gate="max_arena_bytes",
                          depends_on_test_set=False),
    # Timed on test samples, but a model's latency does not depend on which ones.
    "latency_ms_median": Metric("median host latency", "ms", gate="max_latency_ms", depends_on_test_set=False),
    "latency_ms_p90": Metric("p90 host latency", "ms", depends_on_test_set=False),
}


SelectSource = Literal["firmware", "report"]


class SelectCriterion(NamedTuple):
    """`[select] minimize`: the number the variant to ship has the least of, and where it is read."""

    doc: str
    words: str  # how the report's reason names the winner: "smallest flash"
    source: SelectSource  # a variant's `<variant>_firmware.json`, or its entry in report.json
    key: str  # the key holding the number there
    unit: str  # "bytes" or "ms"


SELECT_CRITERIA = {
    "flash": SelectCriterion("The model bytes of the firmware bundle (Vela's model for an accelerator).",
                             "smallest flash", "firmware", "model_bytes", "bytes"),
    "arena": SelectCriterion("The tensor arena the bundle declares: the measured arena plus its margin "
                             "(Vela's estimate for an accelerator).", "smallest arena", "report", "arena_bytes",
                             "bytes"),
    "latency": SelectCriterion("The median host latency (LiteRT on the build machine, not the device).",
                               "lowest host latency", "report", "latency_ms_median", "ms"),
}


def calibrated_modes() -> tuple[str, ...]:
    return tuple(name for name, mode in QUANTIZE_MODES.items() if mode.calibrated)


def backend_modes(backend: str) -> tuple[str, ...]:
    """The quantize modes a backend produces, in table order."""
    return tuple(name for name, mode in QUANTIZE_MODES.items() if backend in mode.backends)
