"""The shipped Keras layer catalog is what the installed Keras says (regenerate it on a Keras upgrade)."""

from __future__ import annotations

import pytest

from tflmake.spec import layercatalog


def test_shipped_catalog_equals_one_generated_from_the_installed_keras() -> None:
    """`python -m tflmake.spec.layercatalog` on this Keras writes exactly the committed file."""
    pytest.importorskip("keras")
    generated = layercatalog.generate()
    shipped = layercatalog.catalog()
    if generated["keras"] != shipped["keras"]:
        pytest.skip(f"the catalog was made with keras {shipped['keras']}, this is {generated['keras']}: "
                    "regenerate it with `python -m tflmake.spec.layercatalog`")
    assert generated == shipped

