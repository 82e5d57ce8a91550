"""The tree keeps its layers: no package imports from a layer above it (ARCHITECTURE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import REPO


def test_no_package_imports_from_a_layer_above_it() -> None:
    """import-linter's layers contract in pyproject.toml, run as CI runs it."""
    lint = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
