"""The generated reference pages: spec keys from the JSON Schema, the CLI from its parsers, kinds from kinds.py.

Pages explain; these tables are generated when the site is built (docs/gen/hooks.py),
so they cannot drift from the code. `undocumented_keys` is the check that ties the
spec reference to the schema: every key the schema allows must have a row (or, for
a table, a section) in the generated page.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

Schema = dict[str, Any]


class Row(NamedTuple):
    """One key of one table."""

    key: str
    kind: str  # the type and the values it allows
    default: str
    description: str
    example: str


class Section(NamedTuple):
    """One table a spec may hold (or one branch of it, e.g. `[dataset]` with `type = "csv"`)."""

    id: str  # also the heading's anchor: model.source-layers, dataset-csv, variant.prune
    title: str
    description: str
    rows: list[Row]


# Examples for keys that have no default in the schema (a default is its own example).
EXAMPLES: dict[str, Any] = {
    "model.name": "digits_mlp",
    "model.description": "Small MLP on the 8x8 digits set",
    "model.source-layers.input_shape": [8, 8],
    "model.source-layers.layers": [{"type": "Flatten"}, {"type": "Dense", "units": 10, "activation": "softmax"}],
    "model.source-layers.layers.type": "Dense",
    "model.source-keras_file.path": "models/net.keras",
    "model.source-saved_model.path": "models/saved_model",
    "model.source-python.entry": "mymodel:build",
    "model.source-python.sources": ["config.json"],
    "model.source-python.weights": "pretrained.weights.h5",
    "model.source-frozen_graph.path": "models/graph.pb",
    "model.source-frozen_graph.input_arrays": ["input"],
    "model.source-frozen_graph.output_arrays": ["output"],
    "model.source-frozen_graph.input_shapes": {"input": [1, 8, 8]},
    "dataset.scale": 255.0,
    "dataset.shape": [8, 8, 1],
    "dataset-npz.path": "data/train.npz",
    "dataset-npz.test_path": "data/test.npz",
    "dataset-image_folder.path": "data/flowers",
    "dataset-image_folder.test_path": "data/flowers_test",
    "dataset-image_folder.class_names": ["daisy", "rose"],
    "dataset-audio_folder.path": "data/speech",
    "dataset-audio_folder.test_path": "data/speech_test",
    "dataset-audio_folder.class_names": ["no", "yes"],
    "dataset-csv.path": "data/imu.csv",
    "dataset-csv.test_path": "data/imu_test.csv",
    "dataset-csv.columns": ["ax", "ay", "az"],
    "dataset-csv.label_column": "activity",
    "dataset-csv.window": 128,
    "dataset-csv.stride": 64,
    "dataset-python.entry": "sensordata:load",
    "representative.indices": [0, 17, 42],
    "representative.indices_file": "calibration.txt",
    "c_array.section": ".rodata.model",
    "evaluation.top_k": 5,
    "evaluation.output": 0,
    "gates.min_accuracy": 0.9,
    "gates.max_accuracy_drop": 0.01,
    "gates.min_agreement": 0.98,
    "gates.max_size_bytes": 20000,
    "gates.max_arena_bytes": 16384,
    "gates.max_latency_ms": 1.0,
    "gates.min_auc": 0.9,
    "variant.name": "int8",
    "variant.batch": 1,
    "variant.strip_names": True,
    "variant.keep_float": ["dense_1/"],
    "variant.recipe": "recipes/mixed.json",
    "variant.gates": {"max_accuracy_drop": 0.02},
    "variant.prune": {"sparsity": 0.5},
    "variant.prune.sparsity": 0.5,
    "variant.qat": {"epochs": 2},
}


# ---------------------------------------------------------------- the spec reference


def spec_sections(schema: Schema) -> list[Section]:
    """Every table of a spec, in schema order, with a row per key."""
    sections: list[Section] = []
    expanded: set[str] = set()
    for key, node in schema["properties"].items():
        _table(schema, key, node, key, sections, expanded)
    return sections


def _table(schema: Schema, key: str, node: Any, section_id: str, sections: list[Section],
           expanded: set[str]) -> None:
    node, _ = _resolve(schema, node, expanded)
    if node.get("type") == "array" and "items" in node:
        node, _ = _resolve(schema, node["items"], expanded)
    if "properties" not in node:
        return
    rows: list[Row] = []
    index = len(sections)
    subtables: list[tuple[str, Any, str]] = []
    for name, sub in node["properties"].items():
        if sub is True:  # a branch re-admitting a key of the common part
            continue
        if _is_table(schema, sub, expanded):
            subtables.append((name, sub, f"{section_id}.{name}"))
            kind = "array of tables" if _deref(schema, sub).get("type") == "array" else "table"
            default = "required" if name in node.get("required", ()) else "not set"
            described = " ".join(filter(None, (_description(schema, sub), f"See [below](#{section_id}.{name}).")))
            path = f"{section_id}.{name}"
            example = f"`{name} = {_toml(EXAMPLES[path])}`" if path in EXAMPLES else ""
            rows.append(Row(name, kind, default, described, example))
            continue
        rows.append(_row(schema, section_id, name, sub, name in node.get("required", ()), expanded))
    sections.insert(index, Section(section_id, _title(section_id), node.get("description", ""), rows))
    for name, sub, sub_id in subtables:
        _table(schema, name, sub, sub_id, sections, expanded)
    for branch in node.get("allOf", ()):
        types = _branch_types(branch)
        then = branch["then"]
        branch_id = f"{section_id}-{'-'.join(types)}"
        _table(schema, key, then, branch_id, sections, expanded)


def _is_table(schema: Schema, node: Any, expanded: set[str]) -> bool:
    """An object (or array of objects) with keys of its own, not yet documented elsewhere."""
    if not isinstance(node, dict):
        return False
    ref = node.get("$ref", "")
    if ref and ref.split("/")[-1] in expanded:
        return False
    target = _deref(schema, node)
    if target.get("type") == "array" and isinstance(target.get("items"), dict):
        target = _deref(schema, target["items"])
    return "properties" in target


def _deref(schema: Schema, node: Any) -> Any:
    ref = node.get("$ref") if isinstance(node, dict) else None
    return schema["$defs"][ref.split("/")[-1]] if ref else node


def _resolve(schema: Schema, node: Any, expanded: set[str]) -> tuple[Any, str]:
    ref = node.get("$ref", "") if isinstance(node, dict) else ""
    if not ref:
        return node, ""
    name = ref.split("/")[-1]
    expanded.add(name)
    resolved = dict(schema["$defs"][name])
    if "description" in node:
        resolved["description"] = node["description"]
    return resolved, name


def _branch_types(branch: Schema) -> list[str]:
    condition = branch["if"]["properties"]["type"]
    return [condition["const"]] if "const" in condition else list(condition["enum"])


def _title(section_id: str) -> str:
    table, _, types = section_id.partition("-")
    parts = table.split(".")
    if parts[0] == "variant" and len(parts) == 1:
        title = "`[[variant]]`"
    elif parts[0] == "variant":
        title = f"`[[variant]]` `{'.'.join(parts[1:])} = {{ ... }}`"
    elif len(parts) > 2 or (types and "." in section_id.partition("-")[2]):
        title = f"`{section_id}`"
    else:
        title = f"`[{table}]`"
    if types:
        branch, _, rest = types.partition(".")
        names = " or ".join(f'`type = "{name}"`' for name in branch.split("-"))
        title = f"`[{table}]` with {names}" if not rest else f"each entry of `{rest}` (`[{table}]` with {names})"
    return title


def _description(schema: Schema, node: Any) -> str:
    if isinstance(node, dict) and "description" in node:
        return str(node["description"])
    return str(_deref(schema, node).get("description", "")) if isinstance(node, dict) else ""


def _row(schema: Schema, section_id: str, name: str, node: Any, required: bool, expanded: set[str]) -> Row:
    ref = node.get("$ref", "") if isinstance(node, dict) else ""
    target = _deref(schema, node)
    if ref and ref.split("/")[-1] in expanded and "properties" in target:
        kind = f"table, the keys of [`[{ref.split('/')[-1]}]`](#{ref.split('/')[-1]})"
    else:
        kind = _kind(schema, target)
    if "default" in node or "default" in target:
        default = _toml(node.get("default", target.get("default")))
        default = f"`{default}`"
    else:
        default = "required" if required else "not set"
    path = f"{section_id}.{name}"
    if path in EXAMPLES:
        example = EXAMPLES[path]
    elif "default" in node or "default" in target:
        example = node.get("default", target.get("default"))
    elif "enum" in target:
        example = target["enum"][0]
    else:
        example = _fallback_example(target)
    return Row(name, kind, default, _description(schema, node), f"`{name} = {_toml(example)}`")


def _kind(schema: Schema, node: Any) -> str:
    node = _deref(schema, node)
    if "enum" in node:
        return "one of " + ", ".join(f"`{_toml(value)}`" for value in node["enum"])
    if "oneOf" in node:
        return " or ".join(_kind(schema, option) for option in node["oneOf"])
    kind = str(node.get("type", "any"))
    words = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
             "object": "table", "array": "array"}
    text = words.get(kind, kind)
    if kind == "array" and isinstance(node.get("items"), dict):
        items = _deref(schema, node["items"])
        text = f"array of {_plural(_kind(schema, items))}"
        if "minItems" in node and node.get("minItems") == node.get("maxItems"):
            text += f", exactly {node['minItems']}"
        elif node.get("minItems", 0) > 0:
            text += f", at least {node['minItems']}"
        if node.get("uniqueItems"):
            text += ", no duplicates"
        if "required" in items:
            text += " (keys " + ", ".join(f"`{key}`" for key in items["required"]) + " required)"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        text = f"table of name = {_kind(schema, node['additionalProperties'])}"
    return text + _constraints(node)


def _plural(kind: str) -> str:
    head, _, rest = kind.partition(" ")
    plurals = {"string": "strings", "integer": "integers", "number": "numbers", "table": "tables",
               "boolean": "booleans", "array": "arrays"}
    return " ".join(part for part in (plurals.get(head, head), rest) if part)


def _constraints(node: Schema) -> str:
    parts = []
    if "x-expected" in node:
        parts.append(str(node["x-expected"]))
    elif "pattern" in node:
        parts.append(f"matching `{node['pattern']}`")
    bounds = (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
    parts += [f"{sign} {node[name]}" for name, sign in bounds if name in node]
    if "minLength" in node and node["minLength"] > 0:
        parts.append("not empty")
    if "maxLength" in node:
        parts.append(f"at most {node['maxLength']} characters")
    return f" ({', '.join(parts)})" if parts else ""


def _fallback_example(node: Schema) -> Any:
    kind = node.get("type")
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return node.get("minimum", 1)
    if kind == "array":
        return [_fallback_example(node.get("items", {}))]
    if kind == "object":
        return {}
    return "..."


def _toml(value: Any) -> str:
    """`value` as TOML writes it inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + " }" if value else "{}"
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_spec_reference(schema: Schema) -> str:
    """The spec reference page: one section per table (and per type branch), one row per key."""
    lines = [
        "# Spec reference",
        "",
        "Generated from `src/tflmake/spec/spec.schema.json` when the site is built (do not edit: "
        "change the schema's `description`s instead). "
        "[Specs](../concepts/specs.md) explains how the tables fit together; `tflmake schema` prints the schema.",
        "",
        f"> {schema.get('description', '')}",
    ]
    for section in spec_sections(schema):
        depth = "##" if section.id.count(".") == 0 and "-" not in section.id else "###"
        lines += ["", f"{depth} {section.title} {{#{section.id}}}", ""]
        if section.description:
            lines += [section.description, ""]
        if not section.rows:
            lines.append("No keys of its own: only the common keys above.")
            continue
        lines += ["| Key | Type and allowed values | Default | Description | Example |", "|---|---|---|---|---|"]
        lines += [f"| `{row.key}` | {_cell(row.kind)} | {_cell(row.default)} | {_cell(row.description)} | "
                  f"{_cell(row.example)} |" for row in section.rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the coverage check


def schema_keys(schema: Schema) -> list[str]:
    """Every key the schema allows, as `<table id>.<key>`, found by walking every `properties` in it.

    Independent of `spec_sections` on purpose: a key the renderer skips is still listed here.
    """
    keys: list[str] = []
    expanded: set[str] = set()

    def walk(node: Any, section_id: str) -> None:
        if not isinstance(node, dict):
            return
        ref = node.get("$ref", "")
        if ref:
            name = ref.split("/")[-1]
            if name in expanded:
                return
            expanded.add(name)
            node = schema["$defs"][name]
        for name, sub in node.get("properties", {}).items():
            if sub is True:
                continue
            path = f"{section_id}.{name}" if section_id else name
            keys.append(path)
            walk(sub, path)
        for nested in ("items", "additionalProperties"):
            walk(node.get(nested), section_id)
        for option in node.get("oneOf", ()):
            walk(option, section_id)
        for branch in node.get("allOf", ()):
            walk(branch.get("then"), f"{section_id}-{'-'.join(_branch_types(branch))}")

    walk(schema, "")
    return keys


def documented_keys(markdown: str) -> set[str]:
    """The keys a generated spec reference shows: each section's id and `<section id>.<key>` per row."""
    found: set[str] = set()
    section = ""
    for line in markdown.splitlines():
        heading = re.match(r"#+ .*\{#([^}]+)\}\s*$", line)
        if heading:
            section = heading.group(1)
            found.add(section)
            continue
        row = re.match(r"\| `([^`]+)` \|", line)
        if row and section:
            found.add(f"{section}.{row.group(1)}")
    return found


def undocumented_keys(schema: Schema, markdown: str) -> list[str]:
    """Keys of `schema` that the spec reference `markdown` does not show."""
    shown = documented_keys(markdown)
    return [key for key in schema_keys(schema) if key not in shown]


def keys_without_description(schema: Schema) -> list[str]:
    """`<table id>.<key>` of every row whose description is empty."""
    return [f"{section.id}.{row.key}" for section in spec_sections(schema) for row in section.rows
            if not row.description.strip()]


# ---------------------------------------------------------------- the kind tables


def render_kind_tables() -> str:
    """The kinds a spec chooses from, one table per record type of `tflmake.kinds`."""
    from tflmake import kinds

    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    def names(values: tuple[str, ...]) -> str:
        return ", ".join(f"`{value}`" for value in values) or "–"

    tables = [
        ("Source types", "`[model.source] type`", "SOURCE_KINDS",
         ["type", "what it is", "trained", "`saved_model/` target", "Keras model (pruning, QAT)", "`path` names",
          "tool versions in its key"],
         [[f"`{name}`", kind.doc, yes(kind.trains), yes(kind.saved_model), yes(kind.keras), kind.path or "–",
           names(kind.tools)] for name, kind in kinds.SOURCE_KINDS.items()]),
        ("Quantize modes", "`[[variant]] quantize`", "QUANTIZE_MODES",
         ["quantize", "what it is", "backends", "calibrated", "TFLite Micro (`c_array`)", "`io_type`"],
         [[f"`{name}`", mode.doc, names(mode.backends), yes(mode.calibrated),
           "yes" if mode.micro else f"no: {mode.micro_reason}", names(mode.io_types)]
          for name, mode in kinds.QUANTIZE_MODES.items()]),
        ("Backends", "`[[variant]] backend`", "BACKENDS",
         ["backend", "what it is", "starts from the float32 `.tflite`", "tool versions in its key"],
         [[f"`{name}`", backend.doc, yes(backend.quantizes_float_tflite), names(backend.tools)]
          for name, backend in kinds.BACKENDS.items()]),
        ("Ethos-U accelerators", "`[[variant]] accelerator` (see [Ethos-U NPU variants](../npu.md))",
         "ACCELERATORS",
         ["accelerator", "what it is", "NPU", "MACs per cycle", "default `system_config`", "default `memory_mode`"],
         [[f"`{name}`", kind.doc, kind.npu, kind.macs, f"`{kind.system_config}`", f"`{kind.memory_mode}`"]
          for name, kind in kinds.ACCELERATORS.items()]),
        ("Data set types", "`[dataset] type`", "DATASET_KINDS",
         ["type", "what it is", "keys naming files", "keys naming class folders", "file types", "python entry",
          "tool versions in its key"],
         [[f"[`{name}`](../datasets/{name}.md)", kind.doc, names(kind.files), names(kind.folders),
           names(kind.extensions), yes(kind.entry), names(kind.tools)] for name, kind in kinds.DATASET_KINDS.items()]),
        ("Task kinds", "the basename of a doit task (`doit list`), in build order", "TASK_KINDS",
         ["task", "what it builds", "one per", "in the shared cache"],
         [[f"`{name}`", kind.doc, kind.arity, yes(kind.cached)] for name, kind in kinds.TASK_KINDS.items()]),
        ("Evaluation tasks", "`[evaluation] task`", "EVALUATION_TASKS",
         ["task", "headline metric", "labels are classes", "the model reconstructs its input"],
         [[f"`{name}`", f"`{task.headline}` ({task.headline_label})", yes(task.class_labels), yes(task.reconstructs)]
          for name, task in kinds.EVALUATION_TASKS.items()]),
        ("Report metrics", "keys of each variant in `report.json`", "METRICS",
         ["metric", "what it is", "unit", "evaluation tasks", "in `report --diff`", "gate"],
         [[f"`{name}`", metric.doc, metric.unit or "–", names(metric.tasks), yes(metric.compared),
           f"`{metric.gate}` ({'minimum' if metric.gate_is_minimum else 'maximum'})" if metric.gate else "–"]
          for name, metric in kinds.METRICS.items()]),
        ("Selection criteria", "`[select] minimize` (see [The variant to ship](../firmware.md#the-variant-to-ship))",
         "SELECT_CRITERIA",
         ["minimize", "what it is", "read from", "key", "unit"],
         [[f"`{name}`", criterion.doc, {"firmware": "`<variant>_firmware.json`",
                                        "report": "the variant in `report.json`"}[criterion.source],
           f"`{criterion.key}`", criterion.unit] for name, criterion in kinds.SELECT_CRITERIA.items()]),
    ]
    lines = ["# Kinds", "",
             "Generated from `src/tflmake/kinds.py` when the site is built: every kind a spec can name is one "
             "record there, and a test checks the schema's enums equal these tables' keys.",
             "Adding one is described in [Architecture](../contributing/architecture.md)."]
    for title, key, table, header, rows in tables:
        anchor = table.lower().replace("_", "-")
        lines += ["", f"## {title} {{#{anchor}}}", "", f"{key}: `kinds.{table}`.", "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_cell(str(cell)) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the CLI reference


# (heading, argv): each command's help as its own parser prints it.
CLI_HELP: tuple[tuple[str, list[str]], ...] = (
    ("tflmake", ["--help"]),
    ("tflmake new", ["new", "--help"]),
    ("tflmake validate", ["validate", "--help"]),
    ("tflmake status", ["status", "--help"]),
    ("tflmake refresh", ["refresh", "--help"]),
    ("tflmake schema", ["schema", "--help"]),
    ("tflmake verify", ["verify", "--help"]),
    ("tflmake report", ["report", "--help"]),
    ("tflmake worker", ["worker", "--help"]),
    ("tflmake clean --orphans", ["clean", "--orphans", "--help"]),
    ("tflmake cache", ["cache", "--help"]),
    ("doit's commands (tflmake help)", ["help"]),
    ("tflmake run (doit's build command)", ["help", "run"]),
)


@contextlib.contextmanager
def _in_empty_project() -> Iterator[None]:
    """A temporary working directory with fixed terminal settings, so help texts do not depend on the machine."""
    saved_cwd = os.getcwd()
    saved_env = {name: os.environ.get(name) for name in ("COLUMNS", "NO_COLOR", "TERM")}
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        os.environ.update({"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
        try:
            yield
        finally:
            os.chdir(saved_cwd)
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def command_help(argv: list[str]) -> str:
    """What `tflmake ARGV` prints, run in-process in an empty folder."""
    from tflmake.commands.main import main

    output = io.StringIO()
    with _in_empty_project(), contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"tflmake {' '.join(argv)} exited {code}: {output.getvalue()}")
    return output.getvalue()


def render_cli_reference() -> str:
    """The CLI reference page: every command's `--help`, as its parser prints it."""
    lines = ["# Command-line reference", "",
             "Generated when the site is built from the `--help` of every command "
             "(`src/tflmake/commands/`; doit's own commands from doit). "
             "[The tflmake command](../cli.md) explains them with examples."]
    for heading, argv in CLI_HELP:
        anchor = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")
        text = command_help(argv).rstrip()
        lines += ["", f"## {heading} {{#{anchor}}}", "", f"`tflmake {' '.join(argv)}`:", "", "```text", text, "```"]
    return "\n".join(lines + render_signing_settings()) + "\n"


def render_signing_settings() -> list[str]:
    """The `[tool.tflmake.signing]` keys with their help, from the table the settings are parsed with."""
    from tflmake.signing.config import KEYS

    rows = [f"| `{key}` | {setting.expected} | {setting.help} |" for key, setting in KEYS.items()]
    return ["", "## `[tool.tflmake.signing]` {#tool-tflmake-signing}", "",
            "Generated from `tflmake.signing.config.KEYS`; [Signing and encryption](../signing.md) explains them.",
            "", "| key | value | meaning |", "| --- | --- | --- |", *rows]


def load_schema(path: Path | None = None) -> Schema:
    """The spec schema shipped in the package (or the one at `path`)."""
    if path is not None:
        return dict(json.loads(path.read_text("utf-8")))
    from tflmake.spec.schema import spec_schema

    return dict(spec_schema())
