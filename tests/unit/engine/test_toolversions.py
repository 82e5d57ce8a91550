"""Tool versions: read from metadata, kept in a file while no directory on sys.path changes."""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tflmake.engine import toolversions


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts like a new process: no versions known yet."""
    monkeypatch.setattr(toolversions, "_versions", {})
    monkeypatch.setattr(toolversions, "_read_here", set())


def test_versions_come_from_package_metadata() -> None:
    """The version is the installed distribution's, under any of its known names."""
    assert toolversions.tool_version("numpy") == metadata.version("numpy")
    assert toolversions.tool_version("no-such-tool-xyz") == "not installed"


def test_unchanged_environment_reuses_the_saved_versions(tmp_path: Path) -> None:
    """A second run reads the file instead of the metadata, and then has nothing new to save."""
    cache = str(tmp_path / "versions.json")
    toolversions.tool_versions("numpy", "doit")
    toolversions.save_cached_versions(cache)
    saved = json.loads(Path(cache).read_text())
    saved["versions"]["numpy"] = "9.9.9-from-the-file"
    Path(cache).write_text(json.dumps(saved))

    toolversions._versions.clear()
    toolversions.load_cached_versions(cache)
    assert toolversions.tool_version("numpy") == "9.9.9-from-the-file"
    assert not toolversions._read_here


def test_a_changed_sys_path_directory_invalidates_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installing a package changes its directory's mtime; then the metadata is read again."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    cache = str(tmp_path / "versions.json")
    toolversions.tool_version("numpy")
    toolversions.save_cached_versions(cache)
    saved = json.loads(Path(cache).read_text())
    saved["versions"]["numpy"] = "9.9.9-stale"
    Path(cache).write_text(json.dumps(saved))

    (site / "newpkg-1.0.dist-info").mkdir()  # what `pip install newpkg` leaves behind
    toolversions._versions.clear()
    toolversions.load_cached_versions(cache)
    assert toolversions.tool_version("numpy") == metadata.version("numpy")


def test_unreadable_file_means_read_the_metadata(tmp_path: Path) -> None:
    """A corrupt cache is ignored, not an error."""
    cache = tmp_path / "versions.json"
    cache.write_text("{not json")
    toolversions.load_cached_versions(str(cache))
    assert toolversions.tool_version("numpy") == metadata.version("numpy")
