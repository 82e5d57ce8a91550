"""`<variant>_model_data.h/.c`: the model array plus what firmware needs to use it (pure text).

Every C name derives from the model array's symbol `s`, so bundles of several
models link into one firmware: data `s`, `s_len`, `s_labels`, `s_golden_input0`;
macros `S_LEN`, `S_SHA256`, `S_ARENA_BYTES`, `S_INPUT0_SCALE`, `S_INPUT0_RAW_SCALE`; types
`s_input0_t`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tflmake.emit.carray import include_guard, render_array
from tflmake.emit.modelcrypto import model_array, model_declarations, model_definitions
from tflmake.keys import Sealed, Signature
from tflmake.tflite.modelinfo import TensorInfo

VALUES_PER_LINE = 12


@dataclass(frozen=True)
class Golden:
    """A self-test: one input per model input and the expected output per model output."""

    inputs: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]
    source: str
    # Which model's run gave the outputs, when it is not the bundle's own model (Vela's).
    ran_on: str = ""


@dataclass(frozen=True)
class Bundle:
    """Everything the C files of one variant say."""

    symbol: str
    header_name: str
    data: bytes
    sha256: str
    alignment: int
    section: str | None
    comment: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    arena_bytes_measured: int
    arena_bytes: int
    arena_margin: str
    labels: tuple[str, ...] | None = None
    golden: Golden | None = None
    # What the data set divided raw inputs by (dataset.scale); None without a data set.
    raw_scale: float | None = None
    # Every step from raw data to input 0, one line each (frontend.contract.describe).
    contract: tuple[str, ...] = ()
    # The golden sample as raw sensor data (what the C front end takes), when the data set has one.
    golden_raw: np.ndarray | None = None
    # Set when the host cannot run the bundle's model (an Ethos-U model): how the arena in
    # arena_bytes_measured was estimated instead; the header then says ESTIMATED.
    arena_estimate: str | None = None
    # The model's signature (TFLMAKE_SIGNING_KEY set) and its AES-GCM encryption (encrypt = true).
    signature: Signature | None = None
    sealed: Sealed | None = None

    @property
    def prefix(self) -> str:
        return self.symbol.upper()


def c_float(value: float) -> str:
    """A float literal that round-trips float32 (`0.00392156886f`)."""
    if not math.isfinite(value):
        raise ValueError(f"{value} has no C float literal")
    text = f"{float(np.float32(value)):.9g}"
    return f"{text}f" if any(c in text for c in ".e") else f"{text}.0f"


def c_string(text: str) -> str:
    """A C string literal of `text` as UTF-8; `?` escaped so no trigraph can form."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\?':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def c_values(array: np.ndarray) -> str:
    """Array elements as initialiser lines, VALUES_PER_LINE a line, indented."""
    flat = array.ravel()
    if flat.dtype.kind == "f":
        cells = [c_float(v) for v in flat.tolist()]
    else:
        cells = [str(int(v)) for v in flat.tolist()]
    lines = [", ".join(cells[i:i + VALUES_PER_LINE])
             for i in range(0, len(cells), VALUES_PER_LINE)]
    return "".join(f"  {line},\n" for line in lines)


def _tensor_macros(bundle: Bundle, role: str, index: int, tensor: TensorInfo) -> str:
    name = f"{bundle.prefix}_{role.upper()}{index}"
    shape = ", ".join(str(d) for d in tensor.shape)
    lines = [
        f'/* {role.capitalize()} {index} "{_comment_safe(tensor.name)}": {tensor.type.lower()} '
        f"[{shape}]"
        + (", real = (q - ZERO_POINT) * SCALE" if tensor.quantized else "") + " */",
        f"typedef {tensor.c_type} {bundle.symbol}_{role}{index}_t;",
        f"#define {name}_RANK {len(tensor.shape)}",
        f"#define {name}_SHAPE {{{shape}}}",
        f"#define {name}_ELEMENTS {tensor.elements}",
        f"#define {name}_QUANTIZED {int(tensor.quantized)}",
    ]
    if tensor.quantized:
        assert tensor.scale is not None and tensor.zero_point is not None
        lines += [f"#define {name}_SCALE {c_float(tensor.scale)}",
                  f"#define {name}_ZERO_POINT ({tensor.zero_point})"]
    if role == "input" and index == 0 and bundle.contract:
        steps = "".join(f"\n *   {_comment_safe(line)}" for line in bundle.contract)
        lines.append(f"/* Input contract: every step from raw data to this tensor, as training did it:{steps} */")
    if role == "input" and index == 0 and bundle.raw_scale is not None:
        lines += ["/* The data set's preprocessing (dataset.scale): the model was trained on raw / RAW_SCALE,"
                  + ("\n * so q = round(raw / RAW_SCALE / SCALE) + ZERO_POINT. */" if tensor.quantized
                     else "\n * so feed raw / RAW_SCALE. */"),
                  f"#define {name}_RAW_SCALE {c_float(bundle.raw_scale)}"]
    return "\n".join(lines) + "\n"


def _comment_safe(text: str) -> str:
    return text.replace("*/", "* /").encode("ascii", "replace").decode("ascii")


def render_header(bundle: Bundle) -> str:
    """The header: macros, element types and extern declarations usable from C and C++."""
    guard = include_guard(f"{bundle.symbol}.h")
    p, s = bundle.prefix, bundle.symbol
    model_array = "" if bundle.sealed else f"extern const unsigned char {s}[];\n"
    sections = [
        f"""\
/* The model: {len(bundle.data)} bytes, aligned to {bundle.alignment} as TFLite Micro requires. */
#define {p}_LEN {len(bundle.data)}u
#define {p}_ALIGNMENT {bundle.alignment}u
#define {p}_SHA256 "{bundle.sha256}"
{model_array}extern const unsigned int {s}_len;
""",
        *([model_declarations(s, len(bundle.data), bundle.signature, bundle.sealed)]
          if bundle.signature or bundle.sealed else []),
        _arena_macros(bundle),
        f"#define {p}_INPUT_COUNT {len(bundle.inputs)}\n#define {p}_OUTPUT_COUNT "
        f"{len(bundle.outputs)}\n",
        *(_tensor_macros(bundle, "input", i, t) for i, t in enumerate(bundle.inputs)),
        *(_tensor_macros(bundle, "output", i, t) for i, t in enumerate(bundle.outputs)),
    ]
    if bundle.labels is not None:
        sections.append(f"/* Class labels; label i names output element i. */\n"
                        f"#define {p}_LABEL_COUNT {len(bundle.labels)}\n"
                        f"extern const char *const {s}_labels[{p}_LABEL_COUNT];\n")
    if bundle.golden is not None:
        sections.append(_golden_declarations(bundle, bundle.golden))
    return f"""\
/* {bundle.comment}
 * Generated by tflmake; do not edit. */
#ifndef {guard}
#define {guard}

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

{chr(10).join(sections)}
#ifdef __cplusplus
}}
#endif

#endif /* {guard} */
"""


def _arena_macros(bundle: Bundle) -> str:
    p = bundle.prefix
    if bundle.arena_estimate is not None:
        return f"""\
/* Tensor arena. ESTIMATED: {bundle.arena_estimate}.
 * ARENA_BYTES: that plus {bundle.arena_margin}.
 * Declare the arena with ARENA_BYTES, aligned to 16. */
#define {p}_ARENA_BYTES_ESTIMATED {bundle.arena_bytes_measured}u
#define {p}_ARENA_BYTES {bundle.arena_bytes}u
"""
    return f"""\
/* Tensor arena. MEASURED: the smallest arena tflite-micro's interpreter allocated
 * and ran the model in (64-bit host, reference kernels). ARENA_BYTES: that plus
 * {bundle.arena_margin}.
 * Declare the arena with ARENA_BYTES, aligned to 16. */
#define {p}_ARENA_BYTES_MEASURED {bundle.arena_bytes_measured}u
#define {p}_ARENA_BYTES {bundle.arena_bytes}u
"""


def _golden_declarations(bundle: Bundle, golden: Golden) -> str:
    p, s = bundle.prefix, bundle.symbol
    ran_on = f"\n * {golden.ran_on}" if golden.ran_on else ""
    lines = [f"/* Golden test vector: {golden.source} as the model's input,\n"
             " * and the output tflite-micro's interpreter gave for it. Copy the inputs in,\n"
             f" * invoke, compare (integer outputs match bit for bit, float to about 1e-5).{ran_on} */",
             f"#define {p}_HAS_GOLDEN 1"]
    lines += [f"extern const {s}_input{i}_t {s}_golden_input{i}[{p}_INPUT{i}_ELEMENTS];"
              for i in range(len(golden.inputs))]
    if bundle.golden_raw is not None:
        lines += ["/* The same sample as raw data: the C front end (<model>_<variant>_frontend.h) turns",
                  " * golden_raw into golden_input0 (each element within 1 of it), so a self-test",
                  " * can start at the sensor. */",
                  f"#define {p}_GOLDEN_RAW_ELEMENTS {bundle.golden_raw.size}",
                  f"extern const {_c_type(bundle.golden_raw)} {s}_golden_raw[{p}_GOLDEN_RAW_ELEMENTS];"]
    lines += [f"extern const {s}_output{i}_t {s}_golden_output{i}[{p}_OUTPUT{i}_ELEMENTS];"
              for i in range(len(golden.outputs))]
    return "\n".join(lines) + "\n"


def render_source(bundle: Bundle) -> str:
    """The source file defining the array, its length, the labels and the golden vectors."""
    parts = [
        f"/* {bundle.comment}\n * Generated by tflmake; do not edit. */\n"
        f'#include "{bundle.header_name}"\n',
        render_array(bundle.data, symbol=bundle.symbol, alignment=bundle.alignment, section=bundle.section)
        if bundle.sealed is None else
        model_array(bundle.symbol, len(bundle.data), bundle.sealed, alignment=bundle.alignment,
                    section=bundle.section),
    ]
    s, p = bundle.symbol, bundle.prefix
    if bundle.signature or bundle.sealed:
        parts.append(model_definitions(s, bundle.signature, bundle.sealed))
    if bundle.labels is not None:
        cells = "".join(f"  {c_string(label)},\n" for label in bundle.labels)
        parts.append(f"const char *const {s}_labels[{p}_LABEL_COUNT] = {{\n{cells}}};\n")
    if bundle.golden is not None:
        for role, values in (("input", bundle.golden.inputs), ("output", bundle.golden.outputs)):
            for i, value in enumerate(values):
                parts.append(f"const {s}_{role}{i}_t {s}_golden_{role}{i}"
                             f"[{p}_{role.upper()}{i}_ELEMENTS] = {{\n{c_values(value)}}};\n")
        if bundle.golden_raw is not None:
            parts.append(f"const {_c_type(bundle.golden_raw)} {s}_golden_raw[{p}_GOLDEN_RAW_ELEMENTS] = "
                         f"{{\n{c_values(bundle.golden_raw)}}};\n")
    return "\n".join(parts)


def _c_type(values: np.ndarray) -> str:
    """The C element type of a raw sample: the front ends take int16 PCM, uint8 pixels or float readings."""
    return {"int16": "int16_t", "uint8": "uint8_t", "float32": "float"}[values.dtype.name]
