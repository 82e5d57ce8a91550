"""The test suite's own rules: fixture specs of its own, system tools skipped or required by CI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, SPECS, require_tool

MISSING = "no-such-tool-tflmake"


def test_tests_never_read_the_working_trees_example_specs() -> None:
    """No test reads modelspecs/ or examples/ of the checkout: editing the examples breaks no test."""
    readers = [path.relative_to(REPO).as_posix() for path in sorted((REPO / "tests").rglob("*.py"))
               if re.search(r'REPO\s*/\s*"(modelspecs|examples)"', path.read_text())]
    assert readers == []
    assert {path.name for path in SPECS.glob("*.toml")} >= {"digits_mlp.toml", "digits_cnn.toml"}


@pytest.fixture
def unknown_tool(monkeypatch: pytest.MonkeyPatch) -> str:
    from tests import support

    monkeypatch.setitem(support.SYSTEM_TOOLS, MISSING, "tflmake-test-package")
    return MISSING


def test_missing_tool_skips_with_the_install_command(unknown_tool: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside CI a missing tool skips the test, saying which package installs it."""
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install tflmake-test-package"):
        require_tool(unknown_tool)


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_missing_tool_fails_under_ci(unknown_tool: str, monkeypatch: pytest.MonkeyPatch,
                                     value: str) -> None:
    """With CI set, a missing tool fails the test instead of skipping it."""
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_tool(unknown_tool)


def test_present_tool_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed tool's path comes back (sh is on every machine that runs the tests)."""
    monkeypatch.setitem(__import__("tests.support").support.SYSTEM_TOOLS, "sh", "dash")
    assert Path(require_tool("sh")).name == "sh"


def test_integration_tests_are_all_marked() -> None:
    """`-m "not integration"` collects nothing under tests/integration (its conftest marks them all)."""
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                          "-m", "not integration", "tests/integration"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 5, run.stdout[-2000:]  # 5: no tests collected
    assert re.search(r"\d+ deselected", run.stdout), run.stdout[-2000:]
