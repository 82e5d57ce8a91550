"""How the suite spreads over pytest-xdist workers (`-n 2 --dist loadfile` in pyproject's addopts).

A module with a module-scoped fixture runs whole on one worker, so the fixture is built once;
test_ray_client.py runs with test_cluster.py, because its `ray stop --force` stops every Ray
process on the machine, a ray-local cluster's too. (`--dist loadgroup` with xdist_group marks
would say this, but pytest 9.2 drops the groups: pytest-xdist#1386.) The tests of any other
module go one by one to whichever worker is free. The long poles start first (measured with
`--durations`), then the other integration tests, then the unit tests, so no worker is left
alone with a long test at the end.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_WITH = {"tests/integration/test_ray_client.py": "tests/integration/test_cluster.py"}

# The longest tests and whole-module scopes (2026-12-08, two workers: 200-640 s each), longest first.
LONG_POLES = (
    "tests/integration/test_worker.py::test_twenty_specs_through_one_worker",
    "tests/integration/test_cluster.py",
    "tests/integration/test_ray_client.py",
    "tests/integration/test_cache.py",
    "tests/integration/test_worker.py::test_memory_after_fifty_builds",
    "tests/integration/test_legacy_models.py",
)


@functools.cache
def runs_whole(module: str) -> bool:
    """Whether `module` (a path from the root) holds a module-scoped fixture: its tests share one worker."""
    if module in RUN_WITH or module in RUN_WITH.values():
        return True
    path = ROOT / module
    if not path.is_file():
        return True
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.keyword) and node.arg == "scope" and isinstance(node.value, ast.Constant) \
                and node.value.value in ("module", "package"):
            return True
    return False


def work_unit(nodeid: str) -> str:
    """The scope a test is scheduled with: its module's (or the module it runs with), or the test alone."""
    module = nodeid.split("::", 1)[0]
    if runs_whole(module):
        return RUN_WITH.get(module, module)
    return nodeid


def start_rank(nodeid: str) -> int:
    """Where a test starts: a long pole's place in LONG_POLES, then integration tests, then unit tests."""
    for rank, pole in enumerate(LONG_POLES):
        if nodeid == pole or nodeid.startswith(pole if "::" in pole else pole + "::"):
            return rank
    return len(LONG_POLES) + (0 if nodeid.startswith("tests/integration/") else 1)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which starts the workers
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The unit tests alone (`-m "not integration"`) run in one process unless `-n` is given: two workers each
    collect the whole suite and start up, which took longer than the unit tests themselves (measured: 65 s on
    two workers, 39 s in one process)."""
    explicit = any(arg.startswith(("-n", "--numprocesses")) for arg in config.invocation_params.args)
    if config.getoption("markexpr", "") == "not integration" and not explicit \
            and getattr(config.option, "numprocesses", None):
        config.option.numprocesses = 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long poles first, then integration tests, then unit tests (a module's tests stay together)."""
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (start_rank(item.nodeid), order[id(item)]))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `--dist loadfile`: work units from `work_unit`, sent in collection order (not by size)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False

    class ByWorkUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ByWorkUnit(config, log)
