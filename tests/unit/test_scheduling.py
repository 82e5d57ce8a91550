"""The suite's own spread over pytest-xdist workers (tests/scheduling.py)."""

from __future__ import annotations

from tests.scheduling import LONG_POLES, start_rank, work_unit

CLUSTER = "tests/integration/test_cluster.py"


def test_a_module_with_a_module_scoped_fixture_runs_whole() -> None:
    assert work_unit(f"{CLUSTER}::test_after_a_cluster_build_all_is_up_to_date[dask-folder]") == CLUSTER
    assert work_unit("tests/integration/test_cache.py::test_x") == "tests/integration/test_cache.py"


def test_the_ray_client_tests_run_with_the_cluster_tests() -> None:
    assert work_unit("tests/integration/test_ray_client.py::test_a_started_ray_cluster_fills_the_cache") == CLUSTER


def test_other_tests_are_scheduled_one_by_one() -> None:
    test = "tests/integration/test_worker.py::test_worker_stop_ends_it_and_status_says_so"
    assert work_unit(test) == test
    assert work_unit("tests/unit/test_scheduling.py::test_x") == "tests/unit/test_scheduling.py::test_x"


def test_long_poles_start_first_then_integration_then_unit_tests() -> None:
    twenty = "tests/integration/test_worker.py::test_twenty_specs_through_one_worker_match_cold_builds_x"
    ranks = [start_rank(twenty), start_rank(f"{CLUSTER}::test_y[ray-folder]"),
             start_rank("tests/integration/test_worker.py::test_worker_stop_ends_it_and_status_says_so"),
             start_rank("tests/unit/test_scheduling.py::test_x")]
    assert ranks == [0, 1, len(LONG_POLES), len(LONG_POLES) + 1]
    assert start_rank("tests/integration/test_cluster_warm.py::test_z") == len(LONG_POLES)
