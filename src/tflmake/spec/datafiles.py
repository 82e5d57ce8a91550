"""Which files a data set reads, and how a folder of class subfolders is laid out. Pure, os only.

The task graph asks this on every `doit` run (a new image in a class folder must
make the data set stale), so it lists directories and never opens a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from tflmake.kinds import DATASET_KINDS
from tflmake.spec.python_entry import entry_parts, local_imports, module_file

if TYPE_CHECKING:
    from tflmake.spec.sections import DatasetSection


def audio_option_problems(dataset: DatasetSection) -> list[str]:
    """A frame must fit in a clip, MFCCs come from mel bins, the bank lies below Nyquist."""
    problems = []
    if dataset["window_ms"] > dataset["clip_ms"]:
        problems.append(f"dataset.window_ms: {dataset['window_ms']} ms is longer than clip_ms "
                        f"({dataset['clip_ms']} ms); no frame fits in a clip")
    if dataset["features"] == "mfcc" and dataset["mfcc_count"] > dataset["mel_bins"]:
        problems.append(f"dataset.mfcc_count: {dataset['mfcc_count']} MFCCs need at least as many "
                        f"mel_bins (got {dataset['mel_bins']})")
    if not dataset["lower_hz"] < dataset["upper_hz"] <= dataset["sample_rate"] / 2:
        problems.append(f"dataset.upper_hz: expected lower_hz < upper_hz <= sample_rate / 2 "
                        f"({dataset['sample_rate'] / 2:g} Hz); got {dataset['lower_hz']:g} and "
                        f"{dataset['upper_hz']:g}")
    return problems


# Checks of a type's option values against each other (the schema checks each alone).
OPTION_PROBLEMS: dict[str, Callable[[DatasetSection], list[str]]] = {"audio_folder": audio_option_problems}


def class_folders(root: str, class_names: list[str] | None = None) -> list[str]:
    """The class subfolders of `root`: `class_names` in that order, else every subfolder, sorted.

    Sorted by name, as keras.utils.image_dataset_from_directory does, so label i
    is the i-th folder name in alphabetical order.
    """
    if class_names is not None:
        return list(class_names)
    with os.scandir(root) as entries:
        return sorted(entry.name for entry in entries if entry.is_dir() and not entry.name.startswith("."))


def folder_files(folder: str, extensions: tuple[str, ...], prefix: str = "") -> list[str]:
    """Files under `folder` (recursively, like Keras) with one of `extensions`, as sorted relative paths."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                found += folder_files(entry.path, extensions, f"{prefix}{entry.name}/")
            elif entry.name.lower().endswith(extensions):
                found.append(prefix + entry.name)
    return sorted(found)


def labelled_files(root: str, extensions: tuple[str, ...],
                   class_names: list[str] | None = None) -> tuple[list[str], list[int], list[str]]:
    """(file paths under `root`, their class indices, the class names) of a class-folder tree."""
    classes = class_folders(root, class_names)
    paths: list[str] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        files = folder_files(os.path.join(root, name), extensions)
        paths += [f"{root}/{name}/{file}" for file in files]
        labels += [index] * len(files)
    return paths, labels, classes


def dataset_files(dataset: DatasetSection, resolve: Callable[[str], str], folder: str) -> list[str]:
    """Every file a data set reads, as the task graph names them (its dependencies, sorted).

    Args:
        dataset: the spec's [dataset] table, defaults filled in.
        resolve: the spec's path resolver (spec folder relative -> cwd relative).
        folder: the spec's folder.
    """
    kind = DATASET_KINDS[dataset["type"]]
    paths = _path_keys(dataset)
    files = [resolve(paths[key]) for key in kind.files if key in paths]
    for key in kind.folders:
        root = resolve(paths[key]) if key in paths else None
        if root is not None and os.path.isdir(root):
            # Only folders that exist: a missing one is the validation's message, not a crash here.
            classes = [name for name in class_folders(root, dataset.get("class_names"))
                       if os.path.isdir(os.path.join(root, name))]
            files += labelled_files(root, kind.extensions, classes)[0]
    if kind.entry:
        module, _ = entry_parts(dataset["entry"])
        files += [resolve(relative) for relative in local_imports(folder, module)]
    return files


def _path_keys(dataset: DatasetSection) -> dict[str, str]:
    """The data set's path keys by name: the kind tables name them as data."""
    return {key: value for key, value in (("path", dataset.get("path")), ("test_path", dataset.get("test_path")))
            if value is not None}


def dataset_problems(dataset: DatasetSection, resolve: Callable[[str], str], folder: str) -> list[str]:
    """The disk checks of a data set: named files and folders exist, class folders hold files."""
    kind = DATASET_KINDS[dataset["type"]]
    paths = _path_keys(dataset)
    problems = [f"dataset.{key}: no such file: {resolve(paths[key])}" for key in kind.files
                if key in paths and not os.path.isfile(resolve(paths[key]))]
    if kind.entry:
        module, _ = entry_parts(dataset["entry"])
        if module_file(folder, module) is None:
            relative = module.replace(".", "/")
            problems.append(f'dataset.entry: no module "{module}" ({relative}.py or {relative}/__init__.py) '
                            f"in {folder}")
    for key in kind.folders:
        if key not in paths:
            continue
        root = resolve(paths[key])
        if not os.path.isdir(root):
            problems.append(f"dataset.{key}: no such directory: {root}")
            continue
        problems += _class_folder_problems(key, root, kind.extensions, dataset.get("class_names"))
    return problems


def _class_folder_problems(key: str, root: str, extensions: tuple[str, ...],
                           class_names: list[str] | None) -> list[str]:
    classes = class_folders(root, class_names)
    missing = [name for name in classes if not os.path.isdir(os.path.join(root, name))]
    if missing:
        return [f'dataset.class_names: no folder "{missing[0]}" in {root}']
    if not classes:
        return [f"dataset.{key}: {root} has no class subfolders (expected one folder per class)"]
    empty = [name for name in classes if not _holds_a_file(os.path.join(root, name), extensions)]
    if empty:
        return [f"dataset.{key}: class folder {root}/{empty[0]} has no {'/'.join(extensions)} files"]
    return []


def option_problems(dataset: DatasetSection) -> list[str]:
    """What the schema cannot say about a data set's options: limits that relate two keys."""
    check = OPTION_PROBLEMS.get(dataset["type"])
    return check(dataset) if check else []


def _holds_a_file(folder: str, extensions: tuple[str, ...]) -> bool:
    """True at the first file with one of `extensions` (validation need not list a whole folder)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.name.lower().endswith(extensions) and entry.is_file():
                return True
            if entry.is_dir() and _holds_a_file(entry.path, extensions):
                return True
    return False
