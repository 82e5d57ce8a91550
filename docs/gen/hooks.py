"""MkDocs hooks: add the generated reference pages to the site (nothing generated is committed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import reference  # noqa: E402  (docs/gen is not a package: MkDocs loads this file by path)

PAGES = {
    "reference/spec.md": lambda: reference.render_spec_reference(reference.load_schema()),
    "reference/cli.md": reference.render_cli_reference,
    "reference/kinds.md": reference.render_kind_tables,
}


def on_files(files: Any, config: Any) -> Any:
    """Generate each reference page; stop the build when the spec reference misses a schema key."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    for path, render in PAGES.items():
        content = render()
        if path == "reference/spec.md":
            missing = reference.undocumented_keys(reference.load_schema(), content)
            if missing:
                raise PluginError(f"the spec reference does not show these schema keys: {', '.join(missing)}")
        files.append(File.generated(config, path, content=content))
    return files
