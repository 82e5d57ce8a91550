"""`tflmake report`: the summary table in the terminal, read from report.json (no TensorFlow)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from tflmake.commands.settings import Settings, parse, parser
from tflmake.emit.report_md import change_lines
from tflmake.paths import Layout
from tflmake.report.read import evaluated_models, load_summary
from tflmake.report.summary import HOST_LATENCY_NOTE, ModelSummary


def run(args: list[str], settings: Settings) -> int:
    """Print the summaries; 1 when a requested model (or any model) has no report yet."""
    command = parser("report", "Show each model's variants as measured by the last build.")
    command.add_argument("models", nargs="*", help="models to show (default: every evaluated one)")
    command.add_argument("--build-dir", default=settings.build_dir,
                         help=f"the build folder (default: {settings.build_dir})")
    command.add_argument("--diff", action="store_true",
                         help="also show what moved since the previous build's report")
    command.add_argument("--plain", action="store_true",
                         help="plain text, no colours or boxes (the default when piped)")
    return show(parse(command, args))


def show(args: argparse.Namespace) -> int:
    layout = Layout(args.build_dir)
    available = evaluated_models(layout)
    missing = [name for name in args.models if name not in available]
    if missing or not available:
        names = ", ".join(missing) if missing else "any model"
        print(f"tflmake report: no report.json for {names} under {layout.build_dir}/; "
              "build first: run `tflmake`", file=sys.stderr)
        return 1
    summaries = [s for name in (args.models or available)
                 if (s := load_summary(layout, name)) is not None]
    # rich squeezes wide tables to 80 columns when piped; plain text reads better there.
    if args.plain or not sys.stdout.isatty():
        print_plain(summaries, args.diff, sys.stdout)
    else:
        print_rich(summaries, args.diff)
    return 0


def print_plain(summaries: Sequence[ModelSummary], diff: bool, out: TextIO) -> None:
    """Aligned columns; best values marked with *."""
    for summary in summaries:
        print(f"{summary.model} ({summary.test_samples} test samples)", file=out)
        cells = [list(summary.header)] + [[c.text + ("*" if c.best else "") for c in row]
                                          for row in summary.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(summary.header))]
        for row in cells:
            print("  " + "  ".join(text.ljust(width) for text, width in zip(row, widths,
                                                                             strict=True)),
                  file=out)
        for line in summary.sentences:
            print(f"  {line}", file=out)
        if diff:
            print("  changes since the previous build:", file=out)
            for line in change_lines(summary):
                print(f"    {line.removeprefix('- ')}", file=out)
        print(file=out)
    print(f"* best in column. {HOST_LATENCY_NOTE}", file=out)


def print_rich(summaries: Sequence[ModelSummary], diff: bool) -> None:
    """A rich table per model; best values bold green."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for summary in summaries:
        table = Table(title=f"{summary.model} ({summary.test_samples} test samples)",
                      title_justify="left")
        for index, title in enumerate(summary.header):
            table.add_column(title, justify="left" if index < 2 else "right")
        for row in summary.rows:
            table.add_row(*(f"[bold green]{c.text}[/]" if c.best else c.text for c in row))
        console.print(table)
        for line in summary.sentences:
            console.print(f"  {line}", highlight=False)
        if diff:
            console.print("  [bold]changes since the previous build[/]")
            for line in change_lines(summary):
                console.print(f"    {line.removeprefix('- ')}", highlight=False)
        console.print()
    console.print(f"[dim]Best in column in green. {HOST_LATENCY_NOTE}[/]")
