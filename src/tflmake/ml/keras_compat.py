"""Keras 2 model configs -> configs Keras 3 accepts. Pure JSON: no TensorFlow, no Keras.

A Keras 2 `.h5` file stores its architecture as the `model_config` JSON. Keras 3
refuses some of the arguments Keras 2 wrote there (`DepthwiseConv2D(groups=1)`,
`LSTM(time_major=False)`, ...). Each such difference is one `Rule` below; a rule
only drops a key when that cannot change what the model computes, and a value it
cannot vouch for is an error, never a guess. Rules exist only for keys Keras 3
was seen to reject (each layer's tf_keras `get_config()` fed to Keras 3's
`from_config`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from tflmake.errors import BuildError

_CONV_WITH_GROUPS = ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
                     "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
_DEPTHWISE = ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")
_RECURRENT = ("LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
_SPATIAL_DROPOUT = ("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
_ANY = None  # Rule.safe_values: every value is safe to drop


@dataclass(frozen=True)
class Rule:
    """One Keras 2 config key Keras 3 rejects: dropped when its value is in `safe_values`.

    `safe_values = None` means any value, for keys that never affect inference
    (initializers of a loaded model, dropout options); any other value is an error.
    """

    classes: tuple[str, ...]
    key: str
    reason: str
    safe_values: tuple[Any, ...] | None = _ANY


RULES: tuple[Rule, ...] = (
    Rule(_CONV_WITH_GROUPS, "groups", "Keras 3 has no groups argument here; Keras 2 always saved 1",
         safe_values=(1,)),
    Rule(_DEPTHWISE, "kernel_initializer", "unused by depthwise layers; Keras 3 rejects it"),
    Rule(_DEPTHWISE, "kernel_regularizer", "unused by depthwise layers; Keras 3 rejects it"),
    Rule(_DEPTHWISE, "kernel_constraint", "unused by depthwise layers; Keras 3 rejects it"),
    Rule(_RECURRENT, "time_major", "Keras 3 is always batch-major", safe_values=(False,)),
    Rule(_SPATIAL_DROPOUT, "trainable", "Keras 3 rejects it; dropout does nothing at inference"),
    Rule(_SPATIAL_DROPOUT, "noise_shape", "Keras 3 derives it", safe_values=(None,)),
    Rule(("MultiHeadAttention",), "query_shape", "Keras 3 builds from the inputs"),
    Rule(("MultiHeadAttention",), "key_shape", "Keras 3 builds from the inputs"),
    Rule(("MultiHeadAttention",), "value_shape", "Keras 3 builds from the inputs"),
    Rule(("MultiHeadAttention",), "softmax_robust_masking", "Keras 3 has no such option",
         safe_values=(False,)),
)


@dataclass(frozen=True)
class Change:
    """One edit made to a config: shown in the build output and kept in the stamp."""

    layer_class: str
    layer_name: str
    key: str
    action: str

    def __str__(self) -> str:
        where = f'{self.layer_class}("{self.layer_name}")' if self.layer_name else self.layer_class
        return f"{where}.{self.key}: {self.action}"


def upgrade_config(config: Any, path: str) -> tuple[Any, list[Change]]:
    """`config` (a parsed `model_config`) with every rule applied, and the changes made.

    Walks every `{"class_name": ..., "config": {...}}` object, so nested models,
    wrappers (`TimeDistributed`, `Bidirectional`) and initializers are covered.
    Raises BuildError (naming `path`, the layer and the key) for a value no rule
    may drop.
    """
    changes: list[Change] = []
    return _walk(config, path, changes, ""), changes


def _walk(node: Any, path: str, changes: list[Change], layer_name: str) -> Any:
    if isinstance(node, list):
        return [_walk(item, path, changes, layer_name) for item in node]
    if not isinstance(node, dict):
        return node
    name = node.get("name", layer_name) if isinstance(node.get("name"), str) else layer_name
    if isinstance(node.get("class_name"), str) and isinstance(node.get("config"), dict):
        inner_name = node["config"].get("name", name)
        name = inner_name if isinstance(inner_name, str) else name
        upgraded = _apply_rules(node["class_name"], dict(node["config"]), path, changes, name)
        node = {**node, "config": upgraded}
    return {key: _walk(value, path, changes, name) for key, value in node.items()}


def _apply_rules(class_name: str, config: dict[str, Any], path: str, changes: list[Change],
                 layer_name: str) -> dict[str, Any]:
    for rule in RULES:
        if class_name not in rule.classes or rule.key not in config:
            continue
        value = config[rule.key]
        if rule.safe_values is _ANY or value in rule.safe_values:
            del config[rule.key]
            changes.append(Change(class_name, layer_name, rule.key,
                                  f"dropped {_short(value)} ({rule.reason})"))
        else:
            where = Change(class_name, layer_name, rule.key, "")
            raise BuildError(
                f"{path}: {str(where).rstrip(': ')} = {value!r} has no Keras 3 equivalent "
                f"(Keras 3 accepts only {', '.join(map(repr, rule.safe_values))}); load the file "
                "with Keras 2 (pip install tf_keras) or re-create the layer in Keras 3")
    return config


def _short(value: Any) -> str:
    """A config value for one line: an initializer or regularizer by its class name."""
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        return str(value["class_name"])
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class LoadFailure:
    """What a Keras deserialization error is about, read from its message."""

    layer_class: str | None
    layer_name: str | None
    keys: tuple[str, ...]
    unknown_class: bool
    # Keras 2 (tf_keras) wrote the file: its configs name tf_keras modules Keras 3 cannot import.
    written_by_tf_keras: bool = False


_CLASS = re.compile(r"(?:deserializing class|Could not locate class|Unknown layer:?) '?(\w+)'?")
_NAME = re.compile(r"'name': '([^']+)'")
_UNRECOGNIZED = re.compile(r"Unrecognized keyword arguments passed to \w+: (\{.*?\})\s*$", re.MULTILINE)
_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")


def read_failure(message: str) -> LoadFailure:
    """The layer class, layer name and rejected keys named in a Keras 3 loading error."""
    class_match, name_match = _CLASS.search(message), _NAME.search(message)
    keys: tuple[str, ...] = ()
    unrecognized = _UNRECOGNIZED.search(message)
    if unrecognized:
        try:
            keys = tuple(str(key) for key in ast.literal_eval(unrecognized.group(1)))
        except (ValueError, SyntaxError):
            keys = tuple(re.findall(r"'(\w+)':", unrecognized.group(1)))
    else:
        keys = tuple(_UNEXPECTED.findall(message))
    return LoadFailure(
        layer_class=class_match.group(1) if class_match else None,
        layer_name=name_match.group(1) if name_match else None,
        keys=keys,
        unknown_class="Could not locate class" in message or "Unknown layer" in message,
        written_by_tf_keras="'module': 'tf_keras" in message)


def failure_line(path: str, message: str, tried: str) -> str:
    """One line for a model file Keras 3 cannot load: file, layer, key, and what to do."""
    failure = read_failure(message)
    layer = failure.layer_class or "a layer"
    if failure.layer_name:
        layer += f' "{failure.layer_name}"'
    hint = ("load it with Keras 2 (pip install tf_keras, then rebuild), or re-save it with "
            "Keras 3 as .keras")
    if failure.written_by_tf_keras:
        return (f"{path}: written by Keras 2 (tf_keras), whose classes ({failure.layer_class}) "
                f"Keras 3 cannot import ({tried}); {hint}")
    if failure.unknown_class:
        return f"{path}: layer class {failure.layer_class} does not exist in Keras 3 ({tried}); {hint}"
    if failure.keys:
        keys = ", ".join(failure.keys)
        return (f"{path}: {layer}: Keras 3 does not accept the argument(s) {keys} ({tried}); "
                f"{hint}")
    return f"{path}: {layer}: Keras 3 cannot load it ({tried}): {_reason(message)}; {hint}"


def _reason(message: str) -> str:
    """Keras' own reason, without the layer config it prints before it."""
    reason = message.split("Exception encountered:")[-1].strip()
    return (reason.splitlines()[0] if reason else "no message")[:300]


def has_code_layers(config: Any) -> bool:
    """True when the config holds a layer that runs stored Python code (a `Lambda`)."""
    if isinstance(config, list):
        return any(has_code_layers(item) for item in config)
    if not isinstance(config, dict):
        return False
    return config.get("class_name") == "Lambda" or any(has_code_layers(v) for v in config.values())
