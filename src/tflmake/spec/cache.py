"""Remember the parsed document of each spec text that passed schema validation.

Importing and running jsonschema is most of a no-op build's own time, and
parsing TOML the next largest share: a spec whose exact text (under the exact
shipped schema) validated before cannot fail now, and its document is read back
from JSON (about 20x faster than tomllib). Only the schema check is cached: the
checks that look at other files (paths that must exist, unique names) run every time.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from tflmake import atomic


@cache
def _schema_digest() -> str:
    schema = resources.files("tflmake").joinpath("spec/spec.schema.json").read_bytes()
    return hashlib.sha256(schema).hexdigest()


class ValidSpecCache:
    """sha256(schema + spec text) -> the text's document as a JSON string, kept under the build directory.

    Each document stays a string until it is asked for, so every caller gets a
    fresh copy and the saved form is exactly what was validated. Only the
    entries this process looked up or added are saved, so the file holds the
    project's current specs rather than every text ever validated.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._stored: dict[str, str] = {}
        self._used: dict[str, str] = {}
        self._changed = False
        try:
            stored = json.loads(Path(path).read_text("utf-8"))
            if stored.get("schema") == _schema_digest():
                self._stored = {digest: document for digest, document in stored["documents"].items()
                                if isinstance(document, str)}
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            pass  # no cache, an unreadable one or an older format: validate everything

    @staticmethod
    def _digest(text: str) -> str:
        return hashlib.sha256(f"{_schema_digest()}\n{text}".encode()).hexdigest()

    def document(self, text: str) -> dict[str, Any] | None:
        """The parsed document of a text that validated before, or None."""
        digest = self._digest(text)
        stored = self._stored.get(digest)
        if stored is None:
            return None
        self._used[digest] = stored
        document: dict[str, Any] = json.loads(stored)
        return document

    def keep(self, text: str) -> None:
        """Keep a text's entry in the saved file without reading it (its spec came from another cache)."""
        digest = self._digest(text)
        if digest in self._stored:
            self._used[digest] = self._stored[digest]

    def add(self, text: str, document: dict[str, Any]) -> None:
        """Remember a text that just passed the schema, with its parsed document."""
        try:
            as_json = json.dumps(document)
        except TypeError:
            return  # TOML dates have no JSON form: such a spec is simply validated every time
        digest = self._digest(text)
        self._stored[digest] = self._used[digest] = as_json
        self._changed = True

    def save(self) -> None:
        """Write the cache if a spec was newly validated (never needed for correctness)."""
        if self._changed:
            atomic.write_text(self.path, json.dumps(
                {"schema": _schema_digest(), "documents": dict(sorted(self._used.items()))}))
            self._changed = False
