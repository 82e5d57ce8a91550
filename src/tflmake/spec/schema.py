"""Check a parsed spec document against the shipped JSON Schema and phrase each error for people."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

NAME_PATTERN = "^[a-z][a-z0-9_]*$"


@cache
def spec_schema() -> dict[str, Any]:
    """The JSON Schema every spec is validated against (shipped inside the package)."""
    text = resources.files("tflmake").joinpath("spec/spec.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Any:
    # Imported here: jsonschema costs ~60 ms and `doit` with a cached spec need not pay it.
    import jsonschema

    cls = jsonschema.validators.validator_for(spec_schema())
    return cls(spec_schema())


def format_key_path(parts: Iterable[str | int]) -> str:
    """`["variant", 1, "quantize"]` -> `variant[1].quantize`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def schema_problems(document: dict[str, Any]) -> list[str]:
    """Every schema violation in `document`, each as `key.path: what was expected`."""
    problems: list[str] = []
    for error in _validator().iter_errors(document):
        problems.extend(_describe(error))
    return sorted(set(problems), key=problems.index)


def _describe(error: Any) -> list[str]:
    path = list(error.absolute_path)
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties":
        allowed = sorted(key for key in error.schema.get("properties", {}))
        return [
            f"{format_key_path([*path, key])}: unknown key{_suggestion(key, allowed)}"
            for key in instance
            if key not in allowed
        ]
    if kind == "required":
        return [
            f"{format_key_path([*path, key])}: required key is missing"
            for key in value
            if key not in instance
        ]
    if kind == "pattern" and "x-expected" in error.schema:
        # The schema says in words what its regular expression means.
        return [f"{format_key_path(path)}: expected {error.schema['x-expected']}; got {_show(instance)}"]
    return [f"{format_key_path(path)}: {_expectation(kind, value, instance)}"]


def _suggestion(key: str, allowed: Sequence[str]) -> str:
    import difflib  # only when a key is wrong: task loading of valid specs never needs it

    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    return f"; expected one of {', '.join(allowed)}" if allowed else ""


_JSON_TYPES = {
    dict: "a table",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
}


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        return _type_name(value)
    return json.dumps(value) if isinstance(value, str | bool) else repr(value)


def _expectation(kind: str, value: Any, instance: Any) -> str:
    got = f"got {_show(instance)}"
    if kind == "enum":
        return f"expected one of {', '.join(str(v) for v in value)}; {got}"
    if kind == "type":
        wanted = {"object": "table", "array": "array", "string": "string", "integer": "integer",
                  "number": "number", "boolean": "boolean"}.get(value, value)
        return f"expected {'an' if wanted[0] in 'aeiou' else 'a'} {wanted}; {got}"
    if kind == "pattern":
        if value == NAME_PATTERN:
            return f"expected a name of lowercase letters, digits and _, starting with a letter; {got}"
        return f"expected a string matching {value}; {got}"
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if kind in bounds:
        return f"expected a number {bounds[kind]} {value}; {got}"
    if kind == "minItems":
        return f"expected at least {value} item{'s' if value != 1 else ''}; got {len(instance)}"
    if kind in ("minLength", "maxLength"):
        return f"expected a string of {'at least' if kind == 'minLength' else 'at most'} {value} characters; {got}"
    if kind == "const":
        return f"expected {_show(value)}; {got}"
    return f"invalid value {_show(instance)}"
