"""The spec's sections as typed dicts, so mypy checks every key name the code reads.

They stay plain dicts at run time: tasks hash them as sorted JSON for their
up-to-date keys. Keys follow the JSON Schema (spec.schema.json); a test checks
that each section here names exactly the schema's keys.
"""

from __future__ import annotations

from typing import Any, Required, TypedDict


class SourceSection(TypedDict, total=False):
    """`[model.source]`: which keys a type allows is the schema's if/then branch of that type."""

    type: Required[str]
    input_shape: list[int]
    layers: list[dict[str, Any]]
    path: str
    trust_code: bool
    entry: str
    sources: list[str]
    weights: str
    input_arrays: list[str]
    output_arrays: list[str]
    input_shapes: dict[str, list[int]]


class DatasetSection(TypedDict, total=False):
    """`[dataset]`, defaults of its type filled in."""

    type: Required[str]
    scale: float
    shape: list[int]
    test_fraction: float
    seed: int
    path: str
    test_path: str
    x_key: str
    y_key: str
    entry: str
    class_names: list[str]
    image_size: list[int]
    color_mode: str
    interpolation: str
    frame_size: list[int]
    clip_ms: int
    sample_rate: int
    features: str
    window_ms: float
    stride_ms: float
    mel_bins: int
    mfcc_count: int
    lower_hz: float
    upper_hz: float
    normalize: str
    columns: list[str]
    label_column: str
    window: int
    stride: int


class TrainSection(TypedDict):
    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    loss: str
    metrics: list[str]
    seed: int


class RepresentativeSection(TypedDict, total=False):
    samples: int
    seed: int
    indices: list[int]
    indices_file: str


class CArraySection(TypedDict, total=False):
    alignment: Required[int]
    symbol: Required[str]
    section: str


class EvaluationSection(TypedDict, total=False):
    task: Required[str]
    latency_runs: Required[int]
    top_k: int
    output: int


class GatesSection(TypedDict, total=False):
    min_accuracy: float
    max_accuracy_drop: float
    min_agreement: float
    max_size_bytes: int
    max_arena_bytes: int
    max_latency_ms: float
    min_auc: float


class SelectSection(TypedDict):
    """`[select]`, defaults filled in: which variant to ship, under which stable C name."""

    minimize: str
    symbol: str
