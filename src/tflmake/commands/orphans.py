"""Output folders under build/ whose spec is gone: listed by `status`, removed by `clean --orphans`.

doit only knows the tasks of the specs that exist, so `tflmake clean` never
touches `build/<model>/` of a deleted spec. A folder counts as an orphan only if
it looks like a model's outputs and no spec file (valid or not) could name it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from tflmake import exits
from tflmake.commands.settings import Settings, parse, parser
from tflmake.paths import Layout

# Files only a model's output folder holds; a folder with none of them is not ours to remove.
_OUTPUT_MARKERS = ("manifest.json", "dataset.npz", "report.json", "saved_model", "representative.npz")


def orphan_dirs(layout: Layout, models: Iterable[str], spec_files: Iterable[str | Path]) -> list[Path]:
    """`build/<name>/` folders of model outputs that no current spec builds.

    `models`: the model names of the valid specs; `spec_files`: every spec file,
    whose stems are kept too (an invalid spec may still mean that model).
    """
    root = Path(layout.build_dir)
    if not root.is_dir():
        return []
    kept = {*models, *(Path(path).stem for path in spec_files)}
    return sorted(folder for folder in root.iterdir()
                  if folder.is_dir() and not folder.is_symlink() and not folder.name.startswith(".")
                  and folder.name not in kept and _holds_outputs(folder))


def _holds_outputs(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in _OUTPUT_MARKERS) or any(folder.glob("*.tflite"))


def remove_orphans(folders: Iterable[Path]) -> list[str]:
    """Remove each folder; their paths, as removed."""
    removed = []
    for folder in folders:
        shutil.rmtree(folder)
        removed.append(folder.as_posix())
    return removed


def run(args: list[str], settings: Settings) -> int:
    """`tflmake clean --orphans`: remove build/<model>/ of specs that no longer exist."""
    from tflmake.paths import Layout
    from tflmake.spec.load import find_spec_files, load_specs

    command = parser("clean --orphans", "Remove the output folders of models whose spec is gone.")
    command.add_argument("--orphans", action="store_true", required=True)
    parse(command, args)
    files = find_spec_files(settings.specs)
    specs, _ = load_specs(files)
    removed = remove_orphans(orphan_dirs(Layout(settings.build_dir), [s.name for s in specs], files))
    print("\n".join(f"removed {path}/" for path in removed) if removed else "no orphaned model folders")
    return exits.OK
