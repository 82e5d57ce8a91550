"""Build-time corpus: valid specs whose builds must fail with one exact, clear line each."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.support import Project

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_specs" / "build_time"


def test_every_build_time_mistake_fails_with_its_line(project: Project) -> None:
    """Each broken model fails its own task with the expected one-line message, no traceback."""
    shutil.rmtree(project.specs)
    shutil.copytree(CORPUS, project.specs)
    run = project.doit("tflite")
    assert run.returncode != 0
    lines = run.output.splitlines()
    for spec in sorted(project.specs.glob("*.toml")):
        expected = re.findall(r"^# expect: (.*)$", spec.read_text(), flags=re.MULTILINE)
        assert expected and all(line in lines for line in expected), spec.name
    assert "Traceback" not in run.output
