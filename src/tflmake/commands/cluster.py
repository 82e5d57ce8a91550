"""`tflmake --executor URL`: doit's run command, preceded by a cluster pass that fills the shared cache.

doit decides what is stale (as `tflmake status` does); the cluster builds those
models' cacheable tasks into the cache; then doit's own run restores them.
"""

from __future__ import annotations

import sys
from typing import Any

from doit.cmd_run import Run

from tflmake.cache.config import CacheConfig
from tflmake.commands.status import INVALID, UP_TO_DATE, target_statuses
from tflmake.errors import TflmakeError
from tflmake.kinds import TASK_KINDS


def cluster_run(executor: str, specs_dir: str, cache: CacheConfig) -> type[Run]:
    """doit's Run command class, with the cluster pass over `executor` first."""

    class ClusterRun(Run):  # type: ignore[misc]
        name = "run"  # doit names a command by its class otherwise

        # doit calls _execute with the parameters its signature names: keep Run's exactly.
        def _execute(self, outfile: Any, verbosity: Any = None, always: bool = False, continue_: bool = False,
                     reporter: Any = "console", num_process: int = 0, par_type: str = "process",
                     single: bool = False, auto_delayed_regex: bool = False, force_verbosity: bool = False,
                     failure_verbosity: int = 0, pdb: bool = False) -> Any:
            from tflmake.cluster.driver import fill_cache

            models = stale_models(self.task_list, self.dep_manager, self.sel_tasks or [])
            try:
                fill_cache(executor, models, cache, specs_dir, say)
            except TflmakeError as error:
                self.dep_manager.close()
                print(f"tflmake: error: {error}", file=sys.stderr)
                return 2
            return super()._execute(outfile, verbosity, always, continue_, reporter, num_process, par_type,
                                    single, auto_delayed_regex, force_verbosity, failure_verbosity, pdb)

    return ClusterRun


def stale_models(task_list: list[Any], dep_manager: Any, selected: list[str]) -> list[Any]:
    """Each model with a cacheable task that is not up to date, with its cacheable tasks (build order)
    and the facts of those not up to date (the driver looks them up in the cache first).

    `selected` (doit's task selection) limits the models to those named in it, when it names any.
    """
    from tflmake.cache.key import facts_from_task
    from tflmake.cluster.plan import StaleModel

    named = {name.split(":", 1)[1].split(".", 1)[0] for name in selected if ":" in name}
    whole_kinds = [name for name in selected if ":" not in name]
    statuses = {status.task: status.state for status in target_statuses(task_list, dep_manager)}
    specs: dict[str, Any] = {}
    tasks: dict[str, list[str]] = {}
    stale: dict[str, list[Any]] = {}
    for task in task_list:
        kind = task.name.split(":", 1)[0]
        if ":" not in task.name or not TASK_KINDS[kind].cached:
            continue
        spec, layout = task.actions[0].args[1:3]
        if named and not whole_kinds and spec.name not in named:
            continue
        specs[spec.name] = spec
        tasks.setdefault(spec.name, []).append(task.name)
        if statuses.get(task.name) not in (UP_TO_DATE, INVALID):
            stale.setdefault(spec.name, []).append(facts_from_task(task, layout.build_dir, spec.folder, spec.name))
    return [StaleModel(specs[name], tuple(tasks[name]), tuple(stale[name])) for name in specs if name in stale]


def say(line: str) -> None:
    print(line, file=sys.stdout, flush=True)
