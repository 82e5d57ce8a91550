"""Remember which spec texts passed schema validation, so an unchanged project skips jsonschema.

Importing and running jsonschema is most of a no-op build's own time; a spec
whose exact text (under the exact shipped schema) validated before cannot fail
now. Only the schema check is cached: the checks that look at other files
(paths that must exist, unique names) run every time.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path

from tflmake import atomic


@cache
def _schema_digest() -> str:
    schema = resources.files("tflmake").joinpath("schema/spec.schema.json").read_bytes()
    return hashlib.sha256(schema).hexdigest()


class ValidSpecCache:
    """A set of sha256(schema + spec text) digests, stored as JSON under the build directory."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._digests: set[str] = set()
        self._changed = False
        try:
            stored = json.loads(Path(path).read_text("utf-8"))
            if stored.get("schema") == _schema_digest():
                self._digests = set(stored["valid"])
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            pass  # no cache or an unreadable one: validate everything

    @staticmethod
    def _digest(text: str) -> str:
        return hashlib.sha256(f"{_schema_digest()}\n{text}".encode()).hexdigest()

    def __contains__(self, text: str) -> bool:
        return self._digest(text) in self._digests

    def add(self, text: str) -> None:
        digest = self._digest(text)
        if digest not in self._digests:
            self._digests.add(digest)
            self._changed = True

    def save(self) -> None:
        """Write the cache if a spec was newly validated (never needed for correctness)."""
        if self._changed:
            atomic.write_text(self.path, json.dumps({"schema": _schema_digest(), "valid": sorted(self._digests)}))
            self._changed = False
