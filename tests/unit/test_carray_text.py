"""C array text: exact bytes, TFLite Micro conventions, compiles as C and C++."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tflmake.emit.carray import format_bytes, include_guard, render_header, render_source


def parse_bytes(text: str) -> bytes:
    return bytes(int(token, 16) for token in re.findall(r"0x([0-9a-f]{2})", text))


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 1000])
def test_format_bytes_round_trips(size: int) -> None:
    """Every byte appears once, in order, whatever the length."""
    data = os.urandom(size)
    assert parse_bytes(format_bytes(data)) == data


def test_lines_hold_twelve_bytes() -> None:
    """Lines are indented and hold BYTES_PER_LINE values, last line ragged."""
    lines = format_bytes(bytes(range(30))).splitlines()
    assert lines[0] == "  " + ", ".join(f"0x{i:02x}" for i in range(12)) + ","
    assert len(lines) == 3 and lines[2].count("0x") == 6


def test_include_guard_is_a_valid_macro() -> None:
    assert include_guard("int8_model_data.h") == "TFLMAKE_INT8_MODEL_DATA_H_"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
@pytest.mark.parametrize("command", [
    ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"],
    ["g++", "-x", "c++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-c"],
])
def test_generated_files_compile(tmp_path: Path, command: list[str]) -> None:
    """The .c file with its header compiles warning-free as C99 and as C++17."""
    data = os.urandom(100)
    options = {"symbol": "g_demo_model_data", "header_name": "demo_model_data.h",
               "alignment": 16, "comment": "demo"}
    (tmp_path / "demo_model_data.h").write_text(render_header(
        symbol="g_demo_model_data", header_name="demo_model_data.h", length=100,
        alignment=16, comment="demo"))
    (tmp_path / "demo_model_data.c").write_text(render_source(data, **options))
    result = subprocess.run([*command, "demo_model_data.c", "-o", "demo.o"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
