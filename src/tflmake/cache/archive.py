"""Folder outputs (a SavedModel) as one blob: a tar whose bytes depend only on the files' names and bytes."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path


def pack_folder(folder: str, archive: str) -> None:
    """Write `folder` as an uncompressed tar: sorted names, no times, owners or modes but the exec bit.

    Equal folders give equal bytes, so equal outputs share one blob.
    """
    root = Path(folder)
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
            name = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise OSError(f"{path}: a symlink in an output folder cannot be cached")
            info = tar.gettarinfo(str(path), arcname=name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.pax_headers = {}
            if path.is_dir():
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)


def unpack_folder(archive: str, folder: str) -> None:
    """Extract into the (empty) `folder`; files get the current time, as if just built.

    Restored files must not share one old timestamp: doit compares a file's mtime
    before its bytes, and two different restores with equal size and time would
    look unchanged to the tasks downstream.
    """
    with tarfile.open(archive, "r") as tar:
        tar.extractall(folder, filter="data")
    for path in Path(folder).rglob("*"):
        os.utime(path)
