"""A `python` source's entry: where its module lives, the local files it imports, importing it in isolation.

One owner for "module.path:function" so the spec check, the task's file
dependencies and the builder agree on which file is meant. Pure standard
library: task loading reads import statements with `ast`, it never imports the
user's code (which would import TensorFlow).
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType


def module_file(folder: str, module: str) -> Path | None:
    """The file that defines `module` (dotted) under `folder`: `a/b.py` or `a/b/__init__.py`."""
    relative = Path(*module.split("."))
    for candidate in (Path(folder) / relative.with_suffix(".py"), Path(folder) / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def entry_parts(entry: str) -> tuple[str, str]:
    """("module.path", "function") of an entry reference."""
    module, function = entry.split(":")
    return module, function


def local_imports(folder: str, module: str) -> list[str]:
    """Every file under `folder` that importing `module` executes: the module, its packages, and
    the local modules they import, transitively. Paths are `folder`-relative, POSIX, sorted.

    Imports are read statically, so an import hidden in a string (`importlib.import_module(name)`)
    is not seen; `[model.source] sources` lists such files by hand. An absolute import is looked
    up in `folder` and, for code that puts its own directory on sys.path (common in published
    training scripts), beside the importing file: a file too many only costs a rebuild.
    """
    found: set[Path] = set()
    pending = [(folder, module)]
    while pending:
        root, name = pending.pop()
        for file, package in _files_executed(root, name):
            if file not in found:
                found.add(file)
                stat = file.stat()
                for imported in _imported_names(str(file), package, stat.st_mtime_ns, stat.st_size):
                    pending.append((folder, imported))
                    if file.parent != Path(folder):
                        pending.append((str(file.parent), imported))
    return sorted(file.relative_to(folder).as_posix() for file in found)


def _files_executed(folder: str, module: str) -> Iterator[tuple[Path, str]]:
    """(file, its package) for `module` and each parent package, as far as they are in `folder`."""
    parts = module.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        file = module_file(folder, name)
        if file is None:
            return
        package = name if file.name == "__init__.py" else ".".join(parts[:depth - 1])
        yield file, package


@cache
def _imported_names(path: str, package: str, _mtime_ns: int, _size: int) -> tuple[str, ...]:
    """Dotted names a file may import (relative ones made absolute); memoised per file version.

    `from a import b` yields both `a` and `a.b`: b may be a submodule.
    """
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (SyntaxError, ValueError, OSError):
        return ()  # the build reports the real error when it imports the file
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is not None:
                names.append(base)
                names += [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
    return tuple(name for name in names if name)


def _absolute(module: str | None, level: int, package: str) -> str | None:
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else []))


@contextmanager
def isolated_import(folder: str, module: str) -> Iterator[ModuleType]:
    """Import `module` from `folder` with the folder first on sys.path, then forget it again.

    Every module loaded from `folder` is removed from `sys.modules` afterwards, any
    module of the same name loaded before is put back, and sys.path is restored
    (entries the user's code added included): two specs whose entries import a
    `keras_model.py` of their own each get their own, even in one process.
    The context stays open while the entry runs, since it may import lazily.
    """
    root = os.path.realpath(folder)
    modules_before, path_before = dict(sys.modules), list(sys.path)
    sys.path.insert(0, root)
    importlib.invalidate_caches()
    for name in _shadowed(root, modules_before):
        del sys.modules[name]
    try:
        yield importlib.import_module(module)
    finally:
        sys.path[:] = path_before
        for name, loaded in list(sys.modules.items()):
            if modules_before.get(name) is not loaded and _is_under(loaded, root):
                del sys.modules[name]
        sys.modules.update({name: loaded for name, loaded in modules_before.items() if name not in sys.modules})


def _shadowed(root: str, loaded: dict[str, ModuleType]) -> list[str]:
    """Loaded top-level modules (and their submodules) that a file in `root` would shadow."""
    local = {Path(name).stem for name in os.listdir(root) if name.endswith(".py")} | \
        {name for name in os.listdir(root) if (Path(root) / name / "__init__.py").is_file()}
    return [name for name in loaded if name.split(".")[0] in local]


def _is_under(module: ModuleType, root: str) -> bool:
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and os.path.realpath(file).startswith(root + os.sep)
