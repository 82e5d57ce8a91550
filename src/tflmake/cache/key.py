"""The action key of an artifact task: a sha256 of exactly what its outputs are made from.

The key never holds an absolute path or the build folder's name, so two
checkouts anywhere on any machine of the same platform share entries. It is
the local up-to-date key (spec fragment with tool versions) plus what doit
otherwise learns from the file system: each input's bytes, by its role.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tflmake import atomic, keys
from tflmake.digest import sha256_file
from tflmake.errors import BuildError
from tflmake.kinds import TASK_KINDS

FORMAT = 1
Stat = tuple[int, int, int]  # size, mtime_ns, inode


@dataclass(frozen=True)
class TaskFacts:
    """What the cache knows of one artifact task: from doit's Task or from a graph task dict."""

    name: str  # doit's task name, e.g. "tflite:digits_mlp.int8"
    model: str
    fragment: dict[str, Any]  # the spec fragment of the local up-to-date key
    inputs: tuple[str, ...]  # file_dep paths
    targets: tuple[str, ...]
    build_dir: str
    spec_folder: str

    @property
    def kind(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def label(self) -> str:
        """The task's name without its kind (where its entries are kept)."""
        return self.name.split(":", 1)[1]

    def outputs(self) -> dict[str, str]:
        """Output role -> local path; a folder for kinds whose targets stand for one."""
        paths = [os.path.dirname(t) for t in self.targets] if TASK_KINDS[self.kind].folder_outputs else self.targets
        return {role(path, self.build_dir, self.spec_folder): path for path in dict.fromkeys(paths)}


def facts_from_task(task: Any, build_dir: str, spec_folder: str, model: str) -> TaskFacts:
    """TaskFacts of a doit Task or a task dict (the checker holding the key is found by type)."""
    from tflmake.engine.fragment import fragment_changed

    fields: dict[str, Any] = task if isinstance(task, dict) else vars(task)
    name = f"{task['basename']}:{task['name']}" if isinstance(task, dict) else task.name
    checkers = [item[0] if isinstance(item, tuple) else item for item in fields["uptodate"]]
    fragment = next(checker.config for checker in checkers if isinstance(checker, fragment_changed))
    return TaskFacts(name=name, model=model, fragment=fragment, inputs=tuple(sorted(fields["file_dep"])),
                     targets=tuple(fields["targets"]), build_dir=build_dir, spec_folder=spec_folder)


def role(path: str, build_dir: str, spec_folder: str) -> str:
    """`build/<path in the build folder>` or `spec/<path from the spec's folder>`, POSIX."""
    absolute = os.path.abspath(path)
    for prefix, root in (("build", build_dir), ("spec", spec_folder)):
        base = os.path.abspath(root)
        if absolute == base or absolute.startswith(base + os.sep):
            return f"{prefix}/{Path(os.path.relpath(absolute, base)).as_posix()}"
    return f"spec/{Path(os.path.relpath(absolute, os.path.abspath(spec_folder))).as_posix()}"


class InputHashes:
    """sha256 of input files, remembered by (size, mtime, inode) so a large file is hashed once per change."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._known: dict[str, list[Any]] = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError):
            self._known = {}
        self._changed = False

    def digest(self, path: str) -> tuple[str, Stat]:
        """The file's sha256 and the stat it was taken under (stat first: an edit while hashing shows)."""
        stat = file_stat(path)
        known = self._known.get(os.path.abspath(path))
        if known is not None and tuple(known[:3]) == stat:
            return known[3], stat
        digest = sha256_file(path)
        self._known[os.path.abspath(path)] = [*stat, digest]
        self._changed = True
        return digest, stat

    def save(self) -> None:
        if self._changed:
            try:
                atomic.write_text(self.path, json.dumps(self._known, sort_keys=True))
            except (OSError, BuildError):
                # A memo: losing it costs a re-hash. atomic raises BuildError, e.g. when a parallel
                # task's write of the same file (doit -n) removed this one's temp file as a leftover.
                pass
            self._changed = False


def file_stat(path: str) -> Stat:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


_code_digest: str | None = None


def code_digest() -> str:
    """sha256 of tflmake's own code (every .py and .json of the package): new code, new keys."""
    global _code_digest
    if _code_digest is None:
        _code_digest = code_digest_on_disk()
    return _code_digest


def code_digest_on_disk() -> str:
    """code_digest read afresh: a long-lived process (the warm worker) compares it with the code it runs."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".json") and "__pycache__" not in p.parts):
        digest.update(f"{path.relative_to(root).as_posix()}\0{sha256_file(path)}\0".encode())
    return digest.hexdigest()


def platform_tuple() -> dict[str, str]:
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return {"os": platform.system(), "machine": platform.machine(), "python": python}


def key_document(facts: TaskFacts, namespace: str, hashes: InputHashes,
                 known: dict[str, dict[str, Any]] | None = None) -> tuple[dict[str, Any], dict[str, Stat]]:
    """What the key digests, and the stat of each input when it was hashed (to notice edits later).

    `known` gives inputs not built yet by path (`{"sha256", "size"}`, from an
    upstream entry), so `cache status` can follow a chain of hits.
    """
    inputs: dict[str, Any] = {}
    stats: dict[str, Stat] = {}
    key_files = set(keys.key_files())
    for path in facts.inputs:
        if path in key_files:
            continue  # a signing or encryption key: the fragment holds its id, never its bytes' hash
        if known and path in known:
            inputs[role(path, facts.build_dir, facts.spec_folder)] = known[path]
            continue
        digest, stats[path] = hashes.digest(path)
        inputs[role(path, facts.build_dir, facts.spec_folder)] = {"sha256": digest, "size": stats[path][0]}
    document = {
        "format": FORMAT, "kind": facts.kind, "model": facts.model, "fragment": facts.fragment,
        "inputs": inputs, "outputs": sorted(facts.outputs()), "code": code_digest(),
        "platform": platform_tuple(), "namespace": namespace,
    }
    return document, stats


def action_key(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def key_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Each key component that differs, e.g. `tools.tensorflow: 2.20.0 -> 2.21.0` (fragment keys unprefixed)."""
    from tflmake.engine.fragment import fragment_differences

    lines = fragment_differences(old, new)
    return [line.removeprefix("fragment.") for line in lines]
