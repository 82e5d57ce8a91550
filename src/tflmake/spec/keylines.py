"""The line of a spec file a key path (`variant[1].quantize`, `model.source.layers[2].units`) is on.

tomllib gives values, not positions, so problems found after parsing (schema and
semantic checks) would name a key but no line; editors and CI annotations want
the line. This scans the text the way TOML lays it out: `[table]` and
`[[array]]` headers, `key = value` lines (dotted keys too), and inline tables
inside an array value. A key it cannot place gets its table's header line, or none.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_\-.\" ]+?)\s*=")


def key_lines(text: str) -> dict[str, int]:
    """Every table, key and array item the text spells out -> its 1-based line."""
    lines: dict[str, int] = {}
    table: list[str] = []
    counts: dict[str, int] = {}
    array_key: str | None = None
    depth = items = 0
    for number, line in enumerate(text.splitlines(), start=1):
        code = _strip_comment(line)
        if array_key is not None:
            depth, items = _scan_array(code, array_key, number, depth, items, lines)
            if depth <= 0:
                array_key = None
            continue
        header = _HEADER.match(code)
        if header:
            name = _dotted(header.group(2))
            if header.group(1) == "[[":
                index = counts[name] = counts.get(name, -1) + 1
                table = [f"{name}[{index}]"]
            else:
                table = [name]
            lines.setdefault(".".join(table), number)
            continue
        assignment = _ASSIGNMENT.match(code)
        if assignment:
            key = ".".join([*table, _dotted(assignment.group(1))])
            lines.setdefault(key, number)
            value = code[assignment.end():]
            if value.lstrip().startswith("["):
                depth, items = _scan_array(value, key, number, 0, 0, lines)
                array_key = key if depth > 0 else None
    return lines


def _scan_array(code: str, key: str, number: int, depth: int, items: int,
                lines: dict[str, int]) -> tuple[int, int]:
    """Track `[`/`{` nesting of an array value; each top-level `{` starts item `key[i]`."""
    quote = ""
    for char in code:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            if char == "{" and depth == 1:
                lines.setdefault(f"{key}[{items}]", number)
                items += 1
            depth += 1
        elif char in "]}":
            depth -= 1
    return depth, items


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def _dotted(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


def line_of(text: str, key: str) -> int | None:
    """The line of `key`, or of the nearest enclosing key or table the text spells out."""
    lines = key_lines(text)
    while key:
        if key in lines:
            return lines[key]
        key = key[:key.rfind("[")] if key.endswith("]") else key.rpartition(".")[0]
    return None
