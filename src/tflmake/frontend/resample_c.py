"""The C port of frontend.resample: Pillow's fixed-point passes with their weights as const tables.

The generated code runs the same integer arithmetic as resample.convolve (and so as
Pillow's Resample.c) over tables resample.taps computed, so it is exact, not close.
It works one output row at a time: horizontal first keeps the last few resized rows
the vertical pass needs in a ring of static rows; vertical first resizes one row into
a static line, then that line horizontally. The last pass maps each byte through
`<prefix>_frontend_table`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tflmake.emit.firmware import c_values
from tflmake.frontend import resample


@dataclass(frozen=True)
class Pass:
    """One pass over the image: along `axis` ("rows" resizes the height, "columns" the width)."""

    axis: str
    in_size: int
    out_size: int
    table: resample.Taps


def passes(frame: tuple[int, int], size: tuple[int, int], interpolation: str,
           first_vertical: bool) -> list[Pass]:
    """The convolution passes Pillow runs, in its order; none for a dimension that keeps its size."""
    found = [Pass("columns", frame[1], size[1], resample.taps(frame[1], size[1], interpolation)),
             Pass("rows", frame[0], size[0], resample.taps(frame[0], size[0], interpolation))]
    ordered = found[::-1] if first_vertical else found
    return [step for step in ordered if step.in_size != step.out_size]


def tables(prefix: str, steps: list[Pass]) -> str:
    """Each pass's first source index, tap count and fixed-point weights per output line."""
    parts = []
    for step in steps:
        name = f"{prefix}_frontend_{step.axis}"
        taps = step.table.weights.shape[1]
        parts.append(
            f"/* {step.axis}: {step.in_size} -> {step.out_size}; output i sums source first[i] .. "
            f"first[i] + count[i] - 1 times weights[i][k] / 2^{resample.PRECISION_BITS}. */\n"
            f"#define {name.upper()}_TAPS {taps}\n"
            f"static const int32_t {name}_first[{step.out_size}] = {{\n{c_values(step.table.first)}}};\n"
            f"static const int32_t {name}_count[{step.out_size}] = {{\n{c_values(step.table.count)}}};\n"
            f"static const int32_t {name}_weights[{step.out_size * taps}] = {{\n"
            f"{c_values(step.table.weights)}}};\n")
    return "\n".join(parts)


def helpers(prefix: str, premultiplied: bool) -> str:
    """clip8 and, for premultiplied RGBA, Pillow's MULDIV255 and its inverse."""
    text = f"""\
/* Pillow's clip8: the sum has {resample.PRECISION_BITS} fraction bits and a half added. */
static uint8_t {prefix}_frontend_clip8(int32_t sum) {{
  if (sum < 0) {{
    return 0;
  }}
  sum >>= {resample.PRECISION_BITS};
  return (uint8_t)(sum > 255 ? 255 : sum);
}}
"""
    if premultiplied:
        text += f"""
/* RGBA -> RGBa as Pillow converts before resizing: colour * alpha / 255, rounded its way. */
static uint8_t {prefix}_frontend_premultiplied(const uint8_t *pixel, int channel) {{
  uint32_t t;
  if (channel == 3) {{
    return pixel[3];
  }}
  t = (uint32_t)pixel[channel] * pixel[3] + 128u;
  return (uint8_t)(((t >> 8) + t) >> 8);
}}

/* RGBa -> RGBA after resizing: colour * 255 / alpha, unless alpha is 0 or 255. */
static void {prefix}_frontend_unpremultiply(uint8_t *pixel) {{
  int c;
  uint32_t alpha = pixel[3];
  if (alpha == 0u || alpha == 255u) {{
    return;
  }}
  for (c = 0; c < 3; ++c) {{
    uint32_t value = 255u * pixel[c] / alpha;
    pixel[c] = (uint8_t)(value > 255u ? 255u : value);
  }}
}}
"""
    return text


def _store(prefix: str, final: bool, unpremultiply: bool, channels: int) -> tuple[str, str]:
    """(the output element type, the statements that store `pixel` at `target`)."""
    out_type = f"{prefix}_frontend_output_t" if final else "uint8_t"
    restore = f"    {prefix}_frontend_unpremultiply(pixel);\n" if unpremultiply else ""
    value = f"{prefix}_frontend_table[pixel[c]]" if final else "pixel[c]"
    return out_type, f"{restore}    for (c = 0; c < {channels}; ++c) {{\n      target[c] = {value};\n    }}\n"


def columns_function(prefix: str, step: Pass, channels: int, load_premultiplied: bool, final: bool,
                     unpremultiply: bool) -> str:
    """`<prefix>_frontend_columns(source_row, out_row)`: one row resized to the output width."""
    name = f"{prefix}_frontend_columns"
    out_type, store = _store(prefix, final, unpremultiply, channels)
    load = f"{prefix}_frontend_premultiplied(source, c)" if load_premultiplied else "source[c]"
    return f"""\
static void {name}(const uint8_t *row, {out_type} *out) {{
  int32_t i, k;
  int c;
  for (i = 0; i < {step.out_size}; ++i) {{
    const int32_t *weights = &{name}_weights[i * {name.upper()}_TAPS];
    {out_type} *target = out + i * {channels};
    uint8_t pixel[{channels}];
    for (c = 0; c < {channels}; ++c) {{
      int32_t sum = (int32_t)1 << {resample.PRECISION_BITS - 1};
      for (k = 0; k < {name}_count[i]; ++k) {{
        const uint8_t *source = row + ({name}_first[i] + k) * {channels};
        sum += (int32_t){load} * weights[k];
      }}
      pixel[c] = {prefix}_frontend_clip8(sum);
    }}
{store}  }}
}}
"""


def rows_function(prefix: str, channels: int, load_premultiplied: bool, final: bool,
                  unpremultiply: bool) -> str:
    """`<prefix>_frontend_rows(rows, i, pixels, out_row)`: output row i from its source rows."""
    name = f"{prefix}_frontend_rows"
    out_type, store = _store(prefix, final, unpremultiply, channels)
    load = f"{prefix}_frontend_premultiplied(source, c)" if load_premultiplied else "source[c]"
    return f"""\
/* rows[k] points at source row {name}_first[i] + k (at the first pixel used). */
static void {name}(const uint8_t *const *rows, int32_t i, int32_t pixels, {out_type} *out) {{
  const int32_t *weights = &{name}_weights[i * {name.upper()}_TAPS];
  int32_t x, k;
  int c;
  for (x = 0; x < pixels; ++x) {{
    {out_type} *target = out + x * {channels};
    uint8_t pixel[{channels}];
    for (c = 0; c < {channels}; ++c) {{
      int32_t sum = (int32_t)1 << {resample.PRECISION_BITS - 1};
      for (k = 0; k < {name}_count[i]; ++k) {{
        const uint8_t *source = rows[k] + x * {channels};
        sum += (int32_t){load} * weights[k];
      }}
      pixel[c] = {prefix}_frontend_clip8(sum);
    }}
{store}  }}
}}
"""


def nearest_tables(prefix: str, frame: tuple[int, int], size: tuple[int, int]) -> str:
    """The source row of each output row and source column of each output column."""
    rows = resample.nearest_indices(frame[0], size[0])
    columns = resample.nearest_indices(frame[1], size[1])
    return (f"static const int32_t {prefix}_frontend_source_row[{size[0]}] = {{\n{c_values(rows)}}};\n"
            f"static const int32_t {prefix}_frontend_source_column[{size[1]}] = {{\n"
            f"{c_values(columns)}}};\n")


def used_lines(step: Pass) -> tuple[int, int]:
    """[first, last) source lines a pass reads: the first pass computes only these."""
    table = step.table
    return int(table.first[0]), int(np.max(table.first + table.count))
