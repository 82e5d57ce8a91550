"""Which models `--executor` sends to the cluster: doit's stale cacheable tasks, grouped by model."""

from __future__ import annotations

from typing import Any

from doit.cmd_base import DoitCmdBase, ModuleTaskLoader
from doit.doit_cmd import DoitMain

from tests.support import MINIMAL_SPEC, Project
from tflmake.commands.cluster import stale_models
from tflmake.graph.tasks import project_tasks

VARIANTS = '\n[[variant]]\nname = "int8"\nquantize = "int8"\nc_array = true\n'


def models_sent(selection: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Each model stale_models sends, with its cacheable tasks."""
    return [(model.spec.name, model.tasks) for model in stale(selection)]


def stale(selection: list[str]) -> list[Any]:
    """stale_models over the working directory's project, as doit loads it (a real task list and state DB)."""
    found: list[Any] = []

    class Probe(DoitCmdBase):  # type: ignore[misc]
        name = "probe"

        def _execute(self, pos_args: list[str] | None = None) -> int:
            found.extend(stale_models(self.task_list, self.dep_manager, selection))
            self.dep_manager.close()
            return 0

    class Main(DoitMain):  # type: ignore[misc]
        DOIT_CMDS = (*DoitMain.DOIT_CMDS, Probe)

    assert Main(ModuleTaskLoader(project_tasks("modelspecs", "build", ["probe"]))).run(["probe"]) == 0
    return found


def test_every_model_of_a_fresh_project_is_sent_with_its_cacheable_tasks(cli_project: Project) -> None:
    """Never built: each valid model, its cacheable tasks in build order; a broken spec is left to the build."""
    cli_project.add_spec("alpha", MINIMAL_SPEC + VARIANTS)
    cli_project.add_spec("beta", MINIMAL_SPEC + VARIANTS)
    cli_project.add_spec("broken", "[model.source]\ntype = 3\n")
    assert models_sent([]) == [
        (name, (f"dataset:{name}", f"savedmodel:{name}", f"representative:{name}", f"tflite:{name}.float32",
                f"tflite:{name}.int8", f"carray:{name}.int8"))
        for name in ("alpha", "beta")]


def test_task_names_limit_the_jobs_to_their_models(cli_project: Project) -> None:
    """`tflmake --executor ... tflite:beta.int8` sends beta only; a bare kind (`tflite`) sends every model."""
    cli_project.add_spec("alpha", MINIMAL_SPEC + VARIANTS)
    cli_project.add_spec("beta", MINIMAL_SPEC + VARIANTS)
    assert [name for name, _ in models_sent(["tflite:beta.int8"])] == ["beta"]
    assert [name for name, _ in models_sent(["tflite"])] == ["alpha", "beta"]


def test_the_stale_tasks_come_with_what_the_cache_keys_them_by(cli_project: Project) -> None:
    """Never built: every cacheable task is stale, its facts in build order (the driver looks them up first)."""
    cli_project.add_spec("alpha", MINIMAL_SPEC + VARIANTS)
    [model] = stale([])
    assert [facts.name for facts in model.stale] == list(model.tasks)
    assert {(facts.model, facts.build_dir, facts.spec_folder) for facts in model.stale} == {
        ("alpha", "build", "modelspecs")}
    by_name = {facts.name: facts for facts in model.stale}
    assert "build/alpha/int8.tflite" in by_name["carray:alpha.int8"].inputs
    assert by_name["tflite:alpha.int8"].fragment["variant"]["quantize"] == "int8"
