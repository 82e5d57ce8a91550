"""The harness that compiles a C front end and runs it over raw samples, and its Cortex-M4 size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support import require_tool
from tflmake.errors import BuildError
from tflmake.frontend import harness

HEADER = """\
#include <stdint.h>
#define DOUBLER_FRONTEND_RAW_ELEMENTS 3
#define DOUBLER_FRONTEND_OUTPUT_ELEMENTS 3
typedef int16_t doubler_frontend_raw_t;
typedef int8_t doubler_frontend_output_t;
int doubler_frontend(const doubler_frontend_raw_t raw[DOUBLER_FRONTEND_RAW_ELEMENTS],
                     doubler_frontend_output_t out[DOUBLER_FRONTEND_OUTPUT_ELEMENTS]);
"""
SOURCE = """\
#include "doubler_frontend.h"
int8_t doubler_last[DOUBLER_FRONTEND_OUTPUT_ELEMENTS]; /* external: stays in .bss */
int doubler_frontend(const doubler_frontend_raw_t raw[DOUBLER_FRONTEND_RAW_ELEMENTS],
                     doubler_frontend_output_t out[DOUBLER_FRONTEND_OUTPUT_ELEMENTS]) {
  int i;
  for (i = 0; i < DOUBLER_FRONTEND_RAW_ELEMENTS; i++) {
    if (raw[i] > 63) return 1;
    doubler_last[i] = (int8_t)(2 * raw[i]);
    out[i] = doubler_last[i];
  }
  return 0;
}
"""


@pytest.fixture
def doubler(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "doubler_frontend.h").write_text(HEADER)
    (tmp_path / "doubler_frontend.c").write_text(SOURCE)
    return str(tmp_path / "doubler_frontend.h"), str(tmp_path / "doubler_frontend.c")


def test_host_run_gives_one_output_row_per_raw_sample(doubler: tuple[str, str]) -> None:
    """Every raw record goes through the C function once, in order."""
    compiler = require_tool("gcc")
    raw = np.array([[1, 2, 3], [-4, 5, 60]], np.int16)
    outputs = harness.run_on_host(compiler, "doubler", *doubler, raw, np.dtype("int8"))
    assert outputs.tolist() == [[2, 4, 6], [-8, 10, 120]]


def test_a_failing_front_end_call_is_a_build_error(doubler: tuple[str, str]) -> None:
    """A non-zero return from the C function stops the measurement with a message naming the source."""
    compiler = require_tool("gcc")
    with pytest.raises(BuildError, match="doubler_frontend.c failed"):
        harness.run_on_host(compiler, "doubler", *doubler, np.array([[100, 0, 0]], np.int16), np.dtype("int8"))


def test_cortex_m4_size_counts_flash_and_static_ram(doubler: tuple[str, str]) -> None:
    """arm-none-eabi-size's text+data is flash and data+bss is RAM (the 3-byte buffer at least)."""
    require_tool("arm-none-eabi-gcc")
    size = harness.cortex_m4_size(doubler[1], doubler[0])
    assert size is not None and size.flash_bytes > 0 and size.ram_bytes >= 3
    assert "cortex-m4" in size.compiler
