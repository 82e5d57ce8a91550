"""A generated bundle's C text under other names: the selected variant's files under stable ones. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping


def model_renames(symbol: str, new_symbol: str, stem: str, new_stem: str) -> dict[str, str]:
    """The names of a bundle's model data and op resolver: its symbol in both cases (macros, header
    guards) and the included header's name `<stem>_model_data.h` (stem: `<model>_<variant>`)."""
    renames = {symbol: new_symbol, symbol.upper(): new_symbol.upper()}
    # Longer than the symbol when the symbol is the header's stem ("{model}_{variant}_model_data").
    renames |= {stem + suffix: new_stem + suffix for suffix in ("_model_data.h", "_op_resolver.h")}
    return renames


def front_end_renames(stem: str, new_stem: str) -> dict[str, str]:
    """The names of a bundle's C front end: everything in it starts with its prefix `<model>_<variant>`."""
    return {stem: new_stem, stem.upper(): new_stem.upper()}


def rename(text: str, renames: Mapping[str, str]) -> str:
    """`text` with each name in `renames` replaced where it starts a name (after `_` too, for guards
    such as TFLMAKE_<SYMBOL>_H_), in one pass: the longest name wins, nothing is renamed twice."""
    names = sorted(renames, key=len, reverse=True)
    pattern = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(name) for name in names) + ")")
    return pattern.sub(lambda match: renames[match.group(0)], text)
