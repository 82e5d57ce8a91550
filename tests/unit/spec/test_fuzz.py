"""Property-based fuzzing: whatever the input, the loader raises only SpecError and writes nothing."""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from tflmake.errors import SpecError
from tflmake.spec.load import load_spec

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = [tomllib.loads(p.read_text()) for p in sorted((REPO / "tests" / "data" / "specs").glob("digits_*.toml"))]
KEYS = ["model", "source", "type", "name", "variant", "quantize", "io_type", "dataset", "path",
        "train", "epochs", "layers", "input_shape", "representative", "samples", "c_array", "x"]

scalars = st.one_of(st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["layers", "int8", "digits", "npz", "."]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)), max_leaves=12)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


def check_loader(path: Path, text: str) -> None:
    """Only SpecError may come out; nothing may be written next to the spec."""
    path.write_text(text)
    before = sorted(os.listdir(path.parent))
    with contextlib.chdir(path.parent):  # so a stray relative write (build/...) would show
        try:
            load_spec(path.name)
        except SpecError:
            pass
    assert sorted(os.listdir(path.parent)) == before


@given(document=documents)
def test_random_documents(tmp_path: Path, document: dict[str, Any]) -> None:
    """Random TOML documents built from spec-like keys fail only with SpecError."""
    check_loader(tmp_path / "fuzz.toml", tomli_w.dumps(document))


@given(text=st.text(max_size=200))
def test_random_text(tmp_path: Path, text: str) -> None:
    """Arbitrary text (mostly not TOML) fails only with SpecError."""
    check_loader(tmp_path / "fuzz.toml", text)


def mutate(document: Any, data: st.DataObject) -> Any:
    """Replace, delete or add one value somewhere in the document."""
    if isinstance(document, dict) and document:
        key = data.draw(st.sampled_from(sorted(document)))
        action = data.draw(st.sampled_from(["replace", "delete", "add", "descend"]))
        copy = dict(document)
        if action == "replace":
            copy[key] = data.draw(values)
        elif action == "delete":
            del copy[key]
        elif action == "add":
            copy[data.draw(st.sampled_from(KEYS))] = data.draw(values)
        else:
            copy[key] = mutate(copy[key], data)
        return copy
    if isinstance(document, list) and document:
        index = data.draw(st.integers(0, len(document) - 1))
        return [mutate(item, data) if i == index else item for i, item in enumerate(document)]
    return data.draw(values)


@given(data=st.data())
def test_mutated_examples(tmp_path: Path, data: st.DataObject) -> None:
    """Random mutations of the example specs fail only with SpecError (or stay valid)."""
    document = data.draw(st.sampled_from(EXAMPLES))
    for _ in range(data.draw(st.integers(1, 3))):
        document = mutate(document, data)
    check_loader(tmp_path / "fuzz.toml", tomli_w.dumps(document))
