"""Looking after a cache: re-hash its blobs (any URL), trim a folder cache by age and size.

Buckets are trimmed by their own lifecycle rules; a folder (local or NFS) has
none, so `gc` removes entries first and then the blobs no entry points to.
Entries go before blobs, as publishing writes them after: never an entry
whose blob is gone. An entry's mtime is when it was last written or (in the
local cache) restored from, so "oldest" means least recently used; the local
cache is trimmed the same way whenever a write takes it past its bound.
"""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tflmake.cache.store import Store
from tflmake.digest import sha256_file
from tflmake.errors import TflmakeError

_SIZE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def verify_blobs(store: Store, sample: int, out: TextIO) -> int:
    """Re-hash every blob of every entry (or of `sample` random entries); 1 if one is missing or corrupt."""
    paths = list(store.all_entry_paths())
    if sample:
        paths = random.sample(paths, min(sample, len(paths)))
    bad = checked = 0
    with tempfile.TemporaryDirectory(prefix="tflmake-cache-verify.") as folder:
        for path in paths:
            entry = store.read_entry_at(path) or {}
            outputs = entry.get("outputs")
            if not isinstance(outputs, dict) or not outputs:
                bad += 1
                out.write(f"{path}: not a valid entry\n")
                continue
            for role, record in sorted(outputs.items()):
                checked += 1
                problem = _blob_problem(store, record.get("sha256", ""), os.path.join(folder, "blob"))
                if problem:
                    bad += 1
                    out.write(f"{entry.get('task', path)}: {role}: {problem}\n")
    out.write(f"verified {checked} blobs of {len(paths)} entries: {bad} bad\n")
    return 1 if bad else 0


def _blob_problem(store: Store, digest: str, local: str) -> str | None:
    if not store.read_blob(digest, local):
        return f"blob {digest[:12]} is missing"
    actual = sha256_file(local)
    return None if actual == digest else f"blob {digest[:12]} is corrupt (its sha256 is {actual[:12]})"


def collect_garbage(store: Store, max_size: str, older_than: str, out: TextIO) -> int:
    """Remove entries older than `older_than`, then the least recently used until under `max_size`, then
    orphan blobs."""
    if not store.local:
        raise TflmakeError(f"cache gc works on folder caches; trim {store.url} with the bucket's lifecycle rules")
    if not max_size and not older_than:
        raise TflmakeError("cache gc needs --max-size SIZE and/or --older-than AGE")
    cutoff = time.time() - parse_age(older_than) if older_than else None
    result = trim(Path(store.root), parse_size(max_size) if max_size else None, cutoff)
    out.write(f"removed {result.entries_removed} entries and {result.blobs_removed} blobs; {result.entries_left} "
              f"entries, {result.bytes_left / 2**20:.1f} MB left\n")
    return 0


# Past its bound, the local cache is trimmed to this share of it, so the next writes do not trim again.
TRIM_TO = 0.9
# A blob no entry uses may be one a build has just written and is about to write the entry of.
ORPHAN_GRACE = 3600.0


def trim_to_bound(store: Store, bound: int) -> None:
    """After a write to the local cache: when its folder holds more than `bound` bytes, trim it to 90 %."""
    root = Path(store.root)
    if _folder_size(root) > bound:
        trim(root, int(bound * TRIM_TO), None)


@dataclass(frozen=True)
class Trimmed:
    """What a trim removed and left."""

    entries_removed: int
    blobs_removed: int
    entries_left: int
    bytes_left: int


def trim(root: Path, limit: int | None, cutoff: float | None) -> Trimmed:
    """Remove the entries last used before `cutoff`, then the least recently used ones until the folder holds
    at most `limit` bytes; a blob goes with the last entry that uses it, and blobs no entry used go once they
    are older than ORPHAN_GRACE. Entries go before their blobs, as publishing writes them after."""
    entries = sorted(((path.stat().st_mtime, path) for path in root.glob("ac/*/*/*.json") if path.is_file()),
                     key=lambda pair: pair[0])
    uses: dict[str, int] = {}
    blobs_of: dict[Path, set[str]] = {}
    for _, path in entries:
        blobs_of[path] = _blob_digests(path)
        for digest in blobs_of[path]:
            uses[digest] = uses.get(digest, 0) + 1
    blobs = {blob.name: blob for blob in root.glob("cas/*/*") if not blob.name.startswith(".")}
    size = _folder_size(root)
    removed = blobs_removed = 0
    orphan_before = time.time() - ORPHAN_GRACE
    for name, blob in blobs.items():
        if name not in uses and _stat(blob, "st_mtime") < orphan_before:
            size -= _unlink(blob)
            blobs_removed += 1
    while entries and ((cutoff is not None and entries[0][0] < cutoff) or (limit is not None and size > limit)):
        _, path = entries.pop(0)
        size -= _unlink(path)
        removed += 1
        for digest in blobs_of[path]:
            uses[digest] -= 1
            if not uses[digest] and digest in blobs:
                size -= _unlink(blobs[digest])
                blobs_removed += 1
    return Trimmed(removed, blobs_removed, len(entries), max(size, 0))


def _unlink(path: Path) -> int:
    """Remove a file (another process may have already); the bytes it held."""
    size = _stat(path, "st_size")
    path.unlink(missing_ok=True)
    return int(size)


def _stat(path: Path, field: str) -> float:
    try:
        return float(getattr(path.stat(), field))
    except OSError:
        return 0.0


def _blob_digests(entry_path: Path) -> set[str]:
    try:
        outputs: dict[str, Any] = json.loads(entry_path.read_text("utf-8")).get("outputs", {})
        return {record["sha256"] for record in outputs.values()}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return set()


def _folder_size(root: Path) -> int:
    """Bytes of every file under `root` (os.walk: no Path object per file)."""
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except OSError:
                pass  # removed meanwhile
    return total


def parse_size(text: str) -> int:
    """`500M`, `5G`, `1024` (bytes) -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", text.upper())
    if not match:
        raise TflmakeError(f"--max-size: expected a size such as 500M or 5G; got {text!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def parse_age(text: str) -> float:
    """`30d`, `12h`, `90m`, `2w` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not match:
        raise TflmakeError(f"--older-than: expected an age such as 30d or 12h; got {text!r}")
    return float(match.group(1)) * _AGE_UNITS[match.group(2)]
