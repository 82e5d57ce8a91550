"""Keras layer classes and their arguments as data, so `validate` checks `layers` specs without TensorFlow.

`keras_layers.json` (in the package) is generated at release time by
`python -m tflmake.spec.layercatalog` from the installed Keras: every `keras.layers`
class, its constructor's argument names, and, where the docstring says so, the
TOML type an argument takes. Checking a spec reads only the JSON (importing
Keras costs 30-45 s on a small machine); a test regenerates the file and
compares when Keras is importable.
"""

from __future__ import annotations

import difflib
import inspect
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

CATALOG = Path(__file__).resolve().parent / "keras_layers.json"

# What the TOML value of an argument may be, by the first words of its docstring entry.
_DOC_KINDS = [
    (re.compile(r"^(a |an )?(positive |non-negative |strictly positive )?(integer|int)\b", re.I), "integer"),
    (re.compile(r"^(a )?(float|floating)\b", re.I), "number"),
    (re.compile(r"^(a )?(boolean|bool)\b", re.I), "boolean"),
    (re.compile(r"^(a )?(string|str)\b", re.I), "string"),
]
_SEQUENCE = re.compile(r"\b(tuple|list)\b", re.I)
# Keyword arguments keras.layers.Layer takes through **kwargs besides its named ones.
_LAYER_KWARGS = ("input_shape", "input_dim", "batch_size", "batch_input_shape", "weights")
_KIND_WORDS = {"integer": "an integer", "number": "a number", "boolean": "true or false",
               "string": "a string", "array": "an array"}


def generate() -> dict[str, Any]:
    """The catalog of the installed Keras (imports it: release time and tests only)."""
    import keras

    base = _arguments(keras.layers.Layer.__init__, "")
    common = sorted({*base, *_LAYER_KWARGS})
    layers = {}
    for name, value in sorted(vars(keras.layers).items()):
        if isinstance(value, type) and issubclass(value, keras.layers.Layer) and not name.startswith("_"):
            init = getattr(value, "__init__")  # noqa: B009 (mypy refuses value.__init__ on a type)
            parameters = list(inspect.signature(init).parameters.values())[1:]
            layers[name] = {"arguments": _arguments(init, inspect.getdoc(value) or ""),
                            "required": [p.name for p in parameters if p.default is p.empty
                                         and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]}
    return {"keras": keras.__version__, "common_arguments": common, "layers": layers}


def _arguments(init: Any, doc: str) -> dict[str, list[str] | None]:
    """Argument name -> the TOML kinds it takes (None: not checked) of one constructor."""
    described = _documented(doc)
    arguments: dict[str, list[str] | None] = {}
    for parameter in list(inspect.signature(init).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        kinds = _kinds(described.get(parameter.name, ""))
        if kinds is None and isinstance(parameter.default, bool):
            kinds = ["boolean"]
        arguments[parameter.name] = kinds
    return arguments


def _documented(doc: str) -> dict[str, str]:
    """`Args:` entries of a Google-style docstring: name -> first line of its description."""
    entries: dict[str, str] = {}
    for match in re.finditer(r"^\s{4}(\w+): (.+)$", doc.partition("Args:")[2], re.MULTILINE):
        entries.setdefault(match.group(1), match.group(2).strip())
    return entries


def _kinds(description: str) -> list[str] | None:
    for pattern, kind in _DOC_KINDS:
        if pattern.search(description):
            first_sentence = description.split(".")[0]
            return [kind, "array"] if _SEQUENCE.search(first_sentence) else [kind]
    return None


@cache
def catalog() -> dict[str, Any]:
    """The shipped catalog."""
    return dict(json.loads(CATALOG.read_text("utf-8")))


def layer_problems(layers: list[Any], key: str = "model.source.layers") -> list[str]:
    """`key[i].type: ...` problems of a `layers` list: unknown classes, arguments and argument types."""
    known = catalog()["layers"]
    problems = []
    for index, config in enumerate(layers):
        if not isinstance(config, dict) or not isinstance(config.get("type"), str):
            continue  # the schema reports these
        where = f"{key}[{index}]"
        layer = known.get(config["type"])
        if layer is None:
            problems.append(f'{where}.type: "{config["type"]}" is not a keras.layers class'
                            f"{_did_you_mean(config['type'], known)}")
            continue
        problems += _argument_problems(where, config, layer["arguments"])
        problems += [f"{where}: {config['type']} needs the argument \"{name}\""
                     for name in layer["required"] if name not in config]
    return problems


def _argument_problems(where: str, config: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    problems = []
    allowed = {*arguments, *catalog()["common_arguments"]}
    for name, value in config.items():
        if name == "type":
            continue
        if name not in allowed:
            problems.append(f"{where}.{name}: {config['type']} has no argument \"{name}\""
                            f"{_did_you_mean(name, allowed)}")
            continue
        kinds = arguments.get(name)
        if kinds and _kind_of(value) not in kinds and not (_kind_of(value) == "integer" and "number" in kinds):
            expected = " or ".join(_KIND_WORDS[kind] for kind in kinds)
            problems.append(f"{where}.{name}: expected {expected} for {config['type']}; got {_shown(value)}")
    return problems


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "table"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {json.dumps(value)} (write it without quotes)" \
            if re.fullmatch(r"-?\d+(\.\d+)?", value) else f"the string {json.dumps(value)}"
    return f"{_KIND_WORDS.get(_kind_of(value), 'a table')} {json.dumps(value)}"


def _did_you_mean(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {choice.lower(): choice for choice in choices}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    return f'; did you mean "{close[0]}"?' if close else ""


def main() -> int:
    """`python -m tflmake.spec.layercatalog`: regenerate the shipped catalog from the installed Keras."""
    document = generate()
    CATALOG.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {CATALOG} ({len(document['layers'])} layers, keras {document['keras']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
