"""Looking after a cache: re-hash its blobs (any URL), trim a folder cache by age and size.

Buckets are trimmed by their own lifecycle rules; a folder (local or NFS) has
none, so `gc` removes entries first and then the blobs no entry points to.
Entries go before blobs, as publishing writes them after: never an entry
whose blob is gone.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import time
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
    """Remove entries older than `older_than`, then the oldest until under `max_size`, then orphan blobs."""
    if not store.local:
        raise TflmakeError(f"cache gc works on folder caches; trim {store.url} with the bucket's lifecycle rules")
    if not max_size and not older_than:
        raise TflmakeError("cache gc needs --max-size SIZE and/or --older-than AGE")
    root = Path(store.root)
    entries = sorted(root.glob("ac/*/*/*.json"), key=lambda p: p.stat().st_mtime)
    removed = 0
    if older_than:
        cutoff = time.time() - parse_age(older_than)
        while entries and entries[0].stat().st_mtime < cutoff:
            entries.pop(0).unlink()
            removed += 1
    blobs_removed = _remove_orphans(root, entries)
    if max_size:
        limit = parse_size(max_size)
        while entries and _folder_size(root) > limit:
            entries.pop(0).unlink()
            removed += 1
            blobs_removed += _remove_orphans(root, entries)
    out.write(f"removed {removed} entries and {blobs_removed} blobs; {len(entries)} entries, "
              f"{_folder_size(root) / 2**20:.1f} MB left\n")
    return 0


def _remove_orphans(root: Path, entries: list[Path]) -> int:
    wanted = set()
    for path in entries:
        wanted |= _blob_digests(path)
    removed = 0
    for blob in root.glob("cas/*/*"):
        if blob.name not in wanted and not blob.name.startswith("."):
            blob.unlink()
            removed += 1
    return removed


def _blob_digests(entry_path: Path) -> set[str]:
    import json

    try:
        outputs: dict[str, Any] = json.loads(entry_path.read_text("utf-8")).get("outputs", {})
        return {record["sha256"] for record in outputs.values()}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return set()


def _folder_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


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
