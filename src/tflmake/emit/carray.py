"""Model bytes -> an aligned C array in TFLite Micro's conventions (pure, no TensorFlow)."""

from __future__ import annotations

import re

import numpy as np

BYTES_PER_LINE = 12
_INDENT = b"  "
# "00".."ff" as 256 native uint16s, so formatting is one gather and one strided store.
_HEX_PAIRS = np.frombuffer(
    b"".join(f"{value:02x}".encode() for value in range(256)), dtype=np.uint16)
# One full line, "  0x00, 0x00, ... 0x00,\n"; only the two hex digits of each cell change.
_LINE_TEMPLATE = np.frombuffer(
    (_INDENT + b"0x00, " * BYTES_PER_LINE)[:-1] + b"\n", dtype=np.uint8)
_CELL = 6  # len("0x00, "); the digits of cell k start at byte 4 + 6k, an even offset

ALIGN_MACRO = """\
#if defined(__cplusplus) && __cplusplus >= 201103L
#define TFLMAKE_ALIGNED(n) alignas(n)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define TFLMAKE_ALIGNED(n) _Alignas(n)
#elif defined(__GNUC__) || defined(__clang__)
#define TFLMAKE_ALIGNED(n) __attribute__((aligned(n)))
#elif defined(_MSC_VER)
#define TFLMAKE_ALIGNED(n) __declspec(align(n))
#else
#error "tflmake: no way to align the model array with this compiler"
#endif"""


def include_guard(file_name: str) -> str:
    """`g_digits_int8_model_data.h` -> `TFLMAKE_G_DIGITS_INT8_MODEL_DATA_H_`.

    Callers pass a name built from the C symbol, not the real file name: every
    variant's header is `<variant>_model_data.h`, and two models' must not share a guard.
    """
    return "TFLMAKE_" + re.sub(r"[^A-Za-z0-9]", "_", file_name).upper() + "_"


def format_bytes(data: bytes) -> str:
    """Bytes as `0x..,` initialiser lines, BYTES_PER_LINE a line, indented.

    Vectorised for 16 MB models: every line starts as a copy of one template,
    then each cell's two hex digits are stored through a strided uint16 view.
    """
    values = np.frombuffer(data, dtype=np.uint8)
    full_lines, short = divmod(len(values), BYTES_PER_LINE)
    out = np.empty((full_lines, len(_LINE_TEMPLATE)), dtype=np.uint8)
    out[:] = _LINE_TEMPLATE
    digits = out.view(np.uint16)[:, (len(_INDENT) + 2) // 2::_CELL // 2]
    grid = values[: full_lines * BYTES_PER_LINE].reshape(full_lines, BYTES_PER_LINE)
    digits[:] = _HEX_PAIRS[grid]
    text = str(out.data, "ascii")
    if short:
        text += "  " + ", ".join(f"0x{value:02x}" for value in data[-short:]) + ",\n"
    return text


SECTION_MACRO = """\
#if defined(__GNUC__) || defined(__clang__)
#define TFLMAKE_SECTION(name) __attribute__((section(name)))
#else
#error "tflmake: [c_array] section needs a compiler with GCC's section attribute"
#endif"""


def render_array(data: bytes, *, symbol: str, alignment: int, section: str | None) -> str:
    """The aligned array definition and its length, plus the macros they use.

    The section attribute goes after the declarator, the one place both C and
    C++ (where `alignas` must come first) accept it.
    """
    placement = f' TFLMAKE_SECTION("{section}")' if section else ""
    macros = f"{ALIGN_MACRO}\n{SECTION_MACRO}" if section else ALIGN_MACRO
    return (
        f"{macros}\n\n"
        f"TFLMAKE_ALIGNED({alignment}) const unsigned char {symbol}[]{placement} = {{\n"
        f"{format_bytes(data)}}};\n"
        f"const unsigned int {symbol}_len = {len(data)}u;\n"
    )
