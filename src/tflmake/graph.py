"""Specs -> doit task dicts. Pure and fast: it runs on every `doit`, even `doit list`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from doit.tools import config_changed

from tflmake.errors import SpecError
from tflmake.paths import Layout
from tflmake.reports import effective_gates
from tflmake.runner import fail_spec, run_project_step, run_step
from tflmake.spec import ModelSpec, find_spec_files, load_specs
from tflmake.toolversions import tool_versions

TaskDict = dict[str, Any]
TaskCreator = Callable[[], Iterator[TaskDict]]


def project_tasks(specs_dir: str = "modelspecs", build_dir: str = "build") -> dict[str, Any]:
    """The `task_*` creators and DOIT_CONFIG for a project, as a dodo module's globals."""
    layout = Layout(build_dir)
    specs, errors = load_specs(find_spec_files(specs_dir))
    return {
        "DOIT_CONFIG": doit_config(layout),
        **creators(specs, errors, layout),
    }


def doit_config(layout: Layout) -> dict[str, Any]:
    """doit settings: keep building other models when one fails; state DB under build/."""
    os.makedirs(layout.build_dir, exist_ok=True)
    return {
        "continue": True,
        "backend": "sqlite3",
        "dep_file": layout.dep_file,
    }


def creators(specs: list[ModelSpec], errors: list[SpecError], layout: Layout) -> dict[str, Any]:
    """One creator per task basename, in build order."""

    def task_spec() -> Iterator[TaskDict]:
        """Specs that failed validation (each fails with its message)."""
        yield {"basename": "spec", "name": None, "doc": (task_spec.__doc__ or "").strip()}
        for error in errors:
            yield {
                "basename": "spec",
                "name": Path(error.spec_path).stem,
                "actions": [(fail_spec, [str(error)])],
                "verbosity": 2,
            }

    def task_dataset() -> Iterator[TaskDict]:
        """Train/test split of each model's data set."""
        yield from _group("dataset", task_dataset.__doc__, (dataset_task(s, layout) for s in specs if s.dataset))

    def task_savedmodel() -> Iterator[TaskDict]:
        """SavedModel of each model: built and trained, or loaded."""
        yield from _group("savedmodel", task_savedmodel.__doc__, (savedmodel_task(s, layout) for s in specs
                                         if s.source["type"] != "frozen_graph"))

    def task_representative() -> Iterator[TaskDict]:
        """Representative (calibration) samples of each model."""
        yield from _group("representative", task_representative.__doc__, (representative_task(s, layout) for s in specs
                                             if any(v.needs_representative for v in s.variants)))

    def task_tflite() -> Iterator[TaskDict]:
        """Each .tflite variant."""
        yield from _group("tflite", task_tflite.__doc__, (tflite_task(s, v.name, layout) for s in specs
                                     for v in s.variants))

    def task_carray() -> Iterator[TaskDict]:
        """C arrays (.h/.c) of variants with c_array = true."""
        yield from _group("carray", task_carray.__doc__, (carray_task(s, v.name, layout) for s in specs
                                     for v in s.variants if v.c_array))

    evaluated = [s for s in specs if s.dataset]

    def task_evaluate() -> Iterator[TaskDict]:
        """Measure every variant on the test split (report.json, tradeoff.png)."""
        yield from _group("evaluate", task_evaluate.__doc__,
                          (evaluate_task(s, layout) for s in evaluated))

    def task_report() -> Iterator[TaskDict]:
        """Check each model's quality gates and write its report.md."""
        yield from _group("report", task_report.__doc__,
                          (report_task(s, layout) for s in evaluated))

    def task_summary() -> Iterator[TaskDict]:
        """Project report: build/report.md and build/report.html, every model on one page."""
        yield {"basename": "summary", "doc": (task_summary.__doc__ or "").strip(),
               **summary_task(evaluated, layout)}

    return {f"task_{creator.__name__[5:]}": creator for creator in
            (task_spec, task_dataset, task_savedmodel, task_representative, task_tflite,
             task_carray, task_evaluate, task_report, task_summary)}


def _group(basename: str, doc: str | None, tasks: Iterator[TaskDict]) -> Iterator[TaskDict]:
    # The group task first, so `doit <basename>` works even when no spec has one.
    yield {"basename": basename, "name": None, "doc": (doc or "").strip()}
    for task in tasks:
        yield {"basename": basename, **task}


def dataset_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    assert spec.dataset is not None
    files = [spec.resolve(spec.dataset[key]) for key in ("path", "test_path") if key in spec.dataset]
    return {
        "name": spec.name,
        "actions": [(run_step, ["dataset", spec, layout])],
        "file_dep": files,
        "targets": [layout.dataset(spec.name)],
        "uptodate": [config_changed({"dataset": spec.dataset,
                                     "tools": tool_versions("numpy", "scikit-learn")})],
        "clean": True,
    }


def savedmodel_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    file_dep = source_files(spec)
    if spec.trains:
        file_dep.append(layout.dataset(spec.name))
    return {
        "name": spec.name,
        "actions": [(run_step, ["savedmodel", spec, layout])],
        "file_dep": file_dep,
        "targets": [layout.saved_model_stamp(spec.name)],
        "uptodate": [config_changed({"source": spec.source, "train": spec.train,
                                     "tools": tool_versions("tensorflow", "keras")})],
        "clean": [(_remove_tree, [layout.saved_model_dir(spec.name)])],
    }


def representative_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    return {
        "name": spec.name,
        "actions": [(run_step, ["representative", spec, layout])],
        "file_dep": [layout.dataset(spec.name)],
        "targets": [layout.representative(spec.name)],
        "uptodate": [config_changed({"representative": spec.representative,
                                     "tools": tool_versions("numpy")})],
        "clean": True,
    }


def tflite_task(spec: ModelSpec, variant_name: str, layout: Layout) -> TaskDict:
    variant = spec.variant(variant_name)
    if spec.source["type"] == "frozen_graph":
        file_dep, model_key = source_files(spec), {"source": spec.source}
    else:
        file_dep, model_key = [layout.saved_model_stamp(spec.name)], {}
    if variant.needs_representative:
        file_dep.append(layout.representative(spec.name))
    return {
        "name": f"{spec.name}.{variant.name}",
        "actions": [(run_step, ["tflite", spec, layout, variant.name])],
        "file_dep": file_dep,
        "targets": [layout.tflite(spec.name, variant.name)],
        "uptodate": [config_changed({"variant": variant.fragment(), **model_key,
                                     "tools": tool_versions("tensorflow")})],
        "clean": True,
    }


def carray_task(spec: ModelSpec, variant_name: str, layout: Layout) -> TaskDict:
    return {
        "name": f"{spec.name}.{variant_name}",
        "actions": [(run_step, ["carray", spec, layout, variant_name])],
        "file_dep": [layout.tflite(spec.name, variant_name)],
        "targets": [layout.carray_header(spec.name, variant_name),
                    layout.carray_source(spec.name, variant_name)],
        "uptodate": [config_changed({"model": spec.name, "variant": variant_name,
                                     "c_array": spec.c_array})],
        "clean": True,
    }


def evaluate_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    """Measurements only: a gate change does not re-run it, identical .tflite bytes neither.

    doit compares file_dep by content (md5) once their mtime moves, so a
    conversion that rewrites the same bytes leaves this task up to date.
    """
    file_dep = [layout.tflite(spec.name, v.name) for v in spec.variants]
    file_dep.append(layout.dataset(spec.name))
    # The firmware measurement (arena) is a dependency only where some task makes it;
    # without one, arena_bytes is reported as not measured.
    file_dep += [layout.firmware_manifest(spec.name, v.name) for v in spec.variants
                 if v.c_array and layout.firmware_manifest(spec.name, v.name)
                 in carray_task(spec, v.name, layout)["targets"]]
    return {
        "name": spec.name,
        "actions": [(run_step, ["evaluate", spec, layout])],
        "file_dep": file_dep,
        "targets": [layout.report_json(spec.name), layout.tradeoff_png(spec.name)],
        # Variant names and c_array only: everything else about a variant is in its bytes.
        "uptodate": [config_changed({
            "evaluation": spec.evaluation,
            "variants": [{"name": v.name, "c_array": v.c_array} for v in spec.variants],
            "tools": tool_versions("ai-edge-litert", "tflite-micro", "numpy", "matplotlib")})],
        "clean": True,
    }


def report_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    """Gates and report.md: cheap, so it re-runs alone when only a gate changes."""
    return {
        "name": spec.name,
        "actions": [(run_step, ["report", spec, layout])],
        "file_dep": [layout.report_json(spec.name)],
        "targets": [layout.report_md(spec.name)],
        "uptodate": [config_changed({"gates": effective_gates(spec)})],
        "clean": True,
    }


def summary_task(specs: list[ModelSpec], layout: Layout) -> TaskDict:
    """Reads the measurements, not the per-model reports, so it runs even when a gate failed."""
    file_dep = [path for s in specs for path in
                (layout.report_json(s.name), layout.tradeoff_png(s.name))]
    return {
        "actions": [(run_project_step, ["project_report", specs, layout])],
        "file_dep": file_dep,
        "targets": [layout.project_report_md, layout.project_report_html],
        "uptodate": [config_changed({s.name: effective_gates(s) for s in specs})],
        "clean": True,
    }


def source_files(spec: ModelSpec) -> list[str]:
    """The user's files a model source reads, so editing them rebuilds the model."""
    source = spec.source
    if source["type"] in ("keras_file", "frozen_graph"):
        return [spec.resolve(source["path"])]
    if source["type"] == "saved_model":
        root = Path(spec.resolve(source["path"]))
        return sorted(p.as_posix() for p in root.rglob("*") if p.is_file())
    if source["type"] == "python":
        module = source["entry"].split(":")[0].replace(".", "/")
        as_file = Path(spec.folder) / f"{module}.py"
        return [spec.resolve(f"{module}.py" if as_file.is_file() else f"{module}/__init__.py")]
    return []


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
