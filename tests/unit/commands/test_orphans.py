"""Outputs of deleted specs: `status` lists them, `clean --orphans` removes only them."""

from __future__ import annotations

import shutil

import pytest

from tests.support import SPECS, Project
from tflmake.commands.main import main


@pytest.fixture
def leftovers(cli_project: Project) -> Project:
    """A project with digits_mlp's spec, build/old/ of a deleted spec and build/notes/ (not outputs)."""
    shutil.copy(SPECS / "digits_mlp.toml", cli_project.specs)
    for folder in ("old", "digits_mlp", "notes"):
        (cli_project.build / folder).mkdir(parents=True)
    (cli_project.build / "old" / "manifest.json").write_text("{}")
    (cli_project.build / "old" / "int8.tflite").write_bytes(b"x")
    (cli_project.build / "digits_mlp" / "manifest.json").write_text("{}")
    (cli_project.build / "notes" / "todo.txt").write_text("mine")
    return cli_project


def test_clean_orphans_removes_only_outputs_of_deleted_specs(leftovers: Project, capsys) -> None:
    """build/old/ goes; the current model's folder and a folder that holds no outputs stay."""
    assert main(["clean", "--orphans"]) == 0
    assert "removed build/old/" in capsys.readouterr().out
    assert sorted(p.name for p in leftovers.build.iterdir() if not p.name.startswith(".")) == \
        ["digits_mlp", "notes"]
    assert main(["clean", "--orphans"]) == 0
    assert "no orphaned model folders" in capsys.readouterr().out


def test_status_lists_orphans(leftovers: Project, capsys) -> None:
    """status names build/old/ and how to remove it, and nothing else as an orphan."""
    main(["status"])
    orphans = [line for line in capsys.readouterr().out.splitlines() if line.startswith("orphan")]
    assert orphans == ["orphan: build/old/ has no spec; `tflmake clean --orphans` removes it"]
