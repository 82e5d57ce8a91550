"""Key paths of spec problems map to the line of the spec file they are on."""

from __future__ import annotations

import pytest

from tests.support import SPECS
from tflmake.spec.keylines import line_of

MLP = (SPECS / "digits_mlp.toml").read_text()


def line(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the `occurrence`-th line containing `needle`."""
    found = [number for number, content in enumerate(text.splitlines(), start=1) if needle in content]
    return found[occurrence - 1]


@pytest.mark.parametrize(("key", "needle", "occurrence"), [
    ("dataset.seed", "seed = 0", 1),
    ("train.epochs", "epochs = 5", 1),
    ("variant[1].quantize", 'quantize = "dynamic"', 1),
    ("variant[3].io_type", "io_type", 1),
    ("variant[4]", "[[variant]]", 5),
    ("variant[4].gates.min_accuracy", "[[variant]]", 5),  # not spelled out: its table's header
    ("model.source.layers[2].units", "units = 10", 1),
    ("model.source.layers[1].type", "units = 128", 1),
])
def test_key_paths_find_their_lines(key: str, needle: str, occurrence: int) -> None:
    """Tables, [[arrays]], dotted keys and inline tables inside arrays each map to their own line."""
    assert line_of(MLP, key) == line(MLP, needle, occurrence)


def test_keys_outside_the_text_have_no_line() -> None:
    """A problem about the whole document (or a table the file does not have) has no line."""
    assert line_of(MLP, "(top level)") is None
    assert line_of(MLP, "c_array.symbol") is None


def test_comments_and_strings_do_not_confuse_it() -> None:
    """A "#" or "[" inside a string or comment does not open tables or items."""
    text = 'a = "x # [not] {a table}"  # [b]\n[c]\nd = [ { e = "}" }, # {\n { f = 1 } ]\ng = 2\n'
    assert [line_of(text, k) for k in ("a", "c", "c.d[0]", "c.d[1]", "c.g")] == [1, 2, 3, 4, 5]
