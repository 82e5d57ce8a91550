"""The generated references show every schema key, every kind and every command (no TensorFlow)."""

from __future__ import annotations

import copy
import re
from types import ModuleType
from typing import Any

import pytest

from tests.unit.docs.conftest import REPO
from tflmake import kinds
from tflmake.commands.main import OWN_COMMANDS, USAGE


@pytest.fixture(scope="module")
def schema(reference: ModuleType) -> dict[str, Any]:
    return dict(reference.load_schema(REPO / "src" / "tflmake" / "spec" / "spec.schema.json"))


def test_every_schema_key_is_in_the_spec_reference(reference: ModuleType, schema: dict[str, Any]) -> None:
    """Each key the schema allows has a row (or, for a table, a section) in the generated page."""
    markdown = reference.render_spec_reference(schema)
    assert reference.undocumented_keys(schema, markdown) == []
    assert len(reference.schema_keys(schema)) > 90


def test_the_walk_finds_keys_at_every_level(reference: ModuleType, schema: dict[str, Any]) -> None:
    """Top-level, type-branch, nested-table and $ref keys are all among the keys the check asks for."""
    keys = set(reference.schema_keys(schema))
    assert {"model.name", "model.source.type", "model.source-frozen_graph.input_shapes", "dataset.scale",
            "dataset-audio_folder.mfcc_count", "dataset-csv.window", "train.epochs", "c_array.symbol",
            "gates.min_auc", "variant.quantize", "variant.prune.sparsity", "variant.qat.epochs",
            "variant.gates"} <= keys


@pytest.mark.parametrize("where", [
    ("properties", "representative", "properties"),                          # a plain table
    ("$defs", "dataset", "allOf", 2, "then", "properties"),                  # a data set type's branch
    ("$defs", "variant", "properties", "prune", "properties"),               # a table inside [[variant]]
    ("$defs", "gates", "properties"),                                        # a $ref'd definition
    ("$defs", "source", "allOf", 0, "then", "properties", "layers", "items", "properties"),  # array items
])
def test_a_key_the_docs_do_not_show_is_caught(reference: ModuleType, schema: dict[str, Any],
                                             where: tuple[str | int, ...]) -> None:
    """A schema that gains a key fails the check against the reference generated before it."""
    markdown = reference.render_spec_reference(schema)
    grown = copy.deepcopy(schema)
    node: Any = grown
    for step in where:
        node = node[step]
    node["brand_new_key"] = {"type": "integer", "description": "new"}
    missing = reference.undocumented_keys(grown, markdown)
    assert len(missing) == 1 and missing[0].endswith(".brand_new_key")
    assert reference.undocumented_keys(grown, reference.render_spec_reference(grown)) == []


def test_a_new_table_the_docs_do_not_show_is_caught(reference: ModuleType, schema: dict[str, Any]) -> None:
    """A new top-level table with keys of its own is reported, table and keys."""
    markdown = reference.render_spec_reference(schema)
    grown = copy.deepcopy(schema)
    grown["properties"]["frontend"] = {"type": "object", "properties": {"window": {"type": "integer"}}}
    assert reference.undocumented_keys(grown, markdown) == ["frontend", "frontend.window"]


def test_every_key_has_a_description(reference: ModuleType, schema: dict[str, Any]) -> None:
    """The reference explains every key: each one has a description in the schema."""
    assert reference.keys_without_description(schema) == []


def test_the_spec_reference_shows_type_default_allowed_values_and_an_example(
        reference: ModuleType, schema: dict[str, Any]) -> None:
    """A row carries the key's type, default, allowed values, description and a TOML example."""
    markdown = reference.render_spec_reference(schema)
    row = next(line for line in markdown.splitlines() if line.startswith("| `normalize` |"))
    assert '`"max"`, `"peak"`, `"none"`' in row and "| `\"max\"` |" in row and '`normalize = "max"`' in row
    assert "{#dataset-audio_folder}" in markdown


def test_the_kind_tables_list_every_kind(reference: ModuleType) -> None:
    """Every record of every table in kinds.py has a row in the generated page."""
    page = reference.render_kind_tables()
    tables = (kinds.SOURCE_KINDS, kinds.QUANTIZE_MODES, kinds.BACKENDS, kinds.ACCELERATORS, kinds.DATASET_KINDS,
              kinds.TASK_KINDS, kinds.EVALUATION_TASKS, kinds.METRICS, kinds.SELECT_CRITERIA)
    for table in tables:
        for name in table:
            assert re.search(rf"^\| \[?`{name}`", page, flags=re.MULTILINE), name


def test_the_cli_reference_shows_every_command_and_option(reference: ModuleType) -> None:
    """Each own command's help, and every option of the top-level usage, is on the generated page."""
    page = reference.render_cli_reference()
    for command in OWN_COMMANDS:
        assert f"## tflmake {command} " in page
        assert f"usage: tflmake {command}" in page
    for name in ("status", "refresh", "cache", "clean --orphans"):
        assert f"## tflmake {name} " in page
    for option in set(re.findall(r"(--[a-z][a-z-]+)", USAGE)):
        assert option in page
    assert "--format {text,json}" in page and "--from SPEC" in page
