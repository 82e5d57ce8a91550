"""The schema-validation cache: skips jsonschema for known-valid texts, never hides an error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tflmake.errors import SpecError
from tflmake.spec import load_spec
from tflmake.speccache import ValidSpecCache

REPO = Path(__file__).resolve().parents[2]
MLP = (REPO / "modelspecs" / "digits_mlp.toml").read_text()


def test_second_load_of_an_unchanged_project_does_not_import_jsonschema(tmp_path: Path) -> None:
    """With the cache written by a first load, task loading never imports jsonschema."""
    (tmp_path / "modelspecs").mkdir()
    (tmp_path / "modelspecs" / "digits_mlp.toml").write_text(MLP)
    code = ("import sys; from tflmake.graph import project_tasks; project_tasks();"
            "print('jsonschema' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert (first.stdout.strip(), second.stdout.strip()) == ("True", "False"), first.stderr + second.stderr


def test_an_edited_spec_is_validated_again(tmp_path: Path) -> None:
    """A cached digest covers one exact text: any edit goes through the schema again."""
    cache = ValidSpecCache(str(tmp_path / "cache.json"))
    spec = tmp_path / "digits_mlp.toml"
    spec.write_text(MLP)
    load_spec(spec, cache)
    assert MLP in cache
    spec.write_text(MLP.replace('quantize = "int16x8"', 'quantize = "int3"'))
    with pytest.raises(SpecError, match="variant\\[4\\].quantize"):
        load_spec(spec, cache)
    assert spec.read_text() not in cache


def test_cache_from_another_schema_is_ignored(tmp_path: Path) -> None:
    """Digests stored under a different schema do not count."""
    path = tmp_path / "cache.json"
    cache = ValidSpecCache(str(path))
    cache.add(MLP)
    cache.save()
    stored = json.loads(path.read_text())
    assert ValidSpecCache(str(path)).__contains__(MLP)
    path.write_text(json.dumps({**stored, "schema": "0" * 64}))
    assert MLP not in ValidSpecCache(str(path))


def test_unreadable_cache_means_validate_everything(tmp_path: Path) -> None:
    """A corrupt cache file is ignored, not an error."""
    path = tmp_path / "cache.json"
    path.write_text("{not json")
    assert MLP not in ValidSpecCache(str(path))
