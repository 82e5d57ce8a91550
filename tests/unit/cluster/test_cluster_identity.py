"""A worker must match the driver (platform, tool versions, tflmake's code) or its job builds nothing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tflmake.cluster.identity import build_identity, difference
from tflmake.cluster.job import failure_line, run_job


def test_identity_of_one_process_matches_itself() -> None:
    assert difference(build_identity(), build_identity()) is None


def test_a_tool_version_difference_is_one_line_naming_both() -> None:
    """The message names the tool and both versions, worker first."""
    driver = build_identity()
    worker = copy.deepcopy(driver)
    worker["tools"]["tensorflow"] = "2.20.0"
    driver["tools"]["tensorflow"] = "2.21.0"
    assert difference(worker, driver) == "worker has tensorflow 2.20.0, driver 2.21.0"


def test_platform_and_code_differences_are_named() -> None:
    driver = build_identity()
    worker = copy.deepcopy(driver)
    worker["platform"]["python"] = "3.99"
    assert difference(worker, driver) == f"worker has python 3.99, driver {driver['platform']['python']}"
    worker = {**copy.deepcopy(driver), "code": "f" * 64}
    assert difference(worker, driver) == f"worker has tflmake code ffffffffffff, driver {driver['code'][:12]}"


def test_a_mismatched_job_fails_before_touching_the_cache(tmp_path: Path) -> None:
    """run_job with another driver's tensorflow: ok False, the one line, and the cache folder never created."""
    driver: dict[str, Any] = build_identity()
    driver["tools"]["tensorflow"] = "0.0.1"
    cache = tmp_path / "cache"
    payload = {"model": "m", "driver": driver, "files": {"modelspecs/m.toml": "0" * 64},
               "specs": "modelspecs", "tasks": ["dataset:m"],
               "cache": {"url": cache.as_posix(), "mode": "read-write"}, "submitted": 0.0}
    result = run_job(payload)
    assert result["ok"] is False
    assert result["message"] == f"worker has tensorflow {build_identity()['tools']['tensorflow']}, driver 0.0.1"
    assert not cache.exists()


def test_failure_line_names_the_failed_task_and_its_message() -> None:
    output = [".  dataset:m", "   dataset:m FAILED after 0.1s", "m (modelspecs/m.toml): dataset.path: no such file",
              "tflmake: 0 built, 0 restored from cache, 0 up to date, 1 failed"]
    assert failure_line(output) == "dataset:m FAILED after 0.1s: m (modelspecs/m.toml): dataset.path: no such file"
    assert failure_line(["", "Traceback ...", "ValueError: x", ""]) == "ValueError: x"
