"""What every tflmake command receives: the project's settings, and argparse that never exits the process.

Each own command is a module of this package with `run(args, settings) -> int`;
`commands.main` reads the options and `[tool.tflmake]` once and hands both over.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from tflmake.cache.config import CacheConfig
from tflmake.errors import TflmakeError
from tflmake.signing.config import SigningConfig


@dataclass(frozen=True)
class Settings:
    """Where specs and outputs live, how much to show, and the shared cache."""

    specs: str = "modelspecs"
    build_dir: str = "build"
    verbose: bool = False
    traceback: bool = False
    cache: CacheConfig = field(default_factory=CacheConfig)
    executor: str | None = None  # a cluster that fills the cache first (see tflmake.cluster.executor)
    signing: SigningConfig | None = None  # [tool.tflmake.signing], resolved (None: nothing signed or verified)
    worker: bool = True  # TensorFlow steps may run in the warm worker (--no-worker, TFLMAKE_WORKER=0: not)


class UsageError(TflmakeError):
    """The command line or [tool.tflmake] is wrong."""


class ParserExit(Exception):
    """argparse finished the command (`--help`, or a usage error it printed): its exit code."""

    def __init__(self, code: int) -> None:
        self.code = code


def parser(command: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"tflmake {command}", description=description)


def parse(command_parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    """argparse without leaving the process: `--help` and usage errors raise ParserExit."""
    try:
        return command_parser.parse_args(args)
    except SystemExit as exit_:
        raise ParserExit(int(exit_.code or 0)) from None
