"""The bad-spec corpus: every malformed spec fails with exactly the messages written in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tflmake.errors import SpecError
from tflmake.spec.load import load_spec

CORPUS = Path(__file__).resolve().parents[2] / "data" / "bad_specs"
SPEC_TIME = sorted(CORPUS.glob("*.toml"))


def expected_lines(path: Path) -> list[str]:
    return re.findall(r"^# expect: (.*)$", path.read_text(), flags=re.MULTILINE)


def test_corpus_is_large_enough() -> None:
    """The README promises at least 30 malformed specs; each states what it expects."""
    build_time = sorted((CORPUS / "build_time").glob("*.toml"))
    assert len(SPEC_TIME) + len(build_time) >= 30
    assert all(expected_lines(path) for path in [*SPEC_TIME, *build_time])


@pytest.mark.parametrize("path", SPEC_TIME, ids=[p.stem for p in SPEC_TIME])
def test_spec_fails_with_its_messages(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """load_spec raises SpecError listing exactly the expected problems, in order."""
    monkeypatch.chdir(CORPUS)
    with pytest.raises(SpecError) as caught:
        load_spec(path.name)
    assert caught.value.problems == expected_lines(path)
    assert str(caught.value).startswith(f"{path.name}: ")
