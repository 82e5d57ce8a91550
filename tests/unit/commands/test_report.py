"""`tflmake report` reads report.json files; it never imports TensorFlow."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tflmake.commands.report import run
from tflmake.commands.settings import Settings

DATA = Path(__file__).parents[2] / "data"


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    (tmp_path / "build" / "toy").mkdir(parents=True)
    shutil.copy(DATA / "report_toy.json", tmp_path / "build" / "toy" / "report.json")
    return tmp_path / "build"


def test_prints_one_row_per_variant_with_best_marked(build_dir: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--build-dir", str(build_dir), "--plain"], Settings()) == 0
    out = capsys.readouterr().out
    assert "toy (500 test samples)" in out
    assert "95.00 %*" in out and "int8: 3.52× smaller" in out


def test_diff_shows_what_moved(build_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    previous = json.loads((DATA / "report_toy.json").read_text())
    previous["variants"]["int8"]["size_bytes"] = 12000
    (build_dir / "toy" / "report.previous.json").write_text(json.dumps(previous))
    assert run(["--build-dir", str(build_dir), "--diff", "--plain"], Settings()) == 0
    assert "int8: size_bytes 12000 -> 11364 (-636, -5.3%)" in capsys.readouterr().out


def test_missing_report_is_an_error_with_a_hint(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--build-dir", str(tmp_path / "build")], Settings()) == 1
    assert "run `tflmake`" in capsys.readouterr().err


def test_unknown_model_is_an_error(build_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--build-dir", str(build_dir), "nosuch"], Settings()) == 1
    assert "no report.json for nosuch" in capsys.readouterr().err


def test_does_not_import_tensorflow_or_litert(build_dir: Path) -> None:
    code = ("import sys\nfrom tflmake.commands.report import run\nfrom tflmake.commands.settings import Settings\n"
            f"run(['--build-dir', {str(build_dir)!r}], Settings())\n"
            "print(sorted(m for m in ('tensorflow', 'ai_edge_litert', 'keras') "
            "if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().endswith("[]")
