"""The cache's storage on any fsspec URL: action entries pointing into a content-addressed blob store.

Layout under the URL:
  ac/<kind>/<task label>/<key>.json   an action entry (small JSON, written last)
  cas/<sha[:2]>/<sha256>              a blob: a file output, or a folder output as a tar

Writes are create-only, so a reader never sees a partial file: S3 conditional
writes (If-None-Match) through s3fs, hard links from a finished temp file on a
local or network file system. Blobs are content-addressed, so a second writer of
the same blob has nothing to add. fsspec is imported here only, when a stale
cacheable task first needs the cache: a no-op build never imports it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tflmake.errors import TflmakeError

# Bounded waits for S3-like stores: an unreachable cache must cost seconds, not minutes.
_S3_DEFAULTS: dict[str, Any] = {"config_kwargs": {"connect_timeout": 3, "read_timeout": 30,
                                                   "retries": {"max_attempts": 0, "mode": "standard"}}}
_S3_ATTEMPTS = 1  # s3fs retries nothing, botocore neither (max_attempts counts retries): one failure decides


class CacheUnavailable(TflmakeError):
    """The cache cannot be reached or read; the build goes on without it."""


class Store:
    """Entries and blobs of one cache URL."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        import fsspec

        protocol = fsspec.core.split_protocol(url)[0] or "file"
        options = dict(storage_options or {})
        if protocol in ("s3", "s3a"):
            options = {**_S3_DEFAULTS, **options, "skip_instance_cache": True}
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **options)
        except (ImportError, ValueError) as error:
            raise CacheUnavailable(f"cannot open cache {url}: {error}") from None
        # s3fs asks an object's size (a HEAD) before each whole-object read unless told to read it in one part.
        self._read_options: dict[str, Any] = {}
        if protocol in ("s3", "s3a"):
            self.fs.retries = _S3_ATTEMPTS
            self._read_options = {"max_concurrency": 1}
        self.url = url
        self.root = root.rstrip("/")
        self.local = protocol in ("file", "local")

    # Paths -----------------------------------------------------------------

    def entry_path(self, kind: str, label: str, key: str) -> str:
        return f"{self.root}/ac/{kind}/{label}/{key}.json"

    def blob_path(self, digest: str) -> str:
        return f"{self.root}/cas/{digest[:2]}/{digest}"

    # Entries ---------------------------------------------------------------

    def read_entry(self, kind: str, label: str, key: str) -> dict[str, Any] | None:
        """The entry stored under this key, or None."""
        data = self._read(self.entry_path(kind, label, key))
        return None if data is None else _parse_entry(data)

    def entries(self, kind: str, label: str) -> list[dict[str, Any]]:
        """Every entry of one task (for explaining a miss)."""
        folder = f"{self.root}/ac/{kind}/{label}"
        found = []
        for path in self._list(folder):
            data = self._read(path)
            if data is not None:
                found.append(_parse_entry(data))
        return found

    def all_entry_paths(self) -> Iterator[str]:
        """Every entry in the cache (for verify)."""
        try:
            yield from sorted(path for path in self._guard(self.fs.find, f"{self.root}/ac")
                              if path.endswith(".json"))
        except FileNotFoundError:
            return

    def read_entries(self, places: list[tuple[str, str, str]]) -> list[dict[str, Any] | None]:
        """The entries under several (kind, label, key) places, read in one concurrent batch."""
        found = self.read_many([self.entry_path(*place) for place in places])
        return [None if data is None else _parse_entry(data) for data in found]

    def read_blobs(self, digests: list[str]) -> list[bytes | None]:
        """Several (small) blobs' bytes, read in one concurrent batch; None for a missing one."""
        return self.read_many([self.blob_path(digest) for digest in digests])

    def read_many(self, paths: list[str]) -> list[bytes | None]:
        """Each path's bytes (None when missing), in order: one batch of concurrent requests on S3-like stores."""
        if len(set(paths)) <= 1:
            return [self._read(path) for path in paths]
        read = self._guard(self.fs.cat, list(dict.fromkeys(paths)), on_error="return", **self._read_options)
        by_path = {self.fs._strip_protocol(path): data for path, data in read.items()}
        found: list[bytes | None] = []
        for path in paths:
            data = by_path.get(self.fs._strip_protocol(path), FileNotFoundError(path))
            if isinstance(data, FileNotFoundError):
                found.append(None)
            elif isinstance(data, BaseException):
                self._guard(_raise, data)
            else:
                found.append(bytes(data))
        return found

    def read_entry_at(self, path: str) -> dict[str, Any] | None:
        data = self._read(path)
        return None if data is None else _parse_entry(data)

    def touch_entry(self, kind: str, label: str, key: str) -> None:
        """Mark an entry of a folder store as just used (its mtime: what least-recently-used eviction reads)."""
        if self.local:
            try:
                os.utime(self.entry_path(kind, label, key))
            except OSError:
                pass  # evicted meanwhile, or a read-only folder: nothing to remember

    def write_entry(self, kind: str, label: str, key: str, entry: dict[str, Any], overwrite: bool = False) -> bool:
        """Publish an entry (after its blobs); False when one was already there (create-only)."""
        data = json.dumps(entry, indent=1, sort_keys=True).encode()
        return self._write(self.entry_path(kind, label, key), data=data, overwrite=overwrite)

    # Blobs -----------------------------------------------------------------

    def write_blob(self, digest: str, local_path: str, overwrite: bool = False) -> bool:
        """Store a local file as the blob `digest`; False when it was already there."""
        return self._write(self.blob_path(digest), local_path=local_path, overwrite=overwrite)

    def read_blob(self, digest: str, local_path: str) -> bool:
        """Copy blob `digest` to `local_path`; False when the store has no such blob."""
        try:
            self._guard(self.fs.get_file, self.blob_path(digest), local_path)
        except FileNotFoundError:
            return False
        return True

    def has_blob(self, digest: str) -> bool:
        return bool(self._guard(self.fs.exists, self.blob_path(digest)))

    # The file system -------------------------------------------------------

    def _read(self, path: str) -> bytes | None:
        try:
            return bytes(self._guard(self.fs.cat_file, path, **self._read_options))
        except FileNotFoundError:
            return None

    def _list(self, folder: str) -> list[str]:
        try:
            if not self.local:
                self.fs.invalidate_cache(folder)
            return sorted(str(p) for p in self._guard(self.fs.ls, folder, detail=False))
        except FileNotFoundError:
            return []

    def _write(self, path: str, *, data: bytes | None = None, local_path: str | None = None,
               overwrite: bool) -> bool:
        if self.local:
            return _write_local(path, data, local_path, overwrite)
        mode = "overwrite" if overwrite else "create"
        try:
            if data is not None:
                self._guard(self.fs.pipe_file, path, data, mode=mode)
            else:
                self._guard(self.fs.put_file, local_path, path, mode=mode)
        except FileExistsError:
            return False
        return True

    def _guard(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one storage call; any failure but "not found" / "exists" means the cache is unavailable."""
        try:
            return call(*args, **kwargs)
        except (FileNotFoundError, FileExistsError):
            raise
        except OSError as error:
            if _precondition_failed(error):
                raise FileExistsError(str(error)) from None
            raise CacheUnavailable(f"cache {self.url} unavailable: {_one_line(error)}") from None
        except Exception as error:  # botocore/aiohttp raise their own types for a dead endpoint
            raise CacheUnavailable(f"cache {self.url} unavailable: {_one_line(error)}") from None


def _write_local(path: str, data: bytes | None, local_path: str | None, overwrite: bool) -> bool:
    """Temp file beside `path`, then link (create-only) or rename (overwrite): never a partial file."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            if data is not None:
                out.write(data)
            else:
                assert local_path is not None
                with open(local_path, "rb") as source:
                    while block := source.read(1 << 20):
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        try:
            if overwrite:
                os.replace(temp, target)
                return True
            os.link(temp, target)
            return True
        except FileExistsError:
            return False
        finally:
            Path(temp).unlink(missing_ok=True)
    except OSError as error:
        raise CacheUnavailable(f"cache folder {target.parent}: {error.strerror or error}") from None


def _raise(error: BaseException) -> None:
    raise error


def _parse_entry(data: bytes) -> dict[str, Any]:
    try:
        entry = json.loads(data)
    except ValueError:
        return {}
    return entry if isinstance(entry, dict) else {}


def _precondition_failed(error: OSError) -> bool:
    text = str(error)
    return "PreconditionFailed" in text or "At least one of the pre-conditions" in text


def _one_line(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text.splitlines()[0] if text.strip() else type(error).__name__
