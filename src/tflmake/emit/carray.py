"""Model bytes -> an aligned C array in TFLite Micro's conventions (pure, no TensorFlow)."""

from __future__ import annotations

import re

import numpy as np

BYTES_PER_LINE = 12
_INDENT = b"  "
# "0x00, " ... "0xff, " as a (256, 6) table, so formatting is one numpy gather.
_HEX_TABLE = np.frombuffer(
    b"".join(f"0x{value:02x}, ".encode() for value in range(256)), dtype=np.uint8
).reshape(256, 6)

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


def include_guard(name: str) -> str:
    """`g_digits_int8_model_data` -> `TFLMAKE_G_DIGITS_INT8_MODEL_DATA_H_`.

    Built from the C symbol, not the file name: every variant's header is called
    `<variant>_model_data.h`, and two models' headers must not share a guard.
    """
    return "TFLMAKE_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "_H_"


def format_bytes(data: bytes) -> str:
    """Bytes as `0x..,` initialiser lines, BYTES_PER_LINE a line, indented."""
    if not data:
        return ""
    cells = _HEX_TABLE[np.frombuffer(data, dtype=np.uint8)]
    full_lines = len(data) // BYTES_PER_LINE
    body = cells[: full_lines * BYTES_PER_LINE].reshape(full_lines, BYTES_PER_LINE * 6)
    indent = np.broadcast_to(np.frombuffer(_INDENT, np.uint8), (full_lines, len(_INDENT)))
    newline = np.full((full_lines, 1), ord("\n"), dtype=np.uint8)
    # Each line ends "0x.., \n"; drop the trailing space before the newline.
    lines = np.hstack([indent, body[:, :-1], newline]).tobytes()
    rest = cells[full_lines * BYTES_PER_LINE:].tobytes()
    if rest:
        lines += _INDENT + rest[:-1] + b"\n"
    return lines.decode("ascii")


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
