"""What a model's report says, as table cells and sentences every renderer shares. Pure, no I/O.

Markdown, HTML and the terminal all show the same numbers formatted the same
way; only the markup differs, so the formatting lives here once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tflmake.kinds import EVALUATION_TASKS
from tflmake.report.diff import Change
from tflmake.report.entry import ReportEntry
from tflmake.report.gates import GateResult

HOST_LATENCY_NOTE = ("Host latency: single-thread LiteRT on the build machine "
                     "(median and p90), not latency on the device.")
FRONT_END_NOTE = ("The generated C front end (firmware/<model>_<variant>_frontend.c), compiled on this machine "
                  "and run over the raw test split:")
SIGNING_NOTE = ("Key ids are the first 16 hex digits of the sha256 of the public key's DER. `tflmake verify` "
                "checks the signatures; so does `model_signing verify key build/<model> --signature "
                "<signature> --public_key KEY --ignore_unsigned_files`.")
NPU_NOTE = ("Vela's estimates for the Ethos-U model (<variant>_vela.tflite), not measurements on a device. "
            "Accuracy, agreement and host latency above are measured on the same variant's int8 .tflite "
            "before Vela, which the NPU is meant to match bit for bit.")
FLOAT_SEARCH_NOTE = ("keep_float_search measured every candidate on the test split, the split this report measures: "
                     "the chosen variant's test accuracy helped choose it, so it is not an unbiased estimate of "
                     "its accuracy on new data.")
# A classifier whose accuracy is at most this far above chance (1/classes) has learned next to
# nothing (e.g. 50.8 % on 2 classes): its report and the build warn instead of staying green.
CHANCE_MARGIN = 0.05


@dataclass(frozen=True)
class Cell:
    text: str
    best: bool = False


@dataclass(frozen=True)
class ModelSummary:
    """One model's report, ready to render."""

    model: str
    reference: str | None
    test_samples: int
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    sentences: tuple[str, ...]
    operators: tuple[str, ...]
    tools: Mapping[str, str]
    gates: tuple[GateResult, ...] = ()
    changes: tuple[Change, ...] | None = None
    per_class: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # e.g. a variant at chance level; the build prints them too
    front_end: tuple[str, ...] = ()  # what each variant's C front end measured, a line each
    npu: tuple[str, ...] = ()  # one line per variant Vela compiled for an Ethos-U NPU
    float_search: tuple[str, ...] = ()  # the outcome, ranking and candidates of each keep_float_search
    firmware_crypto: tuple[str, ...] = ()  # one line per signed or encrypted firmware bundle
    selection: tuple[str, ...] = ()  # [select]: which variant ships and why, a line each
    signing: tuple[str, ...] = ()  # one line per variant, only with signing on

    @property
    def gates_passed(self) -> bool:
        return all(result.passed for result in self.gates)


@dataclass(frozen=True)
class Column:
    """A table column: its title, how to format a variant's value, and which value is best."""

    title: str
    value: Callable[[ReportEntry], Any]
    text: Callable[[Any], str]
    best: Callable[[list[Any]], Any] | None = None


def _kib(value: int) -> str:
    return f"{value / 1024:.1f} KiB"


def milliseconds(value: float) -> str:
    """A host latency: microseconds below 0.1 ms, where tiny models live."""
    return f"{value * 1000:.1f} µs" if value < 0.1 else f"{value:.3f} ms"


def _percent(value: float) -> str:
    return f"{value * 100:.2f} %"


def _times_smaller(ratio: float) -> str:
    return f"{1 / ratio:.2f}×" if ratio else "n/a"


def _classification_columns(top_k: int | None) -> list[Column]:
    return [Column("Accuracy", lambda e: e["accuracy"], _percent, max),
            # Reports from before top-k was measured have no top_k: no column.
            *([Column(f"Top-{top_k}", lambda e: e.get("top_k_accuracy"), _percent, max)] if top_k else []),
            Column("Agreement", lambda e: e["agreement"], _percent),
            Column("Max abs diff", lambda e: e["max_abs_diff"], lambda v: f"{v:.4f}")]


def _regression_columns(top_k: int | None) -> list[Column]:
    return [Column("MSE", lambda e: e["mse"], lambda v: f"{v:.4g}", min),
            Column("MAE", lambda e: e["mae"], lambda v: f"{v:.4g}", min),
            Column("Max abs diff", lambda e: e["max_abs_diff"], lambda v: f"{v:.4g}")]


def _anomaly_columns(top_k: int | None) -> list[Column]:
    return [Column("ROC AUC", lambda e: e.get("auc"), lambda v: f"{v:.4f}", max),
            Column("Reconstruction MSE", lambda e: e["mse"], lambda v: f"{v:.4g}"),
            Column("Max abs diff", lambda e: e["max_abs_diff"], lambda v: f"{v:.4g}")]


# The quality columns of each evaluation task (kinds.EVALUATION_TASKS).
QUALITY_COLUMNS = {"classification": _classification_columns, "regression": _regression_columns,
                   "anomaly": _anomaly_columns}


def _columns(task: str, top_k: int | None = None) -> list[Column]:
    quality = QUALITY_COLUMNS[task](top_k)
    return [
        Column("Variant", lambda e: e["name"], str),
        Column("Quantize", lambda e: e["quantize"], str),
        Column("Size", lambda e: e["size_bytes"], _kib, min),
        Column("vs float", lambda e: e["size_ratio"], _times_smaller),
        Column("gzip", lambda e: e["gzip_bytes"], _kib, min),
        *quality,
        Column("Host latency (p90)", lambda e: e["latency_ms_median"], milliseconds, min),
        Column("Arena", lambda e: e["arena_bytes"], _kib, min),
        Column("Ops", lambda e: e["op_count"], str),
    ]


def summarise(report: Mapping[str, Any], gates: list[GateResult] | None = None,
              changes: list[Change] | None = None) -> ModelSummary:
    """The summary of one report.json; `changes` None means there was no previous report."""
    # report.json as written by builders/evaluate, read back: the typed entry names its keys.
    entries = [cast(ReportEntry, {"name": name, **entry}) for name, entry in report["variants"].items()]
    top_k = next((entry.get("top_k") for entry in entries if entry.get("top_k")), None)
    columns = _columns(report.get("task", "classification"), top_k)
    bests = {}
    for column in columns:
        values = [value for entry in entries if (value := column.value(entry)) is not None]
        if column.best and values:
            bests[column.title] = column.best(values)
    rows = []
    for entry in entries:
        cells = []
        for column in columns:
            value = column.value(entry)
            text = "n/a" if value is None else column.text(value)
            if column.title.startswith("Host latency") and value is not None:
                text += f" ({milliseconds(entry['latency_ms_p90'])})"
            cells.append(Cell(text, value is not None and bests.get(column.title) == value))
        rows.append(tuple(cells))
    return ModelSummary(
        model=report["model"],
        reference=report.get("reference"), test_samples=report["test_samples"],
        header=tuple(column.title for column in columns), rows=tuple(rows),
        sentences=tuple(sentence(entry, report) for entry in entries),
        operators=tuple([*loaded_line(report), *keras_line(report)] +
                        [f"{e['name']} ({e['op_count']}): {operator_list(e['ops'])}" + optimization_note(e)
                         + converter_note(e) for e in entries]),
        tools=report.get("tools", {}), gates=tuple(gates or ()),
        changes=None if changes is None else tuple(changes),
        per_class=tuple(line for entry in entries if (line := per_class_line(entry, report.get("labels")))),
        warnings=tuple(chance_warnings(report)),
        front_end=tuple(line for entry in entries if (line := front_end_line(entry))),
        npu=tuple(npu_line(entry["name"], entry["ethos_u"]) for entry in entries if entry.get("ethos_u")),
        float_search=tuple(line for entry in entries if entry.get("float_search")
                           for line in float_search_lines(entry["name"], entry["float_search"])),
        firmware_crypto=tuple(firmware_crypto_line(entry["name"], entry["firmware_crypto"])
                              for entry in entries if entry.get("firmware_crypto")),
        signing=tuple(signing_lines(entries)))


def firmware_crypto_line(name: str, crypto: Mapping[str, Any]) -> str:
    """`int8: signed (ECDSA P-256, public key id 1a2b3c4d5e6f7a8b); AES-GCM encrypted (key id ...), ...`."""
    parts = []
    if crypto.get("signed_by"):
        parts.append(f"signed (ECDSA P-256, public key id {crypto['signed_by'][:16]})")
    if crypto.get("encryption_key"):
        parts.append(f"AES-GCM encrypted (key id {crypto['encryption_key'][:16]}); the decrypted model needs "
                     f"{crypto['decrypted_ram_bytes']:,} bytes of RAM besides the tensor arena")
    return f"{name}: " + "; ".join(parts)


def signing_lines(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """`int8: signed by key 1a2b3c4d5e6f7a8b (build/m/int8.sig)` per variant; none when nothing is signed."""
    if not any(entry.get("signed") for entry in entries):
        return []
    lines = []
    for entry in entries:
        signed = entry.get("signed")
        if not signed:
            lines.append(f"{entry['name']}: not signed")
            continue
        signer = f"key {signed['key_id']}" if signed.get("key_id") else "Sigstore"
        mode = " (certificate)" if signed.get("mode") == "certificate" else ""
        lines.append(f"{entry['name']}: signed by {signer}{mode} ({signed['signature']})")
    return lines


def chance_warnings(report: Mapping[str, Any]) -> list[str]:
    """`int8: 50.80 % accuracy is within 5 points of chance (50.00 %, 2 classes) ...` per such variant.

    Classes are those with test samples (a 10-unit model on two labels guesses at 50 %).
    """
    warnings = [f"{name}: no keep_float_search candidate meets max_accuracy_drop "
                f"{entry['float_search']['max_accuracy_drop'] * 100:.2f} pt; the most accurate one is built "
                f"(drop {entry['float_search']['chosen']['accuracy_drop'] * 100:.2f} pt)"
                for name, entry in report["variants"].items()
                if entry.get("float_search") and not entry["float_search"]["met"]]
    if not EVALUATION_TASKS[report.get("task", "classification")].class_labels:
        return warnings
    for name, entry in report["variants"].items():
        accuracy, per_class = entry.get("accuracy"), entry.get("per_class_accuracy") or []
        classes = sum(value is not None for value in per_class)
        if accuracy is None or classes < 2 or accuracy > 1 / classes + CHANCE_MARGIN:
            continue
        warnings.append(f"{name}: {_percent(accuracy)} accuracy is within {CHANCE_MARGIN * 100:.0f} points "
                        f"of chance ({_percent(1 / classes)}, {classes} classes): the model has learned "
                        "next to nothing; check the labels, the data and [train]")
    return warnings


def float_search_lines(name: str, trace: Mapping[str, Any]) -> list[str]:
    """The search's outcome, its sensitivity ranking and every candidate it tried, a line each."""
    chosen, target = trace["chosen"], trace["max_accuracy_drop"]
    kept = len(chosen["keep_float"])
    plain = trace["candidates"][0]
    outcome = (f"met with {kept} of {len(trace['ops'])} ops in float" if trace["met"] else
               f"missed: even the most accurate candidate ({kept} of {len(trace['ops'])} ops in float) "
               f"drops {chosen['accuracy_drop'] * 100:.2f} pt")
    lines = [f"{name}: accuracy drop at most {target * 100:.2f} pt against float32 "
             f"({_percent(trace['float']['accuracy'])}) on the {trace['split']} split ({trace['samples']} samples): "
             f"{outcome}; plain int8 drops {plain['accuracy_drop'] * 100:.2f} pt"
             + (f"; kept in float: {', '.join(chosen['keep_float'])}" if kept else "")]
    if trace["ranking"]:
        lines.append(f"{name} sensitivity (accuracy with only that op in float): " + ", ".join(
            f"{rank}. {op['op']} {op['name']} {_percent(op['accuracy'])}"
            for rank, op in enumerate(trace["ranking"], start=1)))
    lines.append(f"{name} candidates: " + "; ".join(
        f"{len(c['keep_float'])} in float: {_kib(c['size_bytes'])}, {_percent(c['accuracy'])} "
        f"({_signed(-c['accuracy_drop'] * 100, '.2f')} pt){' (chosen)' if c == chosen else ''}"
        for c in trace["candidates"]))
    return lines


def front_end_line(entry: Mapping[str, Any]) -> str:
    """`int8: 100.00 % of 7,200 input elements equal (max 0 steps); raw → C → TFLite Micro 95.83 % vs LiteRT ...`."""
    measured = entry.get("front_end")
    if not measured:
        return ""
    target = measured.get("cortex_m4")
    size = "" if not target else f"; Cortex-M4: {target['flash_bytes']:,} B flash, {target['ram_bytes']:,} B RAM"
    host = measured.get("host")
    if not host:
        return f"{entry['name']}: not run ({measured.get('skipped', 'no host compiler')}){size}"
    line = (f"{entry['name']}: {_percent(host['equal_fraction'])} of {host['elements']:,} input elements equal "
            f"the training features over {measured['samples']} raw test samples (largest difference "
            f"{host['max_abs_diff']:g} {host['unit']})")
    accuracy = (measured.get("micro") or {}).get("accuracy")
    if accuracy is not None:
        litert = (measured.get("litert") or {}).get("accuracy")
        line += f"; raw → C → TFLite Micro accuracy {_percent(accuracy)}" + (
            f" vs LiteRT {_percent(litert)} on the same split" if litert is not None else "")
    missed = measured.get("shortfalls") or []
    return line + size + ("" if not missed else "; **misses its goals**: " + "; ".join(missed))



# Above this many classes a line names only the weakest ones.
PER_CLASS_SHOWN = 10


def per_class_line(entry: Mapping[str, Any], labels: list[str] | None) -> str:
    """`int8: cat 95.00 %, dog 80.00 %`, or the weakest classes of a model with many ("" if not measured)."""
    accuracies = entry.get("per_class_accuracy")
    if not accuracies:
        return ""
    names = labels if labels and len(labels) == len(accuracies) else [str(k) for k in range(len(accuracies))]
    measured = [(name, value) for name, value in zip(names, accuracies, strict=True) if value is not None]
    if len(measured) > PER_CLASS_SHOWN:
        weakest = sorted(measured, key=lambda item: item[1])[:PER_CLASS_SHOWN // 2]
        shown = ", ".join(f"{name} {_percent(value)}" for name, value in weakest)
        return f"{entry['name']}: weakest {len(weakest)} of {len(measured)} classes: {shown}"
    return f"{entry['name']}: " + ", ".join(f"{name} {_percent(value)}" for name, value in measured)


def sentence(entry: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    """The plain-language line: "int8: 3.52× smaller, −0.30 pt accuracy, 99.44 % agreement"."""
    name = entry["name"]
    regression = report.get("task") == "regression"
    if report.get("task") == "anomaly":
        return _anomaly_sentence(entry, report)
    quality = f"MSE {entry['mse']:.4g}" if regression else f"{_percent(entry['accuracy'])} accuracy"
    if report.get("reference") is None:
        return f"{name}: {_kib(entry['size_bytes'])}, {quality} (no float variant to compare with)"
    if name == report["reference"]:
        return f"{name}: the float reference, {_kib(entry['size_bytes'])}, {quality}"
    parts = [_size_phrase(entry["size_ratio"])]
    if regression:
        reference = report["variants"][report["reference"]]
        parts.append(f"MSE {entry['mse']:.4g} ({_signed(entry['mse'] - reference['mse'])} "
                     "vs float)")
    else:
        parts += [f"{_signed(-entry['accuracy_drop'] * 100, '.2f')} pt accuracy",
                  f"{_percent(entry['agreement'])} agreement"]
    if entry.get("sparsity") is not None:
        parts.append(f"{_percent(entry['sparsity'])} of kernel weights zero")
    micro = entry.get("micro")
    if micro and not regression:
        parts.append(f"TFLite Micro matches LiteRT on {_percent(micro['agreement_with_litert'])}")
    return f"{name}: " + ", ".join(parts)


def _anomaly_sentence(entry: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    """"int8: 3.52× smaller, ROC AUC 0.9312 (−0.0021 vs float)"."""
    auc = "ROC AUC n/a (the test split needs normal and anomalous samples)" if entry.get("auc") is None \
        else f"ROC AUC {entry['auc']:.4f}"
    reference = report["variants"].get(report.get("reference") or "")
    if reference is None or entry["name"] == report["reference"]:
        role = "the float reference, " if reference is not None else ""
        return f"{entry['name']}: {role}{_kib(entry['size_bytes'])}, {auc}"
    versus = "" if entry.get("auc") is None or reference.get("auc") is None else \
        f" ({_signed(entry['auc'] - reference['auc'])} vs float)"
    return f"{entry['name']}: {_size_phrase(entry['size_ratio'])}, {auc}{versus}"


def _size_phrase(ratio: float) -> str:
    if ratio < 1:
        return f"{1 / ratio:.2f}× smaller"
    return "same size" if ratio == 1 else f"{ratio:.2f}× larger"


def _signed(value: float, spec: str = ".4g") -> str:
    """A signed number with a real minus sign; zero shown as ±0."""
    text = format(abs(value), spec)
    if float(text) == 0:
        return f"±{text}"
    return f"{'+' if value > 0 else '−'}{text}"


def loaded_line(report: Mapping[str, Any]) -> list[str]:
    """How the model file was read (e.g. Keras 3 on an upgraded Keras 2 config), when it was read."""
    route = report.get("loaded_by")
    return [f"Model file loaded by: {route}"] if route else []


def keras_line(report: Mapping[str, Any]) -> list[str]:
    """The Keras layers before conversion, so the TFLite lines below show what was fused."""
    layers = report.get("keras_layers")
    return [f"Keras layers before conversion ({len(layers)}): {', '.join(layers)}"] if layers else []


def optimization_note(entry: Mapping[str, Any]) -> str:
    """` — litert_quantizer, 50.0 % sparse, float: dense_1`: what was done beyond the flags."""
    notes = []
    if entry.get("backend", "converter") != "converter":
        notes.append(entry["backend"])
    if entry.get("sparsity") is not None:
        notes.append(f"{entry['sparsity'] * 100:.1f} % sparse")
    if entry.get("qat"):
        notes.append(f"QAT {entry['qat']['epochs']} epochs")
    if entry.get("keep_float"):
        notes.append("kept float: " + ", ".join(entry["keep_float"]))
    if entry.get("float_search"):
        kept = entry["float_search"]["chosen"]["keep_float"]
        notes.append("kept float by keep_float_search: " + (", ".join(kept) or "none"))
    return f" — {'; '.join(notes)}" if notes else ""


def converter_note(entry: Mapping[str, Any]) -> str:
    """` (batch 1, Dense weights per-tensor)`: the converter controls as measured in the bytes.

    Empty for reports written before they were measured.
    """
    if "batch" not in entry:
        return ""
    notes = ["dynamic batch" if entry["batch"] is None else f"batch {entry['batch']}"]
    if entry.get("dense_weights"):
        notes.append(f"Dense weights {entry['dense_weights']}")
    if entry.get("host_kernels", "XNNPACK") != "XNNPACK":
        notes.append(f"host latency on {entry['host_kernels']}")
    return f" ({', '.join(notes)})"


# Vela's memory areas, in the order a line names them (only those a model uses).
MEMORY_AREAS = {"sram_bytes": "SRAM", "dram_bytes": "DRAM", "on_chip_flash_bytes": "on-chip flash",
                "off_chip_flash_bytes": "off-chip flash"}


def npu_line(name: str, npu: Mapping[str, Any]) -> str:
    """`int8_u55 on Ethos-U55 (ethos-u55-128; ...): 6 of 6 ops on the NPU, ...; 2803 NPU cycles, ...`."""
    cpu = npu["cpu_ops"]
    where = f"{operator_list(cpu)} on the CPU" if cpu else "none on the CPU"
    memory = ", ".join(f"{label} {_kib(npu[key])}" for key, label in MEMORY_AREAS.items() if npu.get(key))
    return (f"{name} on {npu['npu']} ({npu['accelerator']}; {npu['system_config']}, {npu['memory_mode']}): "
            f"{npu['npu_ops']} of {npu['ops']} ops on the NPU, {where}; {npu['npu_cycles']} NPU cycles, "
            f"{npu['total_cycles']} in total: {milliseconds(npu['inference_ms'])} per inference at "
            f"{npu['core_clock_hz'] / 1e6:g} MHz; {memory or 'no memory'}")


def operator_list(ops: list[str]) -> str:
    """`FULLY_CONNECTED ×2, SOFTMAX`: each operator once, in first-use order, with its count."""
    counts = Counter(ops)
    return ", ".join(f"{op} ×{count}" if count > 1 else op for op, count in counts.items()) \
        or "(none)"
