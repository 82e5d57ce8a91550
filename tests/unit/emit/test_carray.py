"""C array text: exact bytes in TFLite Micro's layout (compilation is tested with the firmware bundle)."""

from __future__ import annotations

import os
import re

import pytest

from tflmake.emit.carray import format_bytes, include_guard


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
