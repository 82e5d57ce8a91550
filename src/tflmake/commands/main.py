"""The `tflmake` command: argv -> doit over tflmake's tasks, plus new, validate, schema and report.

Everything that builds or inspects targets goes through doit's own command line
(`DoitMain` with a loader over `project_tasks`), so every doit command works
without a dodo.py; `status` and `refresh` are doit commands too (see their modules).
The commands that need no task graph (new, validate, schema) never load doit's
runner, and none of them imports TensorFlow.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import re
import sys
import tomllib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tflmake.cache import SETTINGS_ENV
from tflmake.cache.config import RUN_ENV, CacheConfig, parse_table, to_environment, with_overrides
from tflmake.console import VERBOSE_ENV
from tflmake.engine.reporter import TRACEBACK_ENV
from tflmake.errors import SpecError, TflmakeError

USAGE = """\
usage: tflmake [--specs DIR] [--build-dir DIR] [-v|--verbose] [--traceback] [COMMAND] [ARGS]

Builds the models specified in modelspecs/*.toml into build/ (no dodo.py needed).

tflmake's commands:
  new NAME [--from SPEC]     write a commented starter spec to <specs>/NAME.toml
  validate [FILES] [--format json]
                             check specs (all by default) without building
  status [TASK ...]          each target up to date or stale, and why
  refresh                    after copying or restoring build/: record the new file
                             timestamps, so no-op builds stop re-hashing files
  schema                     print the specs' JSON Schema (for editors)
  verify                     check built artifacts against their manifests' sha256
  report ...                 reports on built models (when installed)
  cache status|push|verify|gc
                             the shared artifact cache (tflmake cache --help)

doit's commands work as usual (`tflmake help` lists them), for example:
  tflmake                    build everything that is stale
  tflmake list --all         list the tasks
  tflmake tflite:NAME.int8   build one target (and what it needs)
  tflmake -n 2               build with two processes
  tflmake clean | forget | info TASK

options (anywhere before the task names; also [tool.tflmake] in pyproject.toml):
  --specs DIR       folder of the spec files (default: modelspecs; key: specs)
  --build-dir DIR   folder of the outputs (default: build; key: build-dir)
  -v, --verbose     show TensorFlow's own log output (doit's `-v N` still sets its verbosity)
  --traceback       show the full traceback of a failed task after its one-line summary
  --cache-url URL   shared artifact cache: a folder or fsspec URL (also [tool.tflmake.cache] url,
                    env TFLMAKE_CACHE_URL)
  --cache-mode M    read (default), read-write (CI) or off (also env TFLMAKE_CACHE_MODE)
  --no-cache        build without the cache
  --executor URL    build stale models on a cluster first, into the cache (read-write), then
                    restore: dask://HOST:8786, dask-local:N, ray://HOST:10001 or ray-local:N
"""

SETTING_KEYS = ("specs", "build-dir", "cache")


@dataclass(frozen=True)
class Settings:
    """Where specs and outputs live, and how much to show."""

    specs: str = "modelspecs"
    build_dir: str = "build"
    verbose: bool = False
    traceback: bool = False
    cache: CacheConfig = field(default_factory=CacheConfig)
    executor: str | None = None  # see tflmake.cluster.executor


class UsageError(TflmakeError):
    """The command line or [tool.tflmake] is wrong."""


def main(argv: list[str] | None = None) -> int:
    """Run `tflmake` with `argv` (default: sys.argv[1:]) in the current directory; the exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        configured = project_settings(Path("pyproject.toml"))
        configured = replace(configured, cache=with_overrides(configured.cache, os.environ))
        settings, rest = parse_options(args, configured)
        if rest in (["-h"], ["--help"]):
            print(USAGE, end="")
            return 0
        if settings.executor and not (settings.cache.url and settings.cache.writes):
            raise UsageError("--executor: the cluster fills the shared cache, so it needs a cache URL in "
                             "read-write mode (--cache-url URL --cache-mode read-write)")
        command = OWN_COMMANDS.get(rest[0]) if rest else None
        with tflmake_environment(settings):
            if command is not None:
                return command(rest[1:], settings)
            return run_doit(rest, settings)
    except TflmakeError as error:
        print(f"tflmake: error: {error}", file=sys.stderr)
        return 2


def project_settings(pyproject: Path) -> Settings:
    """Settings from `[tool.tflmake]` of `pyproject` (defaults when it has none)."""
    if not pyproject.is_file():
        return Settings()
    try:
        document = tomllib.loads(pyproject.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{pyproject.as_posix()}: {error}") from None
    table = document.get("tool", {}).get("tflmake", {})
    values: dict[str, str] = {}
    cache = parse_table(table.get("cache", {}), pyproject.as_posix())
    for key, value in table.items():
        if key not in SETTING_KEYS:
            close = difflib.get_close_matches(key, SETTING_KEYS, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else \
                f"; expected one of {', '.join(SETTING_KEYS)}"
            raise UsageError(f"{pyproject.as_posix()}: tool.tflmake.{key}: unknown key{hint}")
        if key == "cache":
            continue
        if not isinstance(value, str) or not value:
            raise UsageError(f"{pyproject.as_posix()}: tool.tflmake.{key}: expected a folder "
                             f"path (a string); got {value!r}")
        values[key] = _folder(value)
    defaults = Settings()
    return Settings(specs=values.get("specs", defaults.specs),
                    build_dir=values.get("build-dir", defaults.build_dir), cache=cache)


def parse_options(args: list[str], settings: Settings) -> tuple[Settings, list[str]]:
    """Take tflmake's own options out of `args`; the rest goes to the command or doit.

    Options after `report` are left to it. `-v` followed by a number is doit's
    verbosity option and left to doit.
    """
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        name, has_value, value = arg.partition("=")
        if arg == "--" or (not rest and arg == "report") or rest[:1] == ["report"]:
            rest.extend(args[index:])
            break
        if name in ("--specs", "--build-dir"):
            if not has_value:
                if index + 1 >= len(args):
                    raise UsageError(f"{name} needs a folder")
                index += 1
                value = args[index]
            settings = replace(settings, specs=_folder(value)) if name == "--specs" else \
                replace(settings, build_dir=_folder(value))
        elif arg == "--verbose" or (arg == "-v" and not _is_number(args[index + 1:index + 2])):
            settings = replace(settings, verbose=True)
        elif arg == "--traceback":
            settings = replace(settings, traceback=True)
        elif name in ("--cache-url", "--cache-mode"):
            if not has_value:
                if index + 1 >= len(args):
                    raise UsageError(f"{name} needs a value")
                index += 1
                value = args[index]
            settings = replace(settings, cache=with_overrides(
                settings.cache, {}, **({"url": value} if name == "--cache-url" else {"mode": value})))
        elif name == "--executor":
            if not has_value:
                if index + 1 >= len(args):
                    raise UsageError(f"{name} needs a value")
                index += 1
                value = args[index]
            from tflmake.cluster.executor import parse_executor

            parse_executor(value)  # a typo fails here, before any task loads
            settings = replace(settings, executor=value)
        elif arg == "--no-cache":
            settings = replace(settings, cache=replace(settings.cache, mode="off"))
        else:
            rest.append(arg)
        index += 1
    return settings, rest


def _is_number(following: list[str]) -> bool:
    return bool(following) and following[0].isdigit()


def _folder(value: str) -> str:
    # Layout joins with "/", and doit compares paths as strings: keep one spelling.
    return Path(value).as_posix()


@contextmanager
def tflmake_environment(settings: Settings) -> Iterator[None]:
    """Set the variables the build steps and reporter read, and restore them afterwards."""
    wanted = {VERBOSE_ENV: "1" if settings.verbose else None, TRACEBACK_ENV: "1" if settings.traceback else None}
    # Read by each stale task's action (runner), also in the processes of `-n`; "" unsets.
    cached = settings.cache.reads or settings.cache.writes
    wanted |= {SETTINGS_ENV: to_environment(settings.cache) if cached else "",
               RUN_ENV: uuid.uuid4().hex if cached else ""}
    saved = {name: os.environ.get(name) for name in wanted}
    for name, value in wanted.items():
        if value:
            os.environ[name] = value
        elif value == "":
            os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def run_doit(args: list[str], settings: Settings) -> int:
    """Any doit command (default: run) over the project's tasks."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    from tflmake.commands.cache import CacheCommand
    from tflmake.commands.refresh import Refresh
    from tflmake.commands.status import Status
    from tflmake.graph.tasks import project_tasks

    commands = (*DoitMain.DOIT_CMDS, Status, Refresh, CacheCommand)
    if settings.executor:
        from tflmake.commands.cluster import cluster_run

        run = cluster_run(settings.executor, settings.specs, settings.cache)
        commands = tuple(run if command.get_name() == "run" else command for command in commands)

    class TflmakeMain(DoitMain):  # type: ignore[misc]
        BIN_NAME = "tflmake"
        DOIT_CMDS = commands

    namespace = project_tasks(settings.specs, settings.build_dir, args)
    return int(TflmakeMain(ModuleTaskLoader(namespace)).run(args) or 0)


def _parser(command: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"tflmake {command}", description=description)


def _parse(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    """argparse without leaving the process: usage errors become UsageError, --help returns."""
    try:
        return parser.parse_args(args)
    except SystemExit as exit_:
        raise _ParserExit(int(exit_.code or 0)) from None


class _ParserExit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _own(command: Callable[[list[str], Settings], int]) -> Callable[[list[str], Settings], int]:
    def run(args: list[str], settings: Settings) -> int:
        try:
            return command(args, settings)
        except _ParserExit as exit_:
            return exit_.code
    run.__doc__ = command.__doc__
    return run


@_own
def command_new(args: list[str], settings: Settings) -> int:
    """`tflmake new NAME [--from SPEC]`."""
    from tflmake.commands.new import new_spec
    from tflmake.spec.load import load_spec

    parser = _parser("new", "Write a commented starter spec that builds offline as written.")
    parser.add_argument("name", help="model name: lowercase letters, digits and _")
    parser.add_argument("--from", dest="from_spec", metavar="SPEC",
                        help="copy this spec file (or model of the specs folder) instead")
    options = _parse(parser, args)
    path = new_spec(options.name, settings.specs, options.from_spec)
    print(f"wrote {path.as_posix()}")
    try:
        load_spec(path)
    except SpecError as error:
        print(f"{error}\nfix these before building (tflmake validate {path.as_posix()})",
              file=sys.stderr)
        return 1
    print(f"build it with: tflmake tflite:{options.name}.int8   (or just: tflmake)")
    return 0


@_own
def command_validate(args: list[str], settings: Settings) -> int:
    """`tflmake validate [FILES] [--format json]`."""
    from tflmake.spec.load import find_spec_files, load_specs

    parser = _parser("validate", "Check specs without building: every problem of every spec.")
    parser.add_argument("files", nargs="*", help=f"spec files (default: {settings.specs}/*.toml)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    options = _parse(parser, args)
    paths = options.files or find_spec_files(settings.specs)
    specs, errors = load_specs(paths)
    results: dict[str, list[str]] = {spec.spec_path: [] for spec in specs}
    for error in errors:
        results.setdefault(error.spec_path, []).extend(error.problems)
    ordered = dict(sorted(results.items()))
    if options.format == "json":
        print(json.dumps(validation_report(ordered), indent=2))
    else:
        print(validation_text(ordered, settings.specs), end="")
    return 0 if paths and not errors else 1


def validation_report(results: dict[str, list[str]]) -> dict[str, Any]:
    """`validate --format json`: per file, each problem split into key and message."""
    return {
        "valid": bool(results) and not any(results.values()),
        "specs": [{"path": path, "valid": not problems,
                   "problems": [_problem_record(problem) for problem in problems]}
                  for path, problems in results.items()],
    }


_KEY = re.compile(r"^(\(top level\)|[A-Za-z_][\w.\[\]]*): (.*)$", re.DOTALL)
_LINE = re.compile(r"at line (\d+), column (\d+)")


def _problem_record(problem: str) -> dict[str, Any]:
    match = _KEY.match(problem)
    key, message = (match.group(1), match.group(2)) if match else (None, problem)
    record: dict[str, Any] = {"key": key, "message": message}
    where = _LINE.search(problem)
    if where:
        record["line"], record["column"] = int(where.group(1)), int(where.group(2))
    return record


def validation_text(results: dict[str, list[str]], specs_dir: str) -> str:
    """`validate` for people: one line per problem (`file: key: message`), then a count."""
    if not results:
        return f"no specs in {specs_dir}/ (start one with: tflmake new NAME)\n"
    lines = []
    for path, problems in results.items():
        lines.extend([f"{path}: {problem}" for problem in problems] or [f"{path}: ok"])
    invalid = sum(bool(problems) for problems in results.values())
    count = sum(len(problems) for problems in results.values())
    summary = f"{len(results)} spec{'s' if len(results) != 1 else ''}: "
    summary += f"{len(results) - invalid} valid, {invalid} invalid"
    lines.append(summary + (f" ({count} problem{'s' if count != 1 else ''})" if count else ""))
    return "\n".join(lines) + "\n"


@_own
def command_schema(args: list[str], settings: Settings) -> int:
    """`tflmake schema`."""
    from tflmake.spec.schema import spec_schema

    _parse(_parser("schema", "Print the JSON Schema of spec files (for editors)."), args)
    print(json.dumps(spec_schema(), indent=2))
    return 0


def command_verify(args: list[str], settings: Settings) -> int:
    """`tflmake verify`: `tflmake.commands.verify`, in the configured build folder."""
    from tflmake.commands import verify

    try:
        return verify.main(["--build-dir", settings.build_dir, *args])
    except SystemExit as exit_:  # argparse: --help or a usage error
        return int(exit_.code or 0)


def command_report(args: list[str], settings: Settings) -> int:
    """`tflmake report ...`: handed to `tflmake.commands.report` when that module is installed."""
    try:
        report_cli = importlib.import_module("tflmake.commands.report")
    except ModuleNotFoundError as error:
        if error.name != "tflmake.commands.report":
            raise
        print("tflmake: report is not available in this installation of tflmake "
              "(no tflmake.commands.report module)", file=sys.stderr)
        return 2
    return int(report_cli.main(args))


OWN_COMMANDS: dict[str, Callable[[list[str], Settings], int]] = {
    "new": command_new,
    "validate": command_validate,
    "schema": command_schema,
    "verify": command_verify,
    "report": command_report,
}
