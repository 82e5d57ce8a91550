"""Every shell session in docs/getting-started.md runs as written in a fresh folder, with the exit codes it states."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"
pytestmark = pytest.mark.integration


def console_commands(markdown: str) -> list[tuple[str, int]]:
    """Each `$ ` line of the ```console blocks, in order, with its expected exit code (`# exits N`, else 0)."""
    commands = []
    for block in re.findall(r"^```console\n(.*?)^```", markdown, flags=re.DOTALL | re.MULTILINE):
        for line in block.splitlines():
            if line.startswith("$ "):
                expected = re.search(r"#\s*exits (\d+)", line)
                commands.append((line[2:].strip(), int(expected.group(1)) if expected else 0))
    return commands


def test_the_page_has_shell_sessions() -> None:
    """The page shows commands to run, and they include a build (so the test below builds something)."""
    commands = [command for command, _ in console_commands(PAGE.read_text("utf-8"))]
    assert len(commands) >= 5
    assert any(command.startswith("tflmake new ") for command in commands)
    assert any(command.startswith("tflmake tflite:") for command in commands)


def test_every_getting_started_session_runs_in_a_fresh_folder(tmp_path: Path) -> None:
    """The commands run one after the other in an empty folder, each exiting as the page says."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "tflmake"  # this interpreter's tflmake, whichever checkout the tests import
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tflmake "$@"\n')
    wrapper.chmod(0o755)
    folder = tmp_path / "project"
    folder.mkdir()
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command, expected in console_commands(PAGE.read_text("utf-8")):
        run = subprocess.run(["bash", "-c", command], cwd=folder, env=environment, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == expected, f"$ {command}\nexit {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert (folder / "build" / "blinky" / "int8.tflite").is_file()
    assert (folder / "build" / "blinky" / "firmware" / "blinky_int8_model_data.h").is_file()
