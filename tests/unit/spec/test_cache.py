"""The spec cache: skips TOML parsing and jsonschema for known-valid texts, never hides an error."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tflmake.errors import SpecError
from tflmake.spec.cache import ValidSpecCache
from tflmake.spec.load import load_spec

REPO = Path(__file__).resolve().parents[3]
MLP = (REPO / "tests" / "data" / "specs" / "digits_mlp.toml").read_text()


def known(path: Path, text: str) -> bool:
    """Whether a fresh process would find `text` in the cache file at `path`."""
    return ValidSpecCache(str(path)).document(text) is not None


def test_second_load_of_an_unchanged_project_imports_neither_jsonschema_nor_tomllib(tmp_path: Path) -> None:
    """With the cache written by a first load, task loading neither validates nor parses TOML."""
    (tmp_path / "modelspecs").mkdir()
    (tmp_path / "modelspecs" / "digits_mlp.toml").write_text(MLP)
    code = ("import sys; from tflmake.graph.tasks import project_tasks; project_tasks();"
            "print('jsonschema' in sys.modules, 'tomllib' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert (first.stdout.strip(), second.stdout.strip()) == ("True True", "False False"), \
        first.stderr + second.stderr


def test_cached_document_is_the_parsed_toml(tmp_path: Path) -> None:
    """A fresh process gets back exactly what tomllib parsed, as a copy it may change."""
    path = tmp_path / "cache.json"
    cache = ValidSpecCache(str(path))
    cache.add(MLP, tomllib.loads(MLP))
    cache.save()
    reloaded = ValidSpecCache(str(path))
    document = reloaded.document(MLP)
    assert document == tomllib.loads(MLP)
    assert document is not None
    document["model"]["name"] = "changed"
    assert reloaded.document(MLP) == tomllib.loads(MLP)


def test_spec_with_a_toml_date_is_not_cached(tmp_path: Path) -> None:
    """A document JSON cannot hold (a TOML date) is validated every time instead of cached wrongly."""
    cache = ValidSpecCache(str(tmp_path / "cache.json"))
    text = MLP + "\n[evaluation_note]\nwhen = 2026-11-28\n"
    cache.add(text, tomllib.loads(text))
    assert cache.document(text) is None


def test_saved_cache_keeps_only_the_specs_of_this_run(tmp_path: Path) -> None:
    """Texts not looked up since the last load are dropped, so old edits do not pile up."""
    path = tmp_path / "cache.json"
    first = ValidSpecCache(str(path))
    old_text = MLP.replace("Tutorial MLP", "An older MLP")
    first.add(old_text, tomllib.loads(old_text))
    first.save()
    second = ValidSpecCache(str(path))
    second.add(MLP, tomllib.loads(MLP))
    second.save()
    assert known(path, MLP) and not known(path, old_text)


def test_an_edited_spec_is_validated_again(tmp_path: Path) -> None:
    """A cached digest covers one exact text: any edit goes through the schema again."""
    cache = ValidSpecCache(str(tmp_path / "cache.json"))
    spec = tmp_path / "digits_mlp.toml"
    spec.write_text(MLP)
    load_spec(spec, cache)
    assert cache.document(MLP) is not None
    spec.write_text(MLP.replace('quantize = "int16x8"', 'quantize = "int3"'))
    with pytest.raises(SpecError, match="variant\\[4\\].quantize"):
        load_spec(spec, cache)
    assert cache.document(spec.read_text()) is None


def test_cache_from_another_schema_is_ignored(tmp_path: Path) -> None:
    """Digests stored under a different schema do not count."""
    path = tmp_path / "cache.json"
    cache = ValidSpecCache(str(path))
    cache.add(MLP, tomllib.loads(MLP))
    cache.save()
    stored = json.loads(path.read_text())
    assert known(path, MLP)
    path.write_text(json.dumps({**stored, "schema": "0" * 64}))
    assert not known(path, MLP)


def test_unreadable_cache_means_validate_everything(tmp_path: Path) -> None:
    """A corrupt cache file is ignored, not an error."""
    path = tmp_path / "cache.json"
    path.write_text("{not json")
    assert not known(path, MLP)
