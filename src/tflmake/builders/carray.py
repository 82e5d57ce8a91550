"""Build `<variant>_model_data.h/.c`: the .tflite bytes as a TFLite Micro C array."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tflmake import atomic
from tflmake.emit.carray import render_header, render_source
from tflmake.paths import Layout
from tflmake.spec import ModelSpec


def symbol_name(model: str, variant: str) -> str:
    """`g_<model>_<variant>_model_data`: unique when several models link into one firmware."""
    return f"g_{model}_{variant}_model_data"


def build(spec: ModelSpec, layout: Layout, variant_name: str) -> None:
    variant = spec.variant(variant_name)
    data = Path(layout.tflite(spec.name, variant.name)).read_bytes()
    header_path = layout.carray_header(spec.name, variant.name)
    header_name = Path(header_path).name
    symbol = symbol_name(spec.name, variant.name)
    alignment = spec.c_array["alignment"]
    comment = (f"{spec.name}/{variant.name} (quantize = {variant.quantize}), {len(data)} bytes, "
               f"sha256 {hashlib.sha256(data).hexdigest()}")
    atomic.write_text(header_path, render_header(
        symbol=symbol, header_name=header_name, length=len(data), alignment=alignment,
        comment=comment))
    atomic.write_text(layout.carray_source(spec.name, variant.name), render_source(
        data, symbol=symbol, header_name=header_name, alignment=alignment, comment=comment))
