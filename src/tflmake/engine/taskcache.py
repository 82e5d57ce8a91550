"""Remember each spec's model and task dicts between runs, keyed by exactly what they were made from.

Turning 50 specs into 600 task dicts (defaults, variants, keys, paths) cost a
50-spec no-op about 84M instructions; unpickling them costs about 25M. An
entry is reused only when everything its tasks were made from is unchanged:
the spec's text, what the spec's paths find on disk, the working and build
directories, the key files the environment names, the tool versions, doit's and tflmake's own code. Anything else, or a
file that fails to load, means the spec is loaded and described afresh.

The file is a pickle because task dicts hold the functions and up-to-date
checkers doit calls; it sits in the build directory beside doit's own state
and is read only by this process's own project.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from doit.version import VERSION as DOIT_VERSION

from tflmake import atomic, keys
from tflmake.engine import toolversions

if TYPE_CHECKING:
    from tflmake.spec.load import ModelSpec

Entry = tuple["ModelSpec", list[dict[str, Any]]]
FileFacts = Callable[["ModelSpec"], Any]


def code_stamp() -> list[tuple[str, int, int]]:
    """Size and mtime of every file of the tflmake package: editing any of them changes the tasks."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the tflmake package
    stamp = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                stat = os.stat(os.path.join(folder, name))
                stamp.append((os.path.relpath(os.path.join(folder, name), root), stat.st_size, stat.st_mtime_ns))
    return stamp


class TaskCache:
    """spec path -> (sha256 of its text, its file facts, its pickled ModelSpec and task dicts).

    `file_facts(spec)` is what the spec's paths find on disk (missing files, the
    files a SavedModel directory holds): recomputed on every lookup, it must
    equal what it was when the entry was stored. Only entries looked up or
    stored by this process are saved, so removed specs drop out.
    """

    def __init__(self, path: str, build_dir: str, file_facts: FileFacts, settings: Any = None) -> None:
        """`settings`: project settings the tasks are made from (signing's), None when there are none."""
        self.path = path
        self._file_facts = file_facts
        # The code stamp covers this file's own format; doit's version, because the
        # task dicts hold doit's up-to-date checker objects.
        # The key files the environment names, by stat (never their bytes): bundles' task keys hold their ids.
        self._context = {"cwd": os.getcwd(), "build_dir": build_dir, "code": code_stamp(), "doit": DOIT_VERSION,
                         "keys": keys.key_stamp()}
        if settings is not None:  # absent while signing is off, so such a project's cache stays valid
            self._context["settings"] = settings
        self._stored: dict[str, tuple[str, Any, bytes]] = {}
        self._used: dict[str, tuple[str, Any, bytes]] = {}
        self._changed = False
        try:
            with open(path, "rb") as handle:
                saved = pickle.load(handle)
            if saved["context"] == self._context and _same_versions(saved["versions"]):
                self._stored = saved["entries"]
        except Exception:  # noqa: BLE001 (no cache, an unreadable or older one: describe every spec)
            pass

    def lookup(self, spec_path: str, text: str) -> Entry | None:
        """The model and task dicts of a spec whose inputs are all unchanged, or None."""
        stored = self._stored.get(spec_path)
        if stored is None or stored[0] != _digest(text):
            return None
        spec, tasks = pickle.loads(stored[2])
        if self._file_facts(spec) != stored[1]:
            return None
        self._used[spec_path] = stored
        return spec, tasks

    def store(self, spec_path: str, text: str, spec: ModelSpec, tasks: list[dict[str, Any]]) -> None:
        """Remember the model and task dicts made from `text` (before doit changes the dicts)."""
        entry = pickle.dumps((spec, tasks), protocol=pickle.HIGHEST_PROTOCOL)
        self._stored[spec_path] = self._used[spec_path] = (_digest(text), self._file_facts(spec), entry)
        self._changed = True

    def save(self) -> None:
        """Write the cache if an entry was added or one of the saved ones is no longer used."""
        if self._changed or self._used.keys() != self._stored.keys():
            data = {"context": self._context, "versions": toolversions.known_versions(),
                    "entries": dict(sorted(self._used.items()))}
            atomic.write_bytes(self.path, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
            self._stored = dict(self._used)
            self._changed = False


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _same_versions(saved: dict[str, str]) -> bool:
    return all(toolversions.tool_version(tool) == version for tool, version in saved.items())
