"""Which files a data set reads, and how a folder of class subfolders is laid out. Pure, os only.

The task graph asks this on every `doit` run (a new image in a class folder must
make the data set stale), so it lists directories and never opens a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# keras.utils.image_dataset_from_directory's accepted formats.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
AUDIO_EXTENSIONS = (".wav",)


@dataclass(frozen=True)
class DataKind:
    """What the rest of the code asks of a data set type: which keys name folders, which files count."""

    folder_keys: tuple[str, ...] = ()
    file_keys: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    entry: bool = False
    # The libraries whose versions decide the loaded arrays (part of the task's key).
    tools: tuple[str, ...] = ("numpy", "scikit-learn")
    # Checks of option values against each other (the schema checks each alone).
    option_problems: Callable[[dict[str, Any]], list[str]] = lambda dataset: []


def audio_option_problems(dataset: dict[str, Any]) -> list[str]:
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


KINDS = {
    "digits": DataKind(),
    "mnist": DataKind(),
    "npz": DataKind(file_keys=("path", "test_path")),
    "image_folder": DataKind(folder_keys=("path", "test_path"), extensions=IMAGE_EXTENSIONS,
                             tools=("numpy", "pillow")),
    "audio_folder": DataKind(folder_keys=("path", "test_path"), extensions=AUDIO_EXTENSIONS,
                             tools=("numpy", "tensorflow"), option_problems=audio_option_problems),
    "csv": DataKind(file_keys=("path", "test_path"), tools=("numpy",)),
    "python": DataKind(entry=True, tools=("numpy",)),
}


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


def entry_module_file(entry: str) -> tuple[str, str]:
    """(`module/path.py`, `module/path/__init__.py`) for a "module.path:function" entry."""
    module = entry.split(":")[0].replace(".", "/")
    return f"{module}.py", f"{module}/__init__.py"


def entry_file(folder: str, entry: str) -> str | None:
    """The file of an entry's module in `folder` (relative to it), or None if there is none."""
    for candidate in entry_module_file(entry):
        if os.path.isfile(os.path.join(folder, candidate)):
            return candidate
    return None


def dataset_files(dataset: dict[str, Any], resolve: Callable[[str], str], folder: str) -> list[str]:
    """Every file a data set reads, as the task graph names them (its dependencies, sorted).

    Args:
        dataset: the spec's [dataset] table, defaults filled in.
        resolve: the spec's path resolver (spec folder relative -> cwd relative).
        folder: the spec's folder.
    """
    kind = KINDS[dataset["type"]]
    files = [resolve(dataset[key]) for key in kind.file_keys if key in dataset]
    for key in kind.folder_keys:
        root = resolve(dataset[key]) if key in dataset else None
        if root is not None and os.path.isdir(root):
            # Only folders that exist: a missing one is the validation's message, not a crash here.
            classes = [name for name in class_folders(root, dataset.get("class_names"))
                       if os.path.isdir(os.path.join(root, name))]
            files += labelled_files(root, kind.extensions, classes)[0]
    if kind.entry:
        found = entry_file(folder, dataset["entry"])
        if found is not None:
            files.append(resolve(found))
    return files


def dataset_problems(dataset: dict[str, Any], resolve: Callable[[str], str], folder: str) -> list[str]:
    """The disk checks of a data set: named files and folders exist, class folders hold files."""
    kind = KINDS[dataset["type"]]
    problems = [f"dataset.{key}: no such file: {resolve(dataset[key])}" for key in kind.file_keys
                if key in dataset and not os.path.isfile(resolve(dataset[key]))]
    if kind.entry and entry_file(folder, dataset["entry"]) is None:
        module = dataset["entry"].split(":")[0]
        problems.append(f'dataset.entry: no module "{module}" ({entry_module_file(dataset["entry"])[0]}) '
                        f"in {folder}")
    for key in kind.folder_keys:
        if key not in dataset:
            continue
        root = resolve(dataset[key])
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


def option_problems(dataset: dict[str, Any]) -> list[str]:
    """What the schema cannot say about a data set's options: limits that relate two keys."""
    return KINDS[dataset["type"]].option_problems(dataset)


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
