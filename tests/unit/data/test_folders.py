"""Class-folder splits: a file's split is a function of its path inside its class folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tflmake.data.folders import load_labelled_folders
from tflmake.errors import BuildError
from tflmake.spec.sections import DatasetSection

CLASSES = ("bird", "cat", "dog")


def write_files(root: Path, names: dict[str, list[str]]) -> None:
    """Empty files (the decoder below never opens them) under root/<class>/<name>."""
    for label, files in names.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for name in files:
            (root / label / name).touch()


def numbered(first: int, last: int) -> dict[str, list[str]]:
    """Files first..last-1 of every class, named as a camera would (IMG_0001.png, ...)."""
    return {label: [f"IMG_{number:04d}.png" for number in range(first, last)] for label in CLASSES}


def split_files(root: Path, test_fraction: float = 0.2, seed: int = 0) -> dict[str, set[str]]:
    """files_train and files_test of the folder, as the loader stores them."""
    options: DatasetSection = {"type": "image_folder", "path": str(root), "test_fraction": test_fraction,
                               "seed": seed}
    arrays = load_labelled_folders(options, str, (".png",), lambda paths: np.zeros((len(paths), 1)))
    return {part: set(arrays[f"files_{part}"].tolist()) for part in ("train", "test")}


def test_adding_files_moves_no_previous_file_between_splits(tmp_path: Path) -> None:
    """5 new files in a 360-file folder: every previous test file stays in test, every train file in train."""
    write_files(tmp_path, numbered(0, 120))
    before = split_files(tmp_path)
    write_files(tmp_path, {"cat": [f"new_{number}.png" for number in range(3)], "dog": ["a.png", "b.png"]})
    after = split_files(tmp_path)
    assert sum(map(len, after.values())) == 365
    assert before["test"] <= after["test"] and before["train"] <= after["train"]


def test_removing_files_moves_no_remaining_file_between_splits(tmp_path: Path) -> None:
    """Deleting 30 files leaves every remaining file where it was."""
    write_files(tmp_path, numbered(0, 120))
    before = split_files(tmp_path)
    for number in range(0, 120, 12):
        for label in CLASSES:
            (tmp_path / label / f"IMG_{number:04d}.png").unlink()
    after = split_files(tmp_path)
    assert sum(map(len, after.values())) == 330
    assert after["test"] <= before["test"] and after["train"] <= before["train"]


def test_test_fraction_is_honoured_within_a_few_points_at_360_files(tmp_path: Path) -> None:
    """test_fraction = 0.2 puts 20 ± 4 % of 360 files in the test split, for several seeds."""
    write_files(tmp_path, {label: [f"{label}_{number:03d}.png" for number in range(120)] for label in CLASSES})
    shares = [len(split["test"]) / 360 for split in (split_files(tmp_path, seed=seed) for seed in range(3))]
    assert all(abs(share - 0.2) <= 0.04 for share in shares), shares


def test_split_is_the_hash_of_the_path_inside_the_class_folder(tmp_path: Path) -> None:
    """Same-named files of different classes share a split; moving a file to another class keeps its split."""
    write_files(tmp_path, numbered(0, 40))
    split = split_files(tmp_path)
    for name in (f"IMG_{number:04d}.png" for number in range(40)):
        sides = {part for part, files in split.items() for label in CLASSES if f"{label}/{name}" in files}
        assert len(sides) == 1, name
    test_file = sorted(split["test"])[0]
    label, name = test_file.split("/")
    other = next(other for other in CLASSES if other != label)
    (tmp_path / other / name).unlink()
    (tmp_path / label / name).rename(tmp_path / other / name)
    assert f"{other}/{name}" in split_files(tmp_path)["test"]


def test_seed_reshuffles_the_split(tmp_path: Path) -> None:
    """dataset.seed is part of the hash, so another seed gives another split."""
    write_files(tmp_path, numbered(0, 40))
    assert split_files(tmp_path, seed=0)["test"] != split_files(tmp_path, seed=1)["test"]


def test_a_tiny_folder_still_gets_both_splits(tmp_path: Path) -> None:
    """When the hash puts every file on one side, the file nearest the cut crosses, so both splits hold files."""
    write_files(tmp_path, {"a": ["1.png", "2.png"], "b": ["3.png"]})
    for fraction in (0.01, 0.99):
        split = split_files(tmp_path, test_fraction=fraction)
        assert split["train"] and split["test"]
        assert len(split["test"]) == (1 if fraction < 0.5 else 2)


def test_a_folder_whose_files_share_one_name_cannot_be_split(tmp_path: Path) -> None:
    """a/x.png and b/x.png always share a split, so two such files are one clear error."""
    write_files(tmp_path, {"a": ["x.png"], "b": ["x.png"]})
    with pytest.raises(BuildError, match=r"2 sample\(s\) with 1 distinct key\(s\) cannot be split"):
        split_files(tmp_path)
