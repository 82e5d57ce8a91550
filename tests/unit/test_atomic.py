"""Atomic writes: a failure mid-write leaves neither a target nor temp files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tflmake import atomic
from tflmake.npzio import load_npz, save_npz


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    """An exception inside the block leaves the previous content and no stray files."""
    target = tmp_path / "a.tflite"
    atomic.write_bytes(target, b"old")
    with pytest.raises(RuntimeError), atomic.open_for_write(target) as handle:
        handle.write(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tflite"]


def test_failed_directory_write_leaves_no_directory(tmp_path: Path) -> None:
    """A directory target appears only when complete."""
    with pytest.raises(RuntimeError), atomic.directory_for_write(tmp_path / "sm") as work:
        (work / "saved_model.pb").write_bytes(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_directory_write_replaces_the_old_directory(tmp_path: Path) -> None:
    """A rebuilt directory replaces the old one whole (no stale files survive)."""
    with atomic.directory_for_write(tmp_path / "sm") as work:
        (work / "old.txt").write_text("1")
    with atomic.directory_for_write(tmp_path / "sm") as work:
        (work / "new.txt").write_text("2")
    assert [p.name for p in (tmp_path / "sm").iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["sm"]


def test_npz_files_are_byte_reproducible(tmp_path: Path) -> None:
    """The same arrays give the same .npz bytes (no timestamps inside)."""
    arrays = {"x": np.arange(12, dtype=np.float32).reshape(3, 4), "y": np.arange(3)}
    save_npz(tmp_path / "a.npz", arrays)
    save_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = load_npz(tmp_path / "a.npz")
    assert np.array_equal(loaded["x"], arrays["x"]) and np.array_equal(loaded["y"], arrays["y"])


def test_leftovers_of_a_killed_write_are_removed_by_the_next(tmp_path: Path) -> None:
    """Temp files a killed build left beside a target disappear when it is next written."""
    (tmp_path / ".a.tflite.x1.tmp").write_bytes(b"half")
    (tmp_path / ".sm.x2.tmp").mkdir()
    (tmp_path / ".other.x3.tmp").write_bytes(b"not ours")
    atomic.write_bytes(tmp_path / "a.tflite", b"ok")
    with atomic.directory_for_write(tmp_path / "sm"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.x3.tmp", "a.tflite", "sm"]
