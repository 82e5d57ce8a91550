"""Compile a generated C front end and run it: on this machine over raw samples, and for Cortex-M4 for its size.

Every front end has the same C API (`<prefix>_frontend(raw, out)` and its
`<PREFIX>_FRONTEND_RAW_ELEMENTS`/`_OUTPUT_ELEMENTS` macros), so one harness
drives them all: it reads raw records from a file and writes the outputs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tflmake.errors import BuildError

CORTEX_M4 = ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
             "-std=c99", "-Os", "-Wall", "-Wextra", "-c"]
HOST_FLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra"]


@dataclass(frozen=True)
class TargetSize:
    """What the front end's object file takes on a target (arm-none-eabi-size)."""

    compiler: str
    flash_bytes: int  # .text + .data
    ram_bytes: int  # .data + .bss


def host_compiler() -> str | None:
    """The host C compiler ($CC, else cc), or None when there is none."""
    return shutil.which(os.environ.get("CC", "cc"))


def render_harness(prefix: str, header_name: str) -> str:
    """A host program: argv[1] raw records in, argv[2] front-end outputs out, exit 3 on a failed call."""
    p = prefix.upper()
    return f"""\
#include <stdio.h>
#include "{header_name}"

int main(int argc, char **argv) {{
  static {prefix}_frontend_raw_t raw[{p}_FRONTEND_RAW_ELEMENTS];
  static {prefix}_frontend_output_t out[{p}_FRONTEND_OUTPUT_ELEMENTS];
  FILE *in, *sink;
  int status = 0;
  if (argc != 3 || !(in = fopen(argv[1], "rb")) || !(sink = fopen(argv[2], "wb"))) return 2;
  while (fread(raw, sizeof raw[0], {p}_FRONTEND_RAW_ELEMENTS, in) == {p}_FRONTEND_RAW_ELEMENTS) {{
    if ({prefix}_frontend(raw, out) != 0) {{ status = 3; break; }}
    fwrite(out, sizeof out[0], {p}_FRONTEND_OUTPUT_ELEMENTS, sink);
  }}
  fclose(in);
  return fclose(sink) == 0 ? status : 2;
}}
"""


def run_on_host(compiler: str, prefix: str, header: str, source: str, raw: np.ndarray,
                output_dtype: np.dtype) -> np.ndarray:
    """The front end's outputs for every raw sample (batch first), compiled and run on this machine."""
    with tempfile.TemporaryDirectory(prefix="tflmake-frontend-") as work:
        folder = Path(work)
        shutil.copy(header, folder / Path(header).name)
        shutil.copy(source, folder / Path(source).name)
        (folder / "harness.c").write_text(render_harness(prefix, Path(header).name))
        _run([compiler, *HOST_FLAGS, "-o", "harness", "harness.c", Path(source).name, "-lm"], folder,
             f"{compiler} could not compile {source}")
        np.ascontiguousarray(raw).tofile(folder / "raw.bin")
        _run(["./harness", "raw.bin", "out.bin"], folder, f"the C front end {source} failed on the test split")
        outputs = np.fromfile(folder / "out.bin", dtype=output_dtype)
    if outputs.size % len(raw):
        raise BuildError(f"{source}: the front end wrote {outputs.size} values for {len(raw)} samples")
    return outputs.reshape(len(raw), -1)


def cortex_m4_size(source: str, header: str) -> TargetSize | None:
    """Flash and RAM of the front end built for Cortex-M4 (hard float); None without arm-none-eabi-gcc."""
    compiler, size_tool = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-size")
    if compiler is None or size_tool is None:
        return None
    with tempfile.TemporaryDirectory(prefix="tflmake-frontend-m4-") as work:
        folder = Path(work)
        shutil.copy(header, folder / Path(header).name)
        shutil.copy(source, folder / Path(source).name)
        _run([*CORTEX_M4, Path(source).name, "-o", "frontend.o"], folder,
             f"arm-none-eabi-gcc could not compile {source} for Cortex-M4")
        sizes = _run([size_tool, "frontend.o"], folder, "arm-none-eabi-size failed")
    text, data, bss = (int(value) for value in sizes.splitlines()[1].split()[:3])
    return TargetSize(" ".join(CORTEX_M4[:5]), text + data, data + bss)


def _run(command: list[str], folder: Path, failure: str) -> str:
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        raise BuildError(f"{failure} (exit {result.returncode}): {(result.stderr or result.stdout).strip()[:2000]}")
    return result.stdout
