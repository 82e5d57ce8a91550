"""The typed sections name exactly the keys the JSON Schema allows, so mypy's key checks follow the schema."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from tflmake.spec import sections
from tflmake.spec.schema import spec_schema


def schema_keys(node: dict[str, Any]) -> set[str]:
    """Every key a section allows, its per-type if/then branches included."""
    keys = set(node.get("properties", {}))
    for branch in node.get("allOf", []):
        for part in ("then", "else"):
            keys |= schema_keys(branch.get(part, {}))
    return keys


@pytest.mark.parametrize(("typed", "where"), [
    (sections.SourceSection, ("$defs", "source")), (sections.DatasetSection, ("$defs", "dataset")),
    (sections.TrainSection, ("$defs", "train")), (sections.GatesSection, ("$defs", "gates")),
    (sections.RepresentativeSection, ("properties", "representative")),
    (sections.CArraySection, ("properties", "c_array")), (sections.EvaluationSection, ("properties", "evaluation")),
    (sections.SelectSection, ("properties", "select")),
])
def test_each_typed_section_names_the_schema_s_keys(typed: type, where: tuple[str, str]) -> None:
    node = spec_schema()[where[0]][where[1]]
    if "$ref" in node:
        node = spec_schema()["$defs"][node["$ref"].rsplit("/", 1)[1]]
    assert set(typing.get_type_hints(typed)) == schema_keys(node)
