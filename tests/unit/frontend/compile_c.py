"""Compile a generated front end with a test main and run it on raw samples (shared by the front-end tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1"]
CORTEX_M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c99",
                   "-Wall", "-Wextra", "-Werror", "-c"]

MAIN = """\
#include <stdio.h>
#include "{prefix}_frontend.h"

int main(int argc, char **argv) {{
  static {prefix}_frontend_raw_t raw[{p}_RAW_ELEMENTS];
  static {prefix}_frontend_output_t out[{p}_OUTPUT_ELEMENTS];
  FILE *in, *result;
  if (argc != 3) {{
    return 2;
  }}
  in = fopen(argv[1], "rb");
  result = fopen(argv[2], "wb");
  if (in == NULL || result == NULL) {{
    return 3;
  }}
  while (fread(raw, sizeof raw, 1, in) == 1) {{
    if ({prefix}_frontend(raw, out) != 0) {{
      return 4;
    }}
    fwrite(out, sizeof out, 1, result);
  }}
  fclose(in);
  fclose(result);
  return 0;
}}
"""


def write_sources(folder: Path, prefix: str, header: str, source: str) -> Path:
    """The header and source as `<prefix>_frontend.h/.c` in `folder`; the .c path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{prefix}_frontend.h").write_text(header)
    path = folder / f"{prefix}_frontend.c"
    path.write_text(source)
    return path


def run_host(gcc: str, folder: Path, prefix: str, header: str, source: str, raw: np.ndarray,
             out_dtype: np.dtype) -> np.ndarray:
    """Outputs of the front end compiled for the host, one row per raw sample (raw is batch first)."""
    c_file = write_sources(folder, prefix, header, source)
    main = folder / "main.c"
    main.write_text(MAIN.format(prefix=prefix, p=f"{prefix.upper()}_FRONTEND"))
    program = folder / "frontend"
    subprocess.run([gcc, *HOST_FLAGS, "-o", str(program), str(c_file), str(main), "-lm"], check=True,
                   capture_output=True, text=True)
    (folder / "raw.bin").write_bytes(np.ascontiguousarray(raw).tobytes())
    subprocess.run([str(program), str(folder / "raw.bin"), str(folder / "out.bin")], check=True)
    return np.frombuffer((folder / "out.bin").read_bytes(), dtype=out_dtype).reshape(len(raw), -1)


def compile_cortex_m4(gcc: str, folder: Path, prefix: str, header: str, source: str) -> Path:
    """The front end compiled (not linked) for a Cortex-M4 with its FPU; the object file."""
    c_file = write_sources(folder, prefix, header, source)
    obj = folder / f"{prefix}_frontend.o"
    subprocess.run([gcc, *CORTEX_M4_FLAGS, "-o", str(obj), str(c_file)], check=True, capture_output=True,
                   text=True)
    return obj
