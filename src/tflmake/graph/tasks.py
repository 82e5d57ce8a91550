"""Specs -> doit task dicts. Pure and fast: it runs on every `doit`, even `doit list`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from tflmake import keys
from tflmake.engine import noop
from tflmake.engine.filestats import MD5Checker
from tflmake.engine.fingerprint import key_and_targets_unchanged
from tflmake.engine.lastrun import PROJECT_META
from tflmake.engine.lock import hold_build_lock, needs_build_lock
from tflmake.engine.reporter import MODEL_GROUP, TflmakeReporter
from tflmake.engine.runner import fail_spec, remember_model_tasks, run_project_step, run_step
from tflmake.engine.taskcache import TaskCache
from tflmake.engine.toolversions import load_cached_versions, save_cached_versions, tool_versions
from tflmake.errors import SpecError
from tflmake.kinds import BACKENDS, DATASET_KINDS, TASK_KINDS, VELA_TOOLS
from tflmake.paths import Layout
from tflmake.signing.config import SigningConfig
from tflmake.signing.config import fragment as signing_fragment
from tflmake.signing.config import from_environment as signing_from_environment
from tflmake.signing.keys import SIGNING_TOOLS, Identity, check_signing
from tflmake.signing.shipped import variant_shipped_files
from tflmake.spec.cache import ValidSpecCache
from tflmake.spec.datafiles import dataset_files as data_set_files
from tflmake.spec.load import (
    ModelSpec,
    Variant,
    find_spec_files,
    missing_files,
    name_clashes,
    read_spec_text,
    spec_from_text,
)
from tflmake.spec.provenance import MANIFEST_TOOLS, spec_sections
from tflmake.spec.python_entry import entry_parts, local_imports
from tflmake.spec.rules import float_source, pruning_options
from tflmake.tflite.names import REWRITE_TOOLS

TaskDict = dict[str, Any]
TaskCreator = Callable[[], Iterator[TaskDict]]


def project_tasks(specs_dir: str = "modelspecs", build_dir: str = "build",
                  argv: list[str] | None = None) -> dict[str, Any]:
    """The `task_*` creators and DOIT_CONFIG for a project, as a dodo module's globals.

    `argv` is the doit command line (default: this process's); a command that
    only reads (`list`, `status`, ...) does not wait for the build lock.
    """
    layout = Layout(build_dir)
    config = doit_config(layout, needs_build_lock(sys.argv[1:] if argv is None else argv))
    load_cached_versions(layout.tool_versions_cache)
    spec_files = find_spec_files(specs_dir)
    models, errors = load_models(spec_files, layout, signing_from_environment())
    save_cached_versions(layout.tool_versions_cache)
    if noop.record_expected():  # a full build: what it reads besides the tasks' files, for the no-op record
        folders = (folder for spec, _ in models for folder in folders_read(spec))
        noop.note_inputs([specs_dir, *map(os.fspath, spec_files), *folders])
    return {"DOIT_CONFIG": config, **creators(models, errors, layout)}


Model = tuple[ModelSpec, list[TaskDict]]


def load_models(paths: Iterable[str | os.PathLike[str]], layout: Layout,
                signing: SigningConfig | None = None) -> tuple[list[Model], list[SpecError]]:
    """Each valid spec with its task dicts; broken specs come back as errors so the others still build.

    Specs whose text and inputs are unchanged come from the task cache instead
    of being loaded and described again (see taskcache). `signing`: the run's
    signing settings (None: off); its keys are checked only when a spec is described.
    """
    known_tasks = TaskCache(layout.task_cache, layout.build_dir, file_facts, signing_fragment(signing))
    identity = _LazyIdentity(signing)
    known_valid = ValidSpecCache(layout.spec_cache)
    models: list[Model] = []
    errors: list[SpecError] = []
    for path in sorted(paths, key=lambda p: Path(p).as_posix()):
        try:
            text = read_spec_text(path)
            model = known_tasks.lookup(os.fspath(path), text)
            if model is None:
                spec = spec_from_text(text, path, known_valid)
                signed = identity()
                model = spec, model_tasks(spec, layout, signed) if signed else model_tasks(spec, layout)
                known_tasks.store(os.fspath(path), text, *model)
            else:
                known_valid.keep(text)
            models.append(model)
        except SpecError as error:
            errors.append(error)
    clashes = name_clashes(spec for spec, _ in models)
    clashed = {error.spec_path for error in clashes}
    known_valid.save()
    known_tasks.save()
    return [model for model in models if model[0].spec_path not in clashed], errors + clashes


class _LazyIdentity:
    """Who signs, worked out on first use: loading the keys imports cryptography (~40 ms), which a
    no-op whose task dicts come from the task cache never needs."""

    def __init__(self, signing: SigningConfig | None) -> None:
        self._signing = signing if signing is not None and signing.signs else None
        self._identity: Identity | None = None

    def __call__(self) -> Identity | None:
        if self._signing is not None and self._identity is None:
            self._identity = check_signing(self._signing)
        return self._identity


def file_facts(spec: ModelSpec) -> tuple[list[str], list[str]]:
    """What a spec's tasks depend on besides its text: which named files are missing, and every
    user file a task reads (so a new file in a listed folder or a new local import is seen)."""
    return missing_files(spec), input_files(spec)


def input_files(spec: ModelSpec) -> list[str]:
    """Every file outside the build directory that one of the spec's tasks lists in file_dep.

    The task cache compares this list, so a task must take its user files from here
    (tests/unit/test_kinds.py checks every task's file_dep against it).
    """
    files = source_files(spec) + (dataset_files(spec) if spec.dataset else [])
    files += [spec.resolve(v.recipe) for v in spec.variants if isinstance(v.recipe, str)]
    files += [spec.resolve(v.vela_config) for v in spec.variants if v.vela_config]
    if "indices_file" in spec.representative:
        files.append(spec.resolve(spec.representative["indices_file"]))
    return sorted(set(files))


def folders_read(spec: ModelSpec) -> list[str]:
    """Every folder whose listing decides `input_files(spec)`, so a file added to one is noticed: the
    spec's folder (local imports), each input file's folder, and every folder below a source or data folder."""
    folders = {spec.folder} | {os.path.dirname(path) or "." for path in input_files(spec)}
    roots = [spec.source["path"]] if spec.source_kind.path is not None else []
    roots += spec.source.get("sources", [])
    if spec.dataset:
        dataset: dict[str, Any] = dict(spec.dataset)
        roots += [dataset[key] for key in DATASET_KINDS[dataset["type"]].folders if key in dataset]
    for root in map(spec.resolve, roots):
        for folder, subfolders, _ in os.walk(root):
            subfolders[:] = [name for name in subfolders if name != "__pycache__"]
            folders.add(folder)
    return sorted(folders)


def doit_config(layout: Layout, lock: bool = True) -> dict[str, Any]:
    """doit settings: keep going when one model fails; state DB under build/; our reporter."""
    os.makedirs(layout.build_dir, exist_ok=True)
    if lock:
        hold_build_lock(layout.build_dir)
        noop.remove_record(layout.build_dir)  # this run may change what the record proves
    return {
        "continue": True,
        "backend": state_backend(),
        "check_file_uptodate": MD5Checker,  # doit's, with stats shared between tasks (filestats)
        "dep_file": layout.dep_file,
        "reporter": TflmakeReporter,
    }


def state_backend() -> str:
    """tflmake's doit backend (statedb) when doit has it, else doit's sqlite3 (same file)."""
    # doit imports every registered backend before it reads a dodo file; tflmake's
    # is registered by installing the package, not by putting src/ on PYTHONPATH.
    return "tflmake" if "tflmake.engine.statedb" in sys.modules else "sqlite3"


def creators(models: list[Model], errors: list[SpecError], layout: Layout) -> dict[str, TaskCreator]:
    """The project's one task creator: each basename's group task, then its tasks of every model.

    One creator rather than one per basename: doit reads the source lines of
    every creator on every run to order them (~5 ms of a 50-spec no-op for eleven).
    """
    tasks = [spec_error_task(error) for error in errors]
    tasks += [task for _, described in models for task in described]
    specs = [spec for spec, _ in models]
    remember_model_tasks({spec.name: described for spec, described in models})
    by_basename: dict[str, list[TaskDict]] = {basename: [] for basename in TASK_KINDS}
    for task in tasks:
        by_basename[task["basename"]].append(task)

    def task_tflmake() -> Iterator[TaskDict]:
        """Every tflmake task (see `doit list`)."""
        for basename, kind in TASK_KINDS.items():
            if kind.arity == "project":
                yield {"basename": basename, "doc": kind.doc,
                       **summary_task([s for s in specs if s.dataset], layout, invalid_models(errors))}
                continue
            # The group task first, so `doit <basename>` works even when no spec has one.
            # Up to date by itself (its subtasks still run when stale): doit would
            # otherwise "run" each empty group and write its state to the DB on every no-op.
            if kind.opt_in and not by_basename[basename]:
                continue  # signing is off: the task list stays what it was
            yield {"basename": basename, "name": None, "doc": kind.doc, "uptodate": [True]}
            # Copies: doit pops keys from the dicts it is given.
            yield from (dict(task) for task in by_basename[basename])
        for spec, described in models:
            if spec.name not in TASK_KINDS:  # `tflmake report` keeps meaning every model's report
                yield model_group_task(spec.name, described)

    return {"task_tflmake": task_tflmake}


def model_group_task(model: str, described: list[TaskDict]) -> TaskDict:
    """A task named after the model that runs all of its tasks: `tflmake <model>`."""
    return {"basename": model, "actions": [], "doc": f"Every task of model {model} (dataset to report).",
            "task_dep": [f"{task['basename']}:{task['name']}" for task in described],
            "uptodate": [True], "meta": {MODEL_GROUP: True}}


def model_tasks(spec: ModelSpec, layout: Layout, signing: Identity | None = None) -> list[TaskDict]:
    """Every task of one model, in build order: artifacts, their manifest, their signatures (`signing`: who
    signs; None when signing is off), then the evaluation."""
    tasks = artifact_tasks(spec, layout)
    tasks.append(manifest_task(spec, layout, tasks))
    if signing is not None:
        tasks += [sign_task(spec, v.name, layout, signing) for v in spec.variants]
        tasks.append(sign_manifest_task(spec, layout, signing))
    if spec.dataset:
        tasks += [evaluate_task(spec, layout, signing), report_task(spec, layout)]
        if spec.select:
            tasks.append(select_task(spec, layout))
    return tasks


def artifact_tasks(spec: ModelSpec, layout: Layout) -> list[TaskDict]:
    """The tasks whose outputs are the model's artifacts (what its manifest records)."""
    tasks = []
    if spec.dataset:
        tasks.append(dataset_task(spec, layout))
    if spec.source_kind.saved_model:
        tasks.append(savedmodel_task(spec, layout))
    pruned = {json.dumps(pruning_options(spec, v), sort_keys=True): v for v in spec.variants if v.prune}
    tasks += [prune_task(spec, variant.name, layout) for variant in pruned.values()]
    if any(v.needs_representative for v in spec.variants):
        tasks.append(representative_task(spec, layout))
    tasks += [tflite_task(spec, v.name, layout) for v in spec.variants]
    tasks += [vela_task(spec, v.name, layout) for v in spec.variants if v.accelerator]
    tasks += [carray_task(spec, v.name, layout) for v in spec.variants if v.c_array]
    return tasks


def spec_error_task(error: SpecError) -> TaskDict:
    return {
        "basename": "spec",
        "name": Path(error.spec_path).stem,
        "actions": [(fail_spec, [str(error)])],
        "verbosity": 2,
    }


def _artifact_task(basename: str, name: str, key: dict[str, Any], **fields: Any) -> TaskDict:
    """A task that writes file targets: up to date while its key and targets' bytes are unchanged."""
    return {"basename": basename, "name": name, "clean": True, **fields,
            "uptodate": [key_and_targets_unchanged(key)]}


def dataset_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    assert spec.dataset is not None
    return _artifact_task(
        "dataset", spec.name,
        {"dataset": spec.dataset, "tools": tool_versions(*DATASET_KINDS[spec.dataset["type"]].tools)},
        actions=[(run_step, ["dataset", spec, layout])],
        file_dep=dataset_files(spec),
        targets=[layout.dataset(spec.name)])


def savedmodel_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    file_dep = source_files(spec)
    if spec.dataset and spec.source_kind.keras:
        # Trained on it, or (a loaded .keras/.h5) checked against its sample shape before anything
        # converts or calibrates: a mismatch is one line naming both shapes.
        file_dep.append(layout.dataset(spec.name))
    # A model file Keras 3 cannot read is loaded by Keras 2 when installed (builders/legacy_keras).
    tools = spec.source_kind.tools
    return _artifact_task(
        "savedmodel", spec.name,
        {"source": spec.source, "train": spec.train, "tools": tool_versions(*tools)},
        actions=[(run_step, ["savedmodel", spec, layout])],
        file_dep=file_dep,
        # The Keras weights are a target too, so builds from before pruning and QAT
        # existed (no weights file) retrain once instead of failing in the prune task.
        targets=[layout.saved_model_stamp(spec.name)] +
        ([layout.keras_weights(spec.name)] if spec.source_kind.keras else []),
        clean=[(_remove_tree, [layout.saved_model_dir(spec.name)])])


def representative_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    return _artifact_task(
        "representative", spec.name,
        {"representative": spec.representative, "tools": tool_versions("numpy")},
        actions=[(run_step, ["representative", spec, layout])],
        file_dep=[layout.dataset(spec.name)] + [spec.resolve(spec.representative[key])
                                                for key in ("indices_file",) if key in spec.representative],
        targets=[layout.representative(spec.name)])


def prune_task(spec: ModelSpec, variant_name: str, layout: Layout) -> TaskDict:
    """Fine-tune the trained model to a sparsity; keyed by the prune options and seed alone."""
    options = pruning_options(spec, spec.variant(variant_name))
    return _artifact_task(
        "prune", f"{spec.name}.{Path(layout.pruned_dir(spec.name, options)).name}",
        {**options, "tools": tool_versions("tensorflow", "keras")},
        actions=[(run_step, ["prune", spec, layout, variant_name])],
        file_dep=[layout.saved_model_stamp(spec.name), layout.dataset(spec.name)],
        targets=[layout.pruned_stamp(spec.name, options)],
        clean=[(_remove_tree, [layout.pruned_dir(spec.name, options)])])


def tflite_task(spec: ModelSpec, variant_name: str, layout: Layout) -> TaskDict:
    variant = spec.variant(variant_name)
    if not spec.source_kind.saved_model:
        file_dep, model_key = source_files(spec), {"source": spec.source}
    elif variant.prune:
        file_dep, model_key = [layout.pruned_stamp(spec.name, pruning_options(spec, variant))], {}
    else:
        file_dep, model_key = [layout.saved_model_stamp(spec.name)], {}
    if variant.qat:
        # QAT fine-tunes on the training split.
        file_dep.append(layout.dataset(spec.name))
    if variant.keep_float_search and layout.dataset(spec.name) not in file_dep:
        # The search measures every candidate on the test split.
        file_dep.append(layout.dataset(spec.name))
    if variant.needs_representative:
        file_dep.append(layout.representative(spec.name))
    if BACKENDS[variant.backend].quantizes_float_tflite:
        # One conversion, many quantizations: the quantizer reads the float32 variant's bytes.
        source = float_source(spec)
        assert source is not None
        file_dep = [layout.tflite(spec.name, source.name)] + file_dep[1:]
    tools = BACKENDS[variant.backend].tools
    if variant.strip_names:
        tools = tools + tuple(tool for tool in REWRITE_TOOLS if tool not in tools)
    if isinstance(variant.recipe, str):
        file_dep.append(spec.resolve(variant.recipe))
    return _artifact_task(
        "tflite", f"{spec.name}.{variant.name}",
        {"variant": variant.fragment(), **model_key, "tools": tool_versions(*tools)},
        actions=[(run_step, ["tflite", spec, layout, variant.name])],
        file_dep=file_dep,
        # A search's trace is a target: a rebuild with nothing changed repeats no search.
        targets=[layout.tflite(spec.name, variant.name)] +
        ([layout.float_search(spec.name, variant.name)] if variant.keep_float_search else []))


def vela_task(spec: ModelSpec, variant_name: str, layout: Layout) -> TaskDict:
    """Vela compiles the int8 `.tflite` for the variant's Ethos-U; keyed by its options alone."""
    variant = spec.variant(variant_name)
    file_dep = [layout.tflite(spec.name, variant.name)]
    if variant.vela_config:
        file_dep.append(spec.resolve(variant.vela_config))
    return _artifact_task(
        "vela", f"{spec.name}.{variant.name}",
        {"vela": variant.vela_options(), "tools": tool_versions(*VELA_TOOLS)},
        actions=[(run_step, ["vela", spec, layout, variant.name])],
        file_dep=file_dep,
        targets=layout.vela_outputs(spec.name, variant.name))


def carray_task(spec: ModelSpec, variant_name: str, layout: Layout) -> TaskDict:
    variant = spec.variant(variant_name)
    front_end = spec.dataset is not None and DATASET_KINDS[spec.dataset["type"]].front_end
    file_dep = [layout.tflite(spec.name, variant.name)]
    if variant.accelerator:
        # The bundle carries the Vela model and states its estimates; the int8 model gives the golden vector.
        file_dep += [layout.vela_tflite(spec.name, variant.name), layout.vela_estimates(spec.name, variant.name)]
    if spec.dataset:
        # The golden test vector and the class labels come from the split data set.
        file_dep.append(layout.dataset(spec.name))
    key_ids, key_files = keys.bundle_key_ids(variant.encrypt)
    return _artifact_task(
        "carray", f"{spec.name}.{variant.name}",
        {"model": spec.name, "variant": variant.name, "quantize": variant.quantize, "c_array": spec.c_array,
         # The bundle states the data set's input scaling (RAW_SCALE macros) and, from the whole
         # [dataset] table, its input contract and C front end.
         "raw_scale": spec.dataset.get("scale", 1.0) if spec.dataset else None,
         **({"dataset": spec.dataset} if front_end else {}),
         **key_ids,
         "tools": tool_versions("tflite-micro")},
        actions=[(run_step, ["carray", spec, layout, variant.name])],
        file_dep=file_dep + key_files,
        targets=layout.firmware_bundle(spec.name, variant.name, front_end, crypto=bool(key_ids)))


def manifest_task(spec: ModelSpec, layout: Layout, upstream: list[TaskDict]) -> TaskDict:
    """Depends on every artifact of the model, so it is rewritten whenever one changes."""
    artifacts = [target for task in upstream for target in task["targets"]]
    return _artifact_task(
        "manifest", spec.name, {"sections": spec_sections(spec), "tools": tool_versions(*MANIFEST_TOOLS)},
        actions=[(run_step, ["manifest", spec, layout, artifacts, input_files(spec)])],
        file_dep=artifacts + input_files(spec),
        targets=[layout.manifest(spec.name)])


def _signing_key(signing: Identity) -> dict[str, Any]:
    """What a signature depends on besides the bytes it covers: the mode, the key id, the library's version."""
    return {"signing": {"mode": signing.mode, "key_id": signing.key_id}, "tools": tool_versions(*SIGNING_TOOLS)}


def sign_task(spec: ModelSpec, variant_name: str, layout: Layout, signing: Identity) -> TaskDict:
    """Sign the variant's shipped files; again when their bytes or the key change, never from its own bytes."""
    return _artifact_task(
        "sign", f"{spec.name}.{variant_name}", _signing_key(signing),
        actions=[(run_step, ["sign", spec, layout, variant_name])],
        file_dep=variant_shipped_files(spec, layout, variant_name),
        targets=[layout.signature(spec.name, variant_name)])


def sign_manifest_task(spec: ModelSpec, layout: Layout, signing: Identity) -> TaskDict:
    return _artifact_task(
        "sign_manifest", spec.name, _signing_key(signing),
        actions=[(run_step, ["sign_manifest", spec, layout])],
        file_dep=[layout.manifest(spec.name)],
        targets=[layout.manifest_signature(spec.name)])


def evaluate_task(spec: ModelSpec, layout: Layout, signing: Identity | None = None) -> TaskDict:
    """Measurements only: a gate change does not re-run it, identical .tflite bytes neither.

    doit compares file_dep by content (md5) once their mtime moves, so a
    conversion that rewrites the same bytes leaves this task up to date.
    """
    file_dep = [layout.tflite(spec.name, v.name) for v in spec.variants]
    file_dep.append(layout.dataset(spec.name))
    # Reuse the firmware bundle's arena measurement instead of measuring twice.
    file_dep += [layout.firmware_manifest(spec.name, v.name) for v in spec.variants if v.c_array]
    # The C front end, compiled and run over the raw test split (raw -> C -> TFLite Micro).
    if spec.dataset is not None and DATASET_KINDS[spec.dataset["type"]].front_end:
        file_dep += [path for v in spec.variants if v.c_array for path in layout.frontend_sources(spec.name, v.name)]
    # Vela's estimates, reported beside the host measurements of the int8 model.
    file_dep += [layout.vela_estimates(spec.name, v.name) for v in spec.variants if v.accelerator]
    # The float search's ranking and candidates, reported with the variant it chose.
    file_dep += [layout.float_search(spec.name, v.name) for v in spec.variants if v.keep_float_search]
    # The Keras layer list (what the converter fused) and the measured sparsity of pruned models.
    if spec.source_kind.saved_model:
        file_dep.append(layout.saved_model_stamp(spec.name))
    file_dep += sorted({layout.pruned_stamp(spec.name, pruning_options(spec, v))
                        for v in spec.variants if v.prune})
    # Who signs (the report says it), never the signatures' bytes: they differ from run to run.
    signed = {"signing": signing._asdict()} if signing is not None else {}
    return _artifact_task(
        "evaluate", spec.name,
        # Variant names and c_array only: everything else about a variant is in its bytes.
        {"evaluation": spec.evaluation,
         "variants": [{"name": v.name, "c_array": v.c_array, **_optimization_labels(v)}
                      for v in spec.variants],
         "tools": tool_versions("ai-edge-litert", "tflite-micro", "numpy", "matplotlib"), **signed},
        actions=[(run_step, ["evaluate", spec, layout, *([signing] if signing is not None else [])])],
        file_dep=file_dep,
        targets=[layout.report_json(spec.name), layout.tradeoff_png(spec.name)])


def _optimization_labels(variant: Variant) -> dict[str, Any]:
    """What the report says about a variant's optimizations (empty for plain variants)."""
    fragment = variant.fragment()
    return {key: fragment[key] for key in ("backend", "keep_float", "keep_float_search", "prune", "qat")
            if key in fragment}


def report_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    """Gates and report.md: cheap, so it re-runs alone when only a gate changes.

    With `[select]` it explains the choice too, from the bundles' facts (their flash).
    """
    key: dict[str, Any] = {"gates": spec.effective_gates()}
    file_dep = [layout.report_json(spec.name)]
    if spec.select:  # absent otherwise, so reports of specs without [select] stay up to date
        key["select"] = spec.select
        file_dep += [layout.firmware_manifest(spec.name, name) for name in _exported(spec)]
    return _artifact_task(
        "report", spec.name, key,
        actions=[(run_step, ["report", spec, layout])],
        file_dep=file_dep,
        targets=[layout.report_md(spec.name)])


def select_task(spec: ModelSpec, layout: Layout) -> TaskDict:
    """The variant to ship under stable names: reruns when the measurements, a bundle, the exported
    variants' gates or `[select]` change, and only then."""
    exported = _exported(spec)
    front_end = spec.dataset is not None and DATASET_KINDS[spec.dataset["type"]].front_end
    file_dep = [layout.report_json(spec.name)]
    for name in exported:
        file_dep += [layout.firmware_manifest(spec.name, name), *layout.firmware_sources(spec.name, name),
                     *(layout.frontend_sources(spec.name, name) if front_end else [])]
    return _artifact_task(
        "select", spec.name,
        {"select": spec.select, "gates": {name: spec.gates_for(name) for name in exported}},
        actions=[(run_step, ["select", spec, layout])],
        file_dep=file_dep,
        targets=layout.selected_bundle(spec.name, front_end))


def _exported(spec: ModelSpec) -> list[str]:
    """The variants with a firmware bundle, in spec order: those `[select]` chooses among."""
    return [variant.name for variant in spec.variants if variant.c_array]


def summary_task(specs: list[ModelSpec], layout: Layout, invalid: dict[str, str] | None = None) -> TaskDict:
    """Reads the measurements, not the per-model reports, so it runs even when a gate failed.

    `invalid` (spec file stem -> first error): specs that do not validate, listed like failed builds.
    """
    invalid = invalid or {}
    file_dep = [path for s in specs for path in (layout.report_json(s.name), layout.tradeoff_png(s.name))]
    key: dict[str, Any] = {s.name: s.effective_gates() for s in specs}
    if invalid:  # not a model name (those are lowercase words), and absent while every spec is valid
        key["Invalid specs"] = invalid
    return {
        "actions": [(run_project_step, ["summary", specs, layout, invalid])],
        "file_dep": file_dep,
        "targets": [layout.project_report_md, layout.project_report_html],
        # Its targets' bytes too: when a model failed, the reporter rewrites them from what exists
        # (lastrun), and the next build must make them again whatever it finds up to date.
        "uptodate": [key_and_targets_unchanged(key)],
        "clean": True,
        # For the reporter: it builds the report from what exists when a model failed (lastrun).
        "meta": {PROJECT_META: (specs, layout, invalid)},
    }


def invalid_models(errors: list[SpecError]) -> dict[str, str]:
    """Each invalid spec's file stem -> `invalid spec: <file>: <key path>: <message>` (its first problem)."""
    return {Path(error.spec_path).stem: f"invalid spec: {Path(error.spec_path).as_posix()}: {error.problems[0]}"
            for error in errors if error.problems}


def source_files(spec: ModelSpec) -> list[str]:
    """The user's files a model source reads, so editing them rebuilds the model.

    For a `python` entry: every local module importing it executes (read with
    ast, not imported) and the files or folders listed in `sources`.
    """
    source = spec.source
    if spec.source_kind.path is not None:
        return _files_under(spec.resolve(source["path"]))
    if "entry" in source:
        module, _ = entry_parts(source["entry"])
        files = [spec.resolve(relative) for relative in local_imports(spec.folder, module)]
        if "weights" in source:
            files.append(spec.resolve(source["weights"]))
        for relative in source.get("sources", []):
            files += _files_under(spec.resolve(relative))
        return sorted(set(files))
    return []


def dataset_files(spec: ModelSpec) -> list[str]:
    """The user's files a data set reads (every image of an image folder), so a new one makes it stale."""
    return data_set_files(spec.dataset, spec.resolve, spec.folder) if spec.dataset else []


def _files_under(path: str) -> list[str]:
    """`path` itself when it is a file, else every file below it (sorted, POSIX)."""
    root = Path(path)
    if not root.is_dir():
        return [path]
    return sorted(p.as_posix() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
