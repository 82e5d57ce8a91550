"""One variant's entry in report.json, typed: the evaluate task writes it, reports and gates read it.

At run time entries are plain JSON objects; the types let mypy check every key
the writer sets and the report columns read. `tests/unit/report/test_entry.py`
checks a real entry's keys against them.
"""

from __future__ import annotations

from typing import Any, TypedDict


class TestSet(TypedDict):
    """`report.json` → `test_set`: which test split the figures were measured on."""

    samples: int
    sha256: str  # of the test inputs and labels as stored in dataset.npz (builders/evaluate.digest_test_set)


class TaskMeasures(TypedDict):
    """What `[evaluation] task` measured (every task's keys; None where another task measures it)."""

    accuracy: float | None
    top_k: int | None
    top_k_accuracy: float | None
    per_class_accuracy: list[float | None] | None
    confusion_matrix: list[list[int]] | None
    mse: float | None
    mae: float | None
    auc: float | None


class MicroMeasures(TaskMeasures):
    """The same measures through TensorFlow Lite Micro, and how far they are from LiteRT."""

    agreement_with_litert: float
    max_abs_diff_vs_litert: float


class ReportEntry(TaskMeasures, total=False):
    """`report.json` → `variants` → one variant (`name` is added by readers, from the key)."""

    name: str
    quantize: str
    io_type: str
    c_array: bool
    path: str
    size_bytes: int
    size_ratio: float | None
    gzip_bytes: int
    sha256: str
    input: dict[str, Any]
    output: dict[str, Any]
    accuracy_drop: float | None
    agreement: float | None
    max_abs_diff: float | None
    mean_abs_diff: float | None
    latency_ms_median: float
    latency_ms_p90: float
    latency_runs: int
    host_kernels: str  # "XNNPACK", or "built-in kernels: why" (older reports lack it)
    arena_bytes: int | None
    ops: list[str]
    op_count: int
    micro: MicroMeasures | None
    # The C front end over the raw test split (builders/frontend_check); only c_array variants of
    # data sets with a front end.
    front_end: dict[str, Any]
    backend: str
    keep_float: list[str]
    sparsity: float | None
    prune: dict[str, Any] | None
    qat: dict[str, Any] | None
    batch: int | str | None
    dense_weights: str | None
    tensors: dict[str, Any]
    # The keep_float_search trace (builders/float_search, ml/float_search): the chosen ops, the ranking
    # and every candidate; only for variants with keep_float_search.
    float_search: dict[str, Any]
    ethos_u: dict[str, Any]  # Vela's estimates (builders/vela), only for variants with an accelerator
    # Signed or encrypted firmware bundles only: signed_by (public key id), encryption_key (key id),
    # decrypted_ram_bytes (builders/evaluate.read_firmware_crypto).
    firmware_crypto: dict[str, Any]
    signed: dict[str, Any]  # mode, key_id and signature path, only with signing on (builders/sign)
