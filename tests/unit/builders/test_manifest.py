"""The manifest's SavedModel digest is remembered by the checkpoint's bytes (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tflmake.builders import manifest


def saved_model(folder: Path, data: bytes) -> Path:
    (folder / "variables").mkdir(parents=True)
    (folder / "variables" / "variables.index").write_bytes(b"index")
    (folder / "variables" / "variables.data-00000-of-00001").write_bytes(data)
    return folder


def test_equal_checkpoint_bytes_reuse_the_digest_and_other_bytes_compute_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Going back to a SavedModel built before needs no TensorFlow; a changed checkpoint is read again."""
    computed: list[Path] = []
    monkeypatch.setattr(manifest, "variables_digest", lambda folder: computed.append(folder) or f"d{len(computed)}")
    memo = (tmp_path / "memo.json").as_posix()
    first = saved_model(tmp_path / "a", b"weights one")
    assert manifest.remembered_variables_digest(first, memo) == "d1"
    assert manifest.remembered_variables_digest(saved_model(tmp_path / "b", b"weights one"), memo) == "d1"
    assert manifest.remembered_variables_digest(saved_model(tmp_path / "c", b"weights two"), memo) == "d2"
    assert computed == [first, tmp_path / "c"]


def test_an_unreadable_memo_means_compute_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest, "variables_digest", lambda folder: "fresh")
    (tmp_path / "memo.json").write_text("{not json")
    assert manifest.remembered_variables_digest(saved_model(tmp_path / "a", b"w"), str(tmp_path / "memo.json")) \
        == "fresh"
