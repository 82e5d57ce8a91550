"""The starter spec of `tflmake new` explains every key and is valid as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import DODO_SHIM
from tflmake.commands.main import main
from tflmake.commands.new import new_spec, starter_spec
from tflmake.errors import TflmakeError
from tflmake.spec.load import load_spec
from tflmake.spec.schema import schema_problems, spec_schema


def schema_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            yield key
            yield from schema_keys(value)
        for value in node.values():
            if isinstance(value, dict | list):
                yield from schema_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from schema_keys(item)


def test_starter_spec_mentions_every_key_of_the_schema() -> None:
    """Each key the schema allows appears in the template as `key =` (maybe commented)."""
    text = starter_spec("demo")
    missing = {key for key in schema_keys(spec_schema()) if not re.search(rf"\b{key}\s*=|\[{key}\]", text)}
    missing -= {"model", "source", "dataset", "train", "representative", "c_array", "variant"}  # tables
    assert missing == set()


def test_starter_spec_is_valid_and_builds_float32_and_int8_offline() -> None:
    """The template passes the schema, trains on digits, and asks for float32 and int8."""
    document = tomllib.loads(starter_spec("demo"))
    assert schema_problems(document) == []
    assert document["dataset"]["type"] == "digits"
    assert [v["quantize"] for v in document["variant"]] == ["none", "int8"]


def test_new_spec_uses_the_file_name_as_model_name(tmp_path: Path) -> None:
    """The written spec loads, and its model is named after the file."""
    path = new_spec("demo", tmp_path / "modelspecs")
    assert load_spec(path).name == "demo"


def test_new_spec_from_a_file_renames_only_the_model(tmp_path: Path) -> None:
    """--from copies the text and sets [model] name, leaving variant names alone."""
    source = tmp_path / "base.toml"
    source.write_text('[model]\nname = "base"  # keep me\n[[variant]]\nname = "base"\n')
    text = new_spec("copy", tmp_path, source).read_text()
    assert text == '[model]\nname = "copy"  # keep me\n[[variant]]\nname = "base"\n'


def test_new_spec_from_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TflmakeError, match="--from: cannot read"):
        new_spec("copy", tmp_path, tmp_path / "nope.toml")
    assert not (tmp_path / "copy.toml").exists()


def test_starter_spec_points_only_to_documents_that_exist() -> None:
    """Every file the starter spec refers to exists, and every README section it names is a heading."""
    repo = Path(__file__).resolve().parents[3]
    text = starter_spec("blinky")
    for path in re.findall(r"\b(docs/[\w./-]+\.md)\b", text):
        assert (repo / path).is_file(), f"the starter spec points to {path}, which does not exist"
    headings = re.findall(r"^#+ (.+)$", (repo / "README.md").read_text(), flags=re.MULTILINE)
    for section in re.findall(r'README, "([^"]+)"', text):
        assert section in headings, f'the starter spec names README section "{section}", which does not exist'


def test_new_from_a_spec_elsewhere_rewrites_its_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`new NAME --from other/spec.toml` points the copy's relative paths at the same files."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere" / "data").mkdir(parents=True)
    np.savez(tmp_path / "elsewhere" / "data" / "train.npz", x=np.zeros((20, 4), np.float32), y=np.zeros(20))
    (tmp_path / "elsewhere" / "orig.toml").write_text(
        '[model.source]\ntype = "layers"\ninput_shape = [4]\nlayers = [{ type = "Dense", units = 2 }]\n'
        '[dataset]\ntype = "npz"\npath = "data/train.npz"\n[[variant]]\nname = "float32"\n')
    path = new_spec("copy", "modelspecs", "elsewhere/orig.toml")
    assert 'path = "../elsewhere/data/train.npz"' in path.read_text()
    assert load_spec(path).dataset["path"] == "../elsewhere/data/train.npz"


def test_doit_lists_the_tasks_in_a_folder_made_by_tflmake_new(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`tflmake new` leaves a folder where plain `doit` (the README's first command) finds the tasks."""
    monkeypatch.chdir(tmp_path)
    assert main(["new", "blinky"]) == 0
    doit = Path(sys.executable).with_name("doit")
    listed = subprocess.run([str(doit) if doit.exists() else "doit", "list"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "tflite" in listed.stdout.split() and "dataset" in listed.stdout.split()


def test_tflmake_new_writes_the_repositorys_dodo_shim_and_keeps_an_existing_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dodo.py `tflmake new` writes is the repository's own; a dodo.py already there is left alone."""
    monkeypatch.chdir(tmp_path)
    assert main(["new", "first"]) == 0
    assert (tmp_path / "dodo.py").read_text() == DODO_SHIM
    (tmp_path / "dodo.py").write_text("# mine\n")
    assert main(["new", "second"]) == 0
    assert (tmp_path / "dodo.py").read_text() == "# mine\n"
