"""TOML spec files -> validated, frozen spec objects. Pure: no TensorFlow, no writes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tflmake.errors import SpecError
from tflmake.kinds import ACCELERATORS, METRICS, QUANTIZE_MODES, SOURCE_KINDS, QuantizeMode, SourceKind
from tflmake.spec.cache import ValidSpecCache
from tflmake.spec.converter_controls import converter_control_problems, variant_batch, variant_strip_names
from tflmake.spec.datafiles import dataset_problems, option_problems
from tflmake.spec.python_entry import entry_parts, module_file
from tflmake.spec.rules import optimization_problems, selection_problems
from tflmake.spec.schema import NAME_PATTERN, schema_problems, spec_schema

if TYPE_CHECKING:
    # Types only: TypedDict classes cost import time on every no-op.
    from tflmake.spec.sections import (
        CArraySection,
        DatasetSection,
        EvaluationSection,
        GatesSection,
        RepresentativeSection,
        SelectSection,
        SourceSection,
        TrainSection,
)

SYMBOL_FIELDS = ("model", "variant")


@dataclass(frozen=True)
class Variant:
    """One `.tflite` the spec asks for."""

    name: str
    quantize: str
    io_type: str
    c_array: bool
    # Out of the hash (a dict is unhashable) so Variant stays usable as a key, as on main.
    gates: dict[str, Any] = field(default_factory=dict, hash=False)
    backend: str = "converter"
    keep_float: tuple[str, ...] = ()
    # The accuracy target of a search for the fewest ops to keep in float (builders/float_search).
    keep_float_search: dict[str, Any] | None = field(default=None, hash=False)
    recipe: str | list[dict[str, Any]] | None = field(default=None, hash=False)
    prune: dict[str, Any] | None = field(default=None, hash=False)
    qat: dict[str, Any] | None = field(default=None, hash=False)
    batch: int | str = "dynamic"
    per_channel_dense: bool = True
    strip_names: bool = False
    # Vela (Ethos-U NPU): out of fragment(), so changing them re-runs Vela, not the conversion.
    accelerator: str | None = None
    system_config: str | None = None
    memory_mode: str | None = None
    vela_config: str | None = None
    # The firmware bundle's model AES-GCM encrypted: out of fragment(), only the carray task reads it.
    encrypt: bool = False

    @property
    def mode(self) -> QuantizeMode:
        return QUANTIZE_MODES[self.quantize]

    def vela_options(self) -> dict[str, str]:
        """What Vela compiles this variant with (the vela task's key); empty without an accelerator.

        Unset system_config and memory_mode are the accelerator's defaults (ACCELERATORS),
        so the key says exactly what Vela was told.
        """
        if self.accelerator is None:
            return {}
        kind = ACCELERATORS[self.accelerator]
        options = {"accelerator": self.accelerator,
                   "system_config": self.system_config or kind.system_config,
                   "memory_mode": self.memory_mode or kind.memory_mode}
        return options | ({"vela_config": self.vela_config} if self.vela_config else {})

    @property
    def needs_representative(self) -> bool:
        # A raw recipe may ask for calibration whatever quantize says; the samples are cheap.
        return self.mode.calibrated or self.recipe is not None

    @property
    def optimized(self) -> bool:
        """True when the variant is more than the converter's flags for its quantize mode."""
        return self.backend != "converter" or bool(self.keep_float) or \
            any(option is not None for option in (self.recipe, self.prune, self.qat, self.keep_float_search))

    def fragment(self) -> dict[str, Any]:
        """The keys that decide this variant's bytes (its up-to-date key).

        Optimization keys appear only when set, so variants that use none keep
        the key they had before those options existed and do not rebuild; so do
        `batch` (only when fixed), `per_channel_dense` (only when false) and
        `strip_names` (only when true).
        """
        fragment: dict[str, Any] = {"name": self.name, "quantize": self.quantize, "io_type": self.io_type}
        optional = {"backend": None if self.backend == "converter" else self.backend,
                    "keep_float": list(self.keep_float) or None, "keep_float_search": self.keep_float_search,
                    "recipe": self.recipe,
                    "prune": self.prune, "qat": self.qat,
                    "batch": None if self.batch == "dynamic" else self.batch,
                    "per_channel_dense": None if self.per_channel_dense else False,
                    "strip_names": True if self.strip_names else None}
        return fragment | {key: value for key, value in optional.items() if value is not None}


@dataclass(frozen=True)
class ModelSpec:
    """A validated spec with defaults filled in and paths resolved against its folder.

    Sections are plain dicts exactly as the tasks hash them; `files` maps each
    section's path keys to the resolved filesystem paths.
    """

    spec_path: str
    name: str
    description: str
    source: SourceSection
    dataset: DatasetSection | None
    train: TrainSection | None
    representative: RepresentativeSection
    c_array: CArraySection
    variants: tuple[Variant, ...]
    folder: str = field(default=".")
    evaluation: EvaluationSection = field(default_factory=lambda: cast("EvaluationSection", _defaults("evaluation")))
    gates: GatesSection = field(default_factory=lambda: GatesSection())
    select: SelectSection | None = None

    def resolve(self, relative: str) -> str:
        """A path from the spec, resolved against the spec's folder (as a cwd-relative string)."""
        return _display(os.path.join(self.folder, relative))

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def c_symbol(self, variant: str) -> str:
        """The C name of a variant's model array: `[c_array] symbol`, placeholders filled."""
        return str(self.c_array["symbol"]).format(model=self.name, variant=variant)

    def selected_symbol(self) -> str:
        """The C name of the selected bundle's model array: `[select] symbol`, {model} filled."""
        assert self.select is not None
        return str(self.select["symbol"]).format(model=self.name)

    def gates_for(self, variant_name: str) -> dict[str, Any]:
        """The model's gates with the variant's own gates laid over them, key by key."""
        return self.gates | self.variant(variant_name).gates

    def effective_gates(self) -> dict[str, dict[str, Any]]:
        """Each variant's gates: the model's [gates] with the variant's own table laid over."""
        return {variant.name: self.gates_for(variant.name) for variant in self.variants}

    @property
    def reference_variant(self) -> Variant | None:
        """The float model every variant is compared with: the first quantize = "none" variant."""
        return next((v for v in self.variants if v.mode.float_reference), None)

    @property
    def source_kind(self) -> SourceKind:
        return SOURCE_KINDS[self.source["type"]]

    @property
    def trains(self) -> bool:
        return self.source_kind.trains


def _display(path: str | os.PathLike[str]) -> str:
    """A path as users see it: relative to the working directory when inside it, POSIX."""
    # os.path rather than pathlib: this runs for every spec and path on every `doit`.
    absolute, cwd = os.path.abspath(path), os.getcwd()
    if absolute == cwd:
        return "."
    inside = absolute.startswith(cwd.rstrip(os.sep) + os.sep)
    return (absolute[len(cwd.rstrip(os.sep)) + 1:] if inside else absolute).replace(os.sep, "/")


def load_spec(path: str | os.PathLike[str], known_valid: ValidSpecCache | None = None) -> ModelSpec:
    """Parse and validate one spec file; raise SpecError listing every problem at once.

    `known_valid` gives back the document of a text that passed the schema before,
    skipping both the TOML parser and the schema check.
    """
    return spec_from_text(read_spec_text(path), path, known_valid)


def read_spec_text(path: str | os.PathLike[str]) -> str:
    """A spec file's text, or a SpecError naming the file when it cannot be read."""
    try:
        return Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(_display(path), [f"cannot read file: {error}"]) from None


def spec_from_text(text: str, path: str | os.PathLike[str], known_valid: ValidSpecCache | None = None) -> ModelSpec:
    """The spec in `text`, read from `path` (which names it and places its relative paths)."""
    shown = _display(path)
    document = known_valid.document(text) if known_valid is not None else None
    if document is None:
        document = _parse_and_validate(text, shown)
        if known_valid is not None:
            known_valid.add(text, document)
    spec = _normalise(document, Path(path), shown)
    problems = _semantic_problems(spec, document)
    if problems:
        raise SpecError(shown, problems)
    return spec


def _parse_and_validate(text: str, shown: str) -> dict[str, Any]:
    """The TOML document of a spec text, checked against the schema."""
    import tomllib  # only for texts not in the cache: a no-op build parses no TOML

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(shown, [f"TOML syntax error: {error}"]) from None
    problems = schema_problems(document)
    if problems:
        raise SpecError(shown, problems)
    return document


def load_specs(
    paths: Iterable[str | os.PathLike[str]], known_valid: ValidSpecCache | None = None,
) -> tuple[list[ModelSpec], list[SpecError]]:
    """Load many specs; broken ones come back as errors so the good ones still build."""
    specs: list[ModelSpec] = []
    errors: list[SpecError] = []
    for path in sorted(paths, key=lambda p: Path(p).as_posix()):
        try:
            specs.append(load_spec(path, known_valid))
        except SpecError as error:
            errors.append(error)
    clashes = name_clashes(specs)
    clashed = {error.spec_path for error in clashes}
    return [s for s in specs if s.spec_path not in clashed], errors + clashes


def name_clashes(specs: Iterable[ModelSpec]) -> list[SpecError]:
    """One error for each spec whose model name another spec also uses: none of them can build."""
    by_name: dict[str, list[ModelSpec]] = {}
    for spec in specs:
        by_name.setdefault(spec.name, []).append(spec)
    errors = []
    for name, clashing in by_name.items():
        if len(clashing) > 1:
            files = ", ".join(s.spec_path for s in clashing)
            errors += [SpecError(spec.spec_path, [
                f'model.name: "{name}" is used by more than one spec ({files}); '
                "model names must be unique"]) for spec in clashing]
    return errors


def find_spec_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Every `*.toml` spec in `folder`, sorted so task order is stable."""
    root = Path(folder)
    return sorted(root.glob("*.toml")) if root.is_dir() else []


def _defaults(definition: str, parent: str | None = None) -> dict[str, Any]:
    """The schema's default value of each key in a section, as a fresh copy.

    Copied (through JSON, the cheapest deep copy) because a shared default list
    or table must not leak between specs.
    """
    fresh: dict[str, Any] = json.loads(_schema_defaults(definition, parent))
    return fresh


def _type_defaults(definition: str, kind: str) -> dict[str, Any]:
    """The schema's defaults of the keys only one type of a section has (its `if`/`then` branch)."""
    fresh: dict[str, Any] = json.loads(_schema_type_defaults(definition, kind))
    return fresh


@cache
def _schema_type_defaults(definition: str, kind: str) -> str:
    defaults: dict[str, Any] = {}
    for branch in spec_schema()["$defs"][definition].get("allOf", []):
        condition = branch["if"]["properties"]["type"]
        if condition.get("const") == kind or kind in condition.get("enum", ()):
            defaults |= {key: prop["default"] for key, prop in branch["then"]["properties"].items()
                         if isinstance(prop, dict) and "default" in prop}
    return json.dumps(defaults)


@cache
def _schema_defaults(definition: str, parent: str | None) -> str:
    schema = spec_schema()
    if parent is not None:
        node = schema["$defs"][parent]["properties"][definition]
    elif definition in schema["$defs"]:
        node = schema["$defs"][definition]
    else:
        node = schema["properties"][definition]
    return json.dumps({key: prop["default"] for key, prop in node.get("properties", {}).items()
                       if isinstance(prop, dict) and "default" in prop})


def _normalise(document: dict[str, Any], path: Path, shown: str) -> ModelSpec:
    model = document["model"]
    dataset = document.get("dataset")
    if dataset is not None:
        dataset = _defaults("dataset") | _type_defaults("dataset", dataset["type"]) | dataset
    train = document.get("train")
    if train is None and SOURCE_KINDS[model["source"]["type"]].trains:
        train = {}
    variants = tuple(_variant(item, model["source"]["type"]) for item in document["variant"])
    return ModelSpec(
        spec_path=shown,
        name=model.get("name", path.stem),
        description=model.get("description", ""),
        source=cast("SourceSection", dict(model["source"])),
        dataset=dataset,
        train=None if train is None else _defaults("train") | train,
        representative=_defaults("representative") | document.get("representative", {}),
        c_array=_defaults("c_array") | document.get("c_array", {}),
        variants=variants,
        folder=_display(os.path.dirname(os.path.abspath(path))),
        evaluation=_defaults("evaluation") | document.get("evaluation", {}),
        gates=cast("GatesSection", dict(document.get("gates", {}))),
        select=None if "select" not in document else cast("SelectSection",
                                                          _defaults("select") | document["select"]),
    )


def _variant(item: dict[str, Any], source_type: str) -> Variant:
    """A variant table with defaults filled in, nested option tables included."""
    fields = _defaults("variant") | item
    fields["batch"] = variant_batch(fields, source_type)
    fields["strip_names"] = variant_strip_names(fields)
    fields["keep_float"] = tuple(fields["keep_float"])
    for option in ("prune", "qat"):
        if option in fields:
            fields[option] = _defaults(option, "variant") | fields[option]
    return Variant(**fields)


def _semantic_problems(spec: ModelSpec, document: dict[str, Any]) -> list[str]:
    """What the schema cannot say: uniqueness, cross-section rules, files that must exist."""
    import re

    problems: list[str] = []
    if "name" not in document["model"] and not re.fullmatch(NAME_PATTERN, spec.name):
        problems.append(
            f'model.name: the file name "{spec.name}" is not a valid model name '
            "(lowercase letters, digits and _, starting with a letter); set model.name")
    seen: dict[str, int] = {}
    for index, variant in enumerate(spec.variants):
        if variant.name in seen:
            problems.append(f'variant[{index}].name: "{variant.name}" is already used by '
                            f"variant[{seen[variant.name]}]; variant names must be unique")
        seen.setdefault(variant.name, index)
        if "io_type" in document["variant"][index] and variant.io_type not in variant.mode.io_types:
            allowing = [name for name, mode in QUANTIZE_MODES.items() if len(mode.io_types) > 1]
            problems.append(f"variant[{index}].io_type: only allowed with quantize = "
                            f'{" or ".join(f"{chr(34)}{name}{chr(34)}" for name in allowing)}; '
                            f'this variant has quantize = "{variant.quantize}"')
        if variant.c_array and not variant.mode.micro:
            problems.append(f'variant[{index}].c_array: quantize = "{variant.quantize}" cannot run on '
                            f"TFLite Micro ({variant.mode.micro_reason}); use int8 or float32 for firmware")
        if variant.encrypt and not variant.c_array:
            problems.append(f"variant[{index}].encrypt: encrypts the firmware bundle's model, so the variant "
                            "needs c_array = true")
        if variant.needs_representative and spec.dataset is None:
            problems.append(f'variant[{index}].quantize: "{variant.quantize}" calibrates on a '
                            "representative set, so the spec needs a [dataset] section")
    problems.extend(_gate_problems(spec))
    problems.extend(optimization_problems(spec, document))
    problems.extend(selection_problems(spec))
    problems.extend(converter_control_problems(spec, document))
    source_type = spec.source["type"]
    if "train" in document and not spec.trains:
        problems.append(f'train: a model loaded from "{source_type}" is used as is, not trained; '
                        "remove [train]")
    if spec.trains and spec.dataset is None:
        problems.append(f'dataset: a "{source_type}" model is trained, so the spec needs a '
                        "[dataset] section")
    problems.extend(_symbol_problems(spec))
    problems.extend(_representative_problems(document.get("representative", {})))
    if spec.dataset:
        problems.extend(option_problems(spec.dataset))
    problems.extend(missing_files(spec))
    if "layers" in spec.source:
        # Only for specs described afresh: a cached no-op never loads the catalog.
        from tflmake.spec.layercatalog import layer_problems

        problems.extend(layer_problems(spec.source["layers"]))
    if "input_shapes" in spec.source:
        for name in spec.source["input_shapes"]:
            if name not in spec.source["input_arrays"]:
                problems.append(f'model.source.input_shapes.{name}: "{name}" is not one of '
                                f"input_arrays ({', '.join(spec.source['input_arrays'])})")
    return problems


def _symbol_problems(spec: ModelSpec) -> list[str]:
    """`[c_array] symbol` must name one valid, distinct C identifier per exported variant."""
    import re
    import string

    template = spec.c_array["symbol"]
    try:
        fields = [(name, format_spec, conversion) for _, name, format_spec, conversion
                  in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        return [f'c_array.symbol: "{template}" is not a valid template ({error})']
    unknown = [name for name, format_spec, conversion in fields
               if name not in SYMBOL_FIELDS or format_spec or conversion]
    if unknown:
        return [f'c_array.symbol: unknown placeholder "{{{unknown[0]}}}" in "{template}"; '
                f"use {{model}} and {{variant}}"]
    exported = [v.name for v in spec.variants if v.c_array]
    if len(exported) > 1 and "variant" not in {name for name, _, _ in fields}:
        return [f'c_array.symbol: "{template}" would name the arrays of all {len(exported)} '
                "exported variants the same; include {variant}, e.g. "
                '"g_{model}_{variant}_model_data"']
    for name in exported:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec.c_symbol(name)):
            return [f'c_array.symbol: "{spec.c_symbol(name)}" (for variant "{name}") is not a '
                    "C identifier"]
    return []

def _representative_problems(table: dict[str, Any]) -> list[str]:
    """`indices` and `indices_file` each choose the samples: one of them, without samples or seed."""
    chosen = [key for key in ("indices", "indices_file") if key in table]
    if len(chosen) > 1:
        return ["representative: set indices or indices_file, not both"]
    return [f"representative.{key}: not used when representative.{chosen[0]} chooses the samples; "
            "remove it" for key in ("samples", "seed") if chosen and key in table]


def _gate_problems(spec: ModelSpec) -> list[str]:
    """Gates the model cannot be measured against: a typo-like mistake, so an error, not a skip."""
    problems: list[str] = []
    tables = [("gates", spec.gates)] + [(f"variant[{index}].gates", variant.gates)
                                       for index, variant in enumerate(spec.variants)]
    for where, gates in tables:
        if gates and spec.dataset is None:
            problems.append(f"{where}: gates are checked on the test split, so the spec needs "
                            "a [dataset] section")
        task = spec.evaluation["task"]
        problems.extend(f'{where}.{metric.gate}: only for evaluation.task = '
                        f'{" or ".join(chr(34) + t + chr(34) for t in metric.tasks)}; this model has task = "{task}"'
                        for metric in METRICS.values() if metric.gate in gates and task not in metric.tasks)
    return problems


def missing_files(spec: ModelSpec) -> list[str]:
    """Every check of a spec that looks at the disk: the files and folders it names must exist.

    The task cache re-runs exactly this to tell whether a cached spec would still load.
    """
    problems: list[str] = []
    # (key path, path, True: a directory, False: a file, None: either)
    checks: list[tuple[str, str, bool | None]] = []
    if spec.source_kind.path is not None:
        checks.append(("model.source.path", spec.source["path"], spec.source_kind.path == "directory"))
    if "weights" in spec.source:
        checks.append(("model.source.weights", spec.source["weights"], False))
    if "entry" in spec.source:
        module, _ = entry_parts(spec.source["entry"])
        if module_file(spec.folder, module) is None:
            relative = module.replace(".", "/")
            problems.append(f'model.source.entry: no module "{module}" ({relative}.py or '
                            f"{relative}/__init__.py) in {spec.folder}")
    checks += [(f"model.source.sources[{index}]", relative, None)
               for index, relative in enumerate(spec.source.get("sources", []))]
    if "indices_file" in spec.representative:
        checks.append(("representative.indices_file", spec.representative["indices_file"], False))
    checks += [(f"variant[{index}].recipe", variant.recipe, False) for index, variant in enumerate(spec.variants)
               if variant.backend != "converter" and isinstance(variant.recipe, str)]
    checks += [(f"variant[{index}].vela_config", variant.vela_config, False)
               for index, variant in enumerate(spec.variants) if variant.vela_config]
    for key_path, relative, is_dir in checks:
        resolved = Path(spec.folder) / relative
        exists = resolved.exists() if is_dir is None else resolved.is_dir() if is_dir else resolved.is_file()
        if not exists:
            kind = "file or directory" if is_dir is None else "directory" if is_dir else "file"
            problems.append(f"{key_path}: no such {kind}: {spec.resolve(relative)}")
    if spec.dataset:
        problems += dataset_problems(spec.dataset, spec.resolve, spec.folder)
    return problems
