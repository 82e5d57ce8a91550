"""`tflmake validate`: every problem of every spec, for people (one line each) or editors and CI (JSON)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tflmake import exits
from tflmake.commands.settings import Settings, parse, parser
from tflmake.spec.keylines import line_of


def run(args: list[str], settings: Settings) -> int:
    """`tflmake validate [FILES] [--format json]`."""
    from tflmake.spec.load import find_spec_files, load_specs

    command = parser("validate", "Check specs without building: every problem of every spec.")
    command.add_argument("files", nargs="*", help=f"spec files (default: {settings.specs}/*.toml)")
    command.add_argument("--format", choices=("text", "json"), default="text")
    options = parse(command, args)
    paths = options.files or find_spec_files(settings.specs)
    specs, errors = load_specs(paths)
    results: dict[str, list[str]] = {spec.spec_path: [] for spec in specs}
    for error in errors:
        results.setdefault(error.spec_path, []).extend(error.problems)
    ordered = dict(sorted(results.items()))
    texts = {path: _read_or_empty(path) for path in ordered}
    if options.format == "json":
        print(json.dumps(validation_report(ordered, texts), indent=2))
    else:
        print(validation_text(ordered, settings.specs, texts), end="")
    return exits.OK if paths and not errors else exits.INVALID


def _read_or_empty(path: str) -> str:
    try:
        return Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def validation_report(results: dict[str, list[str]], texts: dict[str, str] | None = None) -> dict[str, Any]:
    """`validate --format json`: per file, each problem split into key and message, with its line."""
    texts = texts or {}
    return {
        "valid": bool(results) and not any(results.values()),
        "specs": [{"path": path, "valid": not problems,
                   "problems": [_problem_record(problem, texts.get(path, "")) for problem in problems]}
                  for path, problems in results.items()],
    }


_KEY = re.compile(r"^(\(top level\)|[A-Za-z_][\w.\[\]]*): (.*)$", re.DOTALL)
_LINE = re.compile(r"at line (\d+), column (\d+)")


def _problem_record(problem: str, text: str = "") -> dict[str, Any]:
    match = _KEY.match(problem)
    key, message = (match.group(1), match.group(2)) if match else (None, problem)
    record: dict[str, Any] = {"key": key, "message": message}
    where = _LINE.search(problem)
    if where:
        record["line"], record["column"] = int(where.group(1)), int(where.group(2))
    elif key and text and (line := line_of(text, key)) is not None:
        record["line"] = line
    return record


def validation_text(results: dict[str, list[str]], specs_dir: str, texts: dict[str, str] | None = None) -> str:
    """`validate` for people: one line per problem (`file: key: message (line N)`), then a count."""
    if not results:
        return f"no specs in {specs_dir}/ (start one with: tflmake new NAME)\n"
    lines = []
    for path, problems in results.items():
        records = [_problem_record(problem, (texts or {}).get(path, "")) for problem in problems]
        lines.extend([f"{path}: {problem}" + (f" (line {record['line']})" if "line" in record and
                                               "column" not in record else "")
                      for problem, record in zip(problems, records, strict=True)] or [f"{path}: ok"])
    invalid = sum(bool(problems) for problems in results.values())
    count = sum(len(problems) for problems in results.values())
    summary = f"{len(results)} spec{'s' if len(results) != 1 else ''}: "
    summary += f"{len(results) - invalid} valid, {invalid} invalid"
    lines.append(summary + (f" ({count} problem{'s' if count != 1 else ''})" if count else ""))
    return "\n".join(lines) + "\n"
