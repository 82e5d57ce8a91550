"""Load a tree of class folders (images, audio) split into train and test before any file is decoded.

Splitting the file list first means each sample is decoded once, straight into
its split's array: no full copy of the data set is ever made by fancy indexing.
A file's split is the hash of its path inside its class folder (`001.png` of
`cat/001.png`, see `splits.hashed_split`), so adding or removing files never
moves another file between train and test. The class name is left out, as in
the speech-commands set: a file moved to another class keeps its split, and
same-named files of different classes (often one speaker or session) share one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tflmake.data.splits import hashed_split
from tflmake.errors import BuildError
from tflmake.spec.datafiles import class_folders, labelled_files
from tflmake.spec.sections import DatasetSection

Arrays = dict[str, np.ndarray]
# Decodes files into one array, one sample per file, in the given order.
Decoder = Callable[[list[str]], np.ndarray]


def load_labelled_folders(dataset: DatasetSection, resolve: Callable[[str], str],
                          extensions: tuple[str, ...], decode: Decoder) -> Arrays:
    """x/y of both splits, the class names (`labels`) and each sample's file (`files_train`, `files_test`).

    File names are relative to the data folder (`cat/001.png`), so a calibration
    list can name samples by file.
    """
    root = resolve(dataset["path"])
    paths, labels, classes = labelled_files(root, extensions, dataset.get("class_names"))
    if "test_path" in dataset:
        test_root = resolve(dataset["test_path"])
        test_classes = class_folders(test_root, dataset.get("class_names"))
        if test_classes != classes:
            raise BuildError(f"dataset.test_path: {test_root} has class folders {', '.join(test_classes)}; "
                             f"expected the same as dataset.path ({', '.join(classes)})")
        test_paths, test_labels, _ = labelled_files(test_root, extensions, classes)
        parts = {"train": (root, paths, labels), "test": (test_root, test_paths, test_labels)}
    else:
        train, test = hashed_split([file_key(root, path) for path in paths], dataset)
        parts = {part: (root, [paths[i] for i in order], [labels[i] for i in order])
                 for part, order in (("train", train), ("test", test))}
    arrays: Arrays = {"labels": np.array(classes)}
    for part, (part_root, part_paths, part_labels) in parts.items():
        arrays[f"x_{part}"] = decode(part_paths)
        arrays[f"y_{part}"] = np.array(part_labels, dtype=np.int64)
        arrays[f"files_{part}"] = np.array([path[len(part_root) + 1:] for path in part_paths], dtype=str)
    return arrays


def file_key(root: str, path: str) -> bytes:
    """The key a file's split is hashed from: its path inside its class folder, UTF-8."""
    return path[len(root) + 1:].split("/", 1)[1].encode()
