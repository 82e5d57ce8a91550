"""Which options go together: backends, selective precision, pruning, QAT, accelerators, the variant to ship. Pure."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tflmake.kinds import BACKENDS, METRICS, QUANTIZE_MODES, SOURCE_KINDS, backend_modes
from tflmake.paths import SELECTED

if TYPE_CHECKING:
    from tflmake.spec.load import ModelSpec, Variant



def float_source(spec: ModelSpec) -> Variant | None:
    """The variant whose `.tflite` the LiteRT Quantizer quantizes: plain float32, converter-made."""
    return next((v for v in spec.variants if v.mode.float_reference and not v.optimized), None)


def pruning_options(spec: ModelSpec, variant: Variant) -> dict[str, Any]:
    """What decides a pruned model: the pruning table (not the encoding) and the training seed."""
    assert variant.prune is not None and spec.train is not None
    pruning = {key: value for key, value in variant.prune.items() if key != "encoding"}
    return {"prune": pruning, "seed": spec.train["seed"]}


def optimization_problems(spec: ModelSpec, document: dict[str, Any]) -> list[str]:
    """Option combinations no backend can build, each naming the variant and the key."""
    problems: list[str] = []
    for index, variant in enumerate(spec.variants):
        where = f"variant[{index}]"
        problems += _backend_problems(spec, variant, where, "io_type" in document["variant"][index])
        problems += _keep_float_problems(variant, where)
        problems += keep_float_search_problems(spec, variant, where)
        problems += _training_problems(spec, variant, where)
        problems += _accelerator_problems(variant, where)
    return problems


def _accelerator_problems(variant: Variant, where: str) -> list[str]:
    """Vela compiles full-integer models; its other keys only mean something with an accelerator."""
    vela_keys = {"system_config": variant.system_config, "memory_mode": variant.memory_mode,
                 "vela_config": variant.vela_config}
    if variant.accelerator is None:
        return [f"{where}.{key}: only with accelerator (the Ethos-U configuration Vela compiles for)"
                for key, value in vela_keys.items() if value is not None]
    problems = []
    if not variant.mode.full_integer:
        integer = " or ".join(f'"{name}"' for name, mode in QUANTIZE_MODES.items() if mode.full_integer)
        problems.append(f'{where}.accelerator: the Ethos-U NPU runs full-integer models (quantize = {integer}); '
                        f'this variant has quantize = "{variant.quantize}" ({variant.mode.doc}), so Vela '
                        "would leave every op on the CPU")
    if variant.vela_config is not None:
        problems += [f"{where}.{key}: needed with vela_config (name a section of {variant.vela_config})"
                     for key, value in vela_keys.items() if value is None]
    return problems


def _backend_problems(spec: ModelSpec, variant: Variant, where: str, io_type_set: bool) -> list[str]:
    allowed = backend_modes(variant.backend)
    if variant.quantize not in allowed:
        other = variant.mode.backends[0]
        return [f'{where}.quantize: "{variant.quantize}" is not available with backend = '
                f'"{variant.backend}"; use one of {", ".join(allowed)} or backend = "{other}"']
    if not BACKENDS[variant.backend].quantizes_float_tflite:
        return [f'{where}.recipe: only with backend = "litert_quantizer"'] if variant.recipe else []
    problems = []
    if io_type_set:
        problems.append(f'{where}.io_type: backend = "litert_quantizer" chooses the input and output '
                        "types itself (int8 for quantize = \"int8\", int16 for \"int16x8\", float32 "
                        'otherwise); remove io_type or use backend = "converter"')
    if float_source(spec) is None:
        problems.append(f'{where}.backend: "litert_quantizer" quantizes the float32 .tflite of a '
                        'quantize = "none" variant (converter, no prune, qat or keep_float); '
                        "add one")
    return problems


def _keep_float_problems(variant: Variant, where: str) -> list[str]:
    problems = []
    for position, pattern in enumerate(variant.keep_float):
        try:
            re.compile(pattern)
        except re.error as error:
            problems.append(f'{where}.keep_float[{position}]: "{pattern}" is not a regular '
                            f"expression ({error})")
    if variant.keep_float and not BACKENDS[variant.backend].quantizes_float_tflite and \
            (not variant.mode.full_integer or variant.io_type != "float32"):
        problems.append(f'{where}.keep_float: with backend = "converter" only for quantize = '
                        '"int8" with io_type = "float32"; this variant has quantize = '
                        f'"{variant.quantize}", io_type = "{variant.io_type}" '
                        '(or use backend = "litert_quantizer")')
    return problems


def keep_float_search_problems(spec: ModelSpec, variant: Variant, where: str) -> list[str]:
    """The search converts int8 candidates through the converter's keep_float path and compares accuracies."""
    if variant.keep_float_search is None:
        return []
    key = f"{where}.keep_float_search"
    problems = []
    if not variant.mode.full_integer:
        integer = " or ".join(f'"{name}"' for name, mode in QUANTIZE_MODES.items() if mode.full_integer)
        problems.append(f"{key}: only for quantize = {integer}: the converter keeps ops in float only in a "
                        f'full-integer model; this variant has quantize = "{variant.quantize}" ({variant.mode.doc})')
    elif BACKENDS[variant.backend].quantizes_float_tflite:
        problems.append(f'{key}: only with backend = "converter" (each candidate is converted from the model '
                        "with the converter's keep_float path)")
    elif variant.io_type != "float32":
        problems.append(f'{key}: needs io_type = "float32" (the converter keeps ops in float only with '
                        f'float input and output); this variant has io_type = "{variant.io_type}"')
    if variant.keep_float:
        problems.append(f"{key}: the search chooses the ops to keep in float itself; remove keep_float "
                        "or keep_float_search")
    # The target is an accuracy drop: only evaluation tasks that measure one can search for it.
    measured_by = METRICS["accuracy_drop"].tasks
    task = spec.evaluation["task"]
    if task not in measured_by:
        problems.append(f"{key}: max_accuracy_drop is measured only for evaluation.task = "
                        f'{" or ".join(chr(34) + t + chr(34) for t in measured_by)}; this model has '
                        f'task = "{task}"')
    return problems


def _training_problems(spec: ModelSpec, variant: Variant, where: str) -> list[str]:
    """prune and qat fine-tune the Keras model, so they need one tflmake trains itself."""
    problems = []
    for option in ("prune", "qat"):
        if getattr(variant, option) is None:
            continue
        if BACKENDS[variant.backend].quantizes_float_tflite:
            problems.append(f'{where}.{option}: only with backend = "converter" (the LiteRT '
                            "Quantizer starts from the float32 variant's .tflite)")
        elif not spec.trains:
            trained = " or ".join(f'"{name}"' for name, kind in SOURCE_KINDS.items() if kind.trains)
            problems.append(f"{where}.{option}: needs a model tflmake trains (source type "
                            f'{trained}); this one is loaded from "{spec.source["type"]}"')
    if variant.prune is not None and variant.prune["encoding"] == "sparse" and variant.c_array:
        problems.append(f'{where}.prune.encoding: "sparse" needs the DENSIFY op, which TFLite Micro '
                        'does not have; use encoding = "dense" for a c_array variant')
    if variant.qat is not None and not variant.mode.full_integer:
        problems.append(f'{where}.qat: only for quantize = "int8"; this variant has quantize = '
                        f'"{variant.quantize}"')
    return problems


def selection_problems(spec: ModelSpec) -> list[str]:
    """`[select]` ships a firmware bundle chosen by measurements, under names no variant may take."""
    if spec.select is None:
        return []
    problems = []
    if spec.dataset is None:
        problems.append("select: choosing a variant needs every variant's measurements, so the spec "
                        "needs a [dataset] section")
    exported = [v for v in spec.variants if v.c_array]
    if not exported:
        problems.append("select: only variants with c_array = true have a firmware bundle to ship; "
                        "set c_array = true on at least one variant")
    problems += [f'variant[{index}].name: "{SELECTED}" names the files of the [select] bundle '
                 f"(firmware/<model>_{SELECTED}_*); rename the variant"
                 for index, variant in enumerate(spec.variants) if variant.name == SELECTED]
    template = spec.select["symbol"]
    try:
        symbol = spec.selected_symbol()
    except (AttributeError, IndexError, KeyError, ValueError):
        return [*problems, f'select.symbol: "{template}" may contain only the placeholder {{model}}']
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", symbol):
        problems.append(f'select.symbol: "{symbol}" is not a C identifier')
    problems += [f'select.symbol: "{symbol}" is also the [c_array] symbol of variant "{v.name}"; '
                 "the selected bundle's names must differ from every variant's" for v in exported
                 if v.name != SELECTED and _variant_symbol(spec, v.name) == symbol]
    return problems


def _variant_symbol(spec: ModelSpec, variant: str) -> str | None:
    """A variant's C symbol, or None when `[c_array] symbol` is broken (its own rule says so)."""
    try:
        return spec.c_symbol(variant)
    except (AttributeError, IndexError, KeyError, ValueError):
        return None
