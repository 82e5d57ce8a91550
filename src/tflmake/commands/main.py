"""The `tflmake` command: options and `[tool.tflmake]` -> Settings, then one command.

Two kinds of command, one pattern each: tflmake's own (new, validate, schema,
verify, report, clean --orphans) are modules of this package with
`run(args, settings) -> int`; everything that needs the task graph goes through
doit's own command line (`DoitMain` over `project_tasks`), so every doit command
works without a dodo.py, and `status`, `refresh` and `cache` are doit commands
(`DoitCmdBase` subclasses) that read the same settings from the loaded project.
None of them imports TensorFlow.
"""

from __future__ import annotations

import importlib
import os
import sys
from contextlib import contextmanager

from tflmake import exits
from tflmake.engine import noop
from tflmake.exits import guarded_stdout

# Everything else loads in the function that needs it: a no-op the record answers (engine.noop)
# imports no more than this.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import Any

    from tflmake.commands.settings import Settings

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
  report [MODEL...]          each model's measurements from the last build (report.json)
  COMMAND --help             help on any command (same as: tflmake help COMMAND)
  cache status|push|verify|gc
                             the shared artifact cache (tflmake cache --help)
  worker status|stop         the warm build worker that keeps TensorFlow imported

doit's commands work as usual (`tflmake help` lists them), for example:
  tflmake                    build everything that is stale
  tflmake list --all         list the tasks
  tflmake tflite:NAME.int8   build one target (and what it needs)
  tflmake -n 2               build with two processes
  tflmake clean              remove the targets (tflmake forget TASK, tflmake info TASK, ...)
  tflmake clean --orphans    remove build/<model>/ of specs that no longer exist

options (anywhere before the task names; also [tool.tflmake] in pyproject.toml):
  --specs DIR       folder of the spec files (default: modelspecs; key: specs)
  --build-dir DIR   folder of the outputs (default: build; key: build-dir)
  -v, --verbose     show TensorFlow's own log output (doit's `-v N` still sets its verbosity)
  --traceback       show the full traceback of a failed task after its one-line summary
  --cache-url URL   shared artifact cache: a folder or fsspec URL (also [tool.tflmake.cache] url,
                    env TFLMAKE_CACHE_URL)
  --cache-mode M    read (default), read-write (CI) or off (also env TFLMAKE_CACHE_MODE)
  --no-cache        build without any cache, the local one included
  --no-worker       build TensorFlow steps in this process, not in the warm worker
                    (also env TFLMAKE_WORKER=0)
  (the local cache, on by default in ~/.cache/tflmake: [tool.tflmake.cache] local = false, or
   env TFLMAKE_CACHE_LOCAL=0, turns it off; local-dir and local-max-mb move and bound it)
  --executor URL    build stale models on a cluster first, into the cache (read-write), then
                    restore: dask://HOST:8786, dask-local:N, ray://HOST:10001 or ray-local:N
"""

SETTING_KEYS = ("specs", "build-dir", "cache", "signing")


def main(argv: list[str] | None = None) -> int:
    """Run `tflmake` with `argv` (default: sys.argv[1:]) in the current directory; the exit code.

    Exit codes (tflmake.exits): 0 ok, 1 a build step or gate failed, 2 an invalid
    spec or command line, 130 interrupted, 141 the reader of the output went away.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    # Run as the process's command (the console script, `python -m tflmake`): a Ctrl-C after
    # the command finished exits 130 at once; called with arguments (tests), Python's handler.
    afterwards = exits.exit_interrupted if argv is None else None
    noop.start_run()
    with guarded_stdout():
        try:
            if not args and _answered_by_noop_record(args, noop.DEFAULT_BUILD_DIR):
                return exits.OK
            with exits.ctrl_c_remembered(afterwards):
                code = _run_command(args)
                exits.raise_if_ctrl_c_pressed()  # a press whose KeyboardInterrupt was lost
                sys.stdout.flush()
            return code
        except KeyboardInterrupt:
            print(exits.INTERRUPTED_MESSAGE, file=sys.stderr)
            return exits.INTERRUPTED
        except (exits.ReaderGone, BrokenPipeError):
            exits.silence_stdout()
            return exits.READER_GONE


def _run_command(args: list[str]) -> int:
    from dataclasses import replace
    from pathlib import Path

    from tflmake.cache.config import with_overrides
    from tflmake.commands.settings import ParserExit, UsageError
    from tflmake.errors import TflmakeError

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
        if not rest and not settings.executor and _answered_by_noop_record(args, settings.build_dir):
            return exits.OK
        command = OWN_COMMANDS.get(rest[0]) if rest else None
        if rest[:1] == ["clean"] and "--orphans" in rest:
            command = _command("orphans")
        with tflmake_environment(settings):
            if command is not None:
                try:
                    return command(rest[1:], settings)
                except ParserExit as exit_:
                    return exit_.code
            return run_doit(rest, settings)
    except TflmakeError as error:
        print(f"tflmake: error: {error}", file=sys.stderr)
        return exits.INVALID


def _answered_by_noop_record(args: list[str], build_dir: str) -> bool:
    """A full build: True when the no-op record proves there is nothing to do (its line printed);
    otherwise this run writes the record if it succeeds."""
    context = noop.tflmake_context(args)
    line = noop.nothing_to_do(context, build_dir)
    if line is None:
        noop.expect_record(context, build_dir)
        return False
    print(line)
    return True


def project_settings(pyproject: Path) -> Settings:
    """Settings from `[tool.tflmake]` of `pyproject` (defaults when it has none)."""
    import tomllib

    from tflmake.cache.config import parse_table
    from tflmake.commands.settings import Settings, UsageError

    if not pyproject.is_file():
        return Settings()
    try:
        document = tomllib.loads(pyproject.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{pyproject.as_posix()}: {error}") from None
    table = document.get("tool", {}).get("tflmake", {})
    values: dict[str, str] = {}
    cache = parse_table(table.get("cache", {}), pyproject.as_posix())
    signing = None
    if "signing" in table:
        where = pyproject.as_posix()
        from tflmake.signing.config import parse_table as parse_signing
        from tflmake.signing.config import resolve as resolve_signing

        signing = resolve_signing(parse_signing(table["signing"], where), where, os.environ, pyproject.parent)
    for key, value in table.items():
        if key not in SETTING_KEYS:
            import difflib

            close = difflib.get_close_matches(key, SETTING_KEYS, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else \
                f"; expected one of {', '.join(SETTING_KEYS)}"
            raise UsageError(f"{pyproject.as_posix()}: tool.tflmake.{key}: unknown key{hint}")
        if key in ("cache", "signing"):
            continue
        if not isinstance(value, str) or not value:
            raise UsageError(f"{pyproject.as_posix()}: tool.tflmake.{key}: expected a folder "
                             f"path (a string); got {value!r}")
        values[key] = _folder(value)
    defaults = Settings()
    return Settings(specs=values.get("specs", defaults.specs),
                    build_dir=values.get("build-dir", defaults.build_dir), cache=cache, signing=signing)


def parse_options(args: list[str], settings: Settings) -> tuple[Settings, list[str]]:
    """Take tflmake's own options out of `args`; the rest goes to the command or doit.

    Options after `report` are left to it. `-v` followed by a number is doit's
    verbosity option and left to doit.
    """
    from dataclasses import replace

    from tflmake.cache.config import with_overrides
    from tflmake.commands.settings import UsageError

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
            settings = replace(settings, cache=replace(settings.cache, mode="off", local=False))
        elif arg == "--no-worker":
            settings = replace(settings, worker=False)
        else:
            rest.append(arg)
        index += 1
    return settings, rest


def _is_number(following: list[str]) -> bool:
    return bool(following) and following[0].isdigit()


def _folder(value: str) -> str:
    # Layout joins with "/", and doit compares paths as strings: keep one spelling.
    from pathlib import Path

    return Path(value).as_posix()


@contextmanager
def tflmake_environment(settings: Settings) -> Iterator[None]:
    """Set the variables the build steps and reporter read, and restore them afterwards."""
    import uuid

    from tflmake.cache import SETTINGS_ENV
    from tflmake.cache.config import RUN_ENV, resolved, to_environment
    from tflmake.console import TRACEBACK_ENV, VERBOSE_ENV
    from tflmake.engine.workerlink import WORKER_ENV
    from tflmake.signing import ENCRYPTION_KEY_ENV, KEY_ENV
    from tflmake.signing import SETTINGS_ENV as SIGNING_SETTINGS_ENV
    from tflmake.signing.config import to_environment as signing_environment

    wanted = {VERBOSE_ENV: "1" if settings.verbose else None, TRACEBACK_ENV: "1" if settings.traceback else None,
              WORKER_ENV: None if settings.worker else "0"}
    # Read by each stale task's action (runner), also in the processes of `-n`; "" unsets.
    cached = settings.cache.active
    wanted |= {SETTINGS_ENV: to_environment(resolved(settings.cache)) if cached else "",
               RUN_ENV: uuid.uuid4().hex if cached else ""}
    # Paths only, never a key's bytes; "" unsets what a previous shell left (the settings decide).
    signing = settings.signing
    wanted |= {SIGNING_SETTINGS_ENV: signing_environment(signing) if signing else "",
               KEY_ENV: (signing.private_key or "") if signing else "",
               ENCRYPTION_KEY_ENV: (signing.encryption_key or "") if signing else ""}
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


def _command(module: str) -> Callable[[list[str], Settings], int]:
    """`tflmake.commands.<module>.run`, imported on first call (most runs use none of them)."""
    def run(args: list[str], settings: Settings) -> int:
        command: Callable[[list[str], Settings], int] = importlib.import_module(f"tflmake.commands.{module}").run
        return command(args, settings)
    return run


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

    if len(args) >= 2 and args[1] in ("-h", "--help"):
        args = ["help", args[0]]  # doit's own spelling of `COMMAND --help`
    namespace = project_tasks(settings.specs, settings.build_dir, args)
    code = int(TflmakeMain(ModuleTaskLoader(namespace)).run(args) or 0)
    builds = not args or args[0] == "run" or args[0] not in {c.name for c in TflmakeMain.DOIT_CMDS}
    return doit_exit_code(code, namespace if builds else {})


def doit_exit_code(code: int, namespace: dict[str, Any]) -> int:
    """doit's exit code in tflmake's set.

    doit: 1 a task failed, 2 a task raised (or its dependency failed), 3 a
    command-line or task-loading error. tflmake: 1 for both task cases, 2 when
    the build had an invalid spec or the command line was wrong. `namespace`
    holds the task creators of a build (empty for other commands).
    """
    if code in (1, 2) and any(task.get("basename") == "spec" and task.get("name")
                              for creator in _creators(namespace) for task in creator()):
        return exits.INVALID
    return {1: exits.FAILED, 2: exits.FAILED, 3: exits.INVALID}.get(code, code)


def _creators(namespace: dict[str, Any]) -> list[Callable[[], Iterator[dict[str, Any]]]]:
    return [value for name, value in namespace.items() if name.startswith("task_")]





# Own commands: a module of this package each, `run(args, settings) -> int`, imported when used.
OWN_COMMANDS: dict[str, Callable[[list[str], Settings], int]] = {
    name: _command(name) for name in ("new", "validate", "schema", "verify", "report", "worker")}
