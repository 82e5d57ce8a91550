"""Keras 2 model configs upgraded for Keras 3, and Keras loading errors read into one line."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import pytest

from tflmake.errors import BuildError
from tflmake.ml.keras_compat import RULES, failure_line, has_code_layers, read_failure, upgrade_config

# What tf_keras 2.21 writes for a DepthwiseConv2D (the model_config of a real .h5, abridged).
DEPTHWISE = {"class_name": "DepthwiseConv2D", "config": {
    "name": "depthwise_conv2d", "trainable": True, "dtype": "float32", "kernel_size": [3, 3],
    "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
    "groups": 1, "activation": "linear", "use_bias": True, "depth_multiplier": 1,
    "depthwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                              "config": {"seed": None}, "registered_name": None}},
    "name": "depthwise_conv2d", "inbound_nodes": [[["conv2d", 0, 0, {}]]]}


def functional(*layers: dict[str, Any]) -> dict[str, Any]:
    return {"class_name": "Functional", "config": {"name": "model", "layers": list(layers),
                                                   "input_layers": [], "output_layers": []}}


def test_depthwise_groups_of_one_is_dropped() -> None:
    """DepthwiseConv2D(groups=1), which Keras 3 rejects, loses the key and keeps every other."""
    upgraded, changes = upgrade_config(functional(DEPTHWISE), "m.h5")
    layer = upgraded["config"]["layers"][0]["config"]
    assert "groups" not in layer
    assert {k: v for k, v in DEPTHWISE["config"].items() if k != "groups"} == layer
    assert [str(c) for c in changes] == [
        'DepthwiseConv2D("depthwise_conv2d").groups: dropped 1 '
        "(Keras 3 has no groups argument here; Keras 2 always saved 1)"]


def test_input_config_is_not_modified() -> None:
    """The caller's config is left as it was: the upgrade works on copies."""
    config = functional(DEPTHWISE)
    before = copy.deepcopy(config)
    upgrade_config(config, "m.h5")
    assert config == before


def test_groups_other_than_one_is_an_error_naming_file_layer_and_key() -> None:
    """A value the rule cannot vouch for fails in one line instead of being dropped."""
    layer = copy.deepcopy(DEPTHWISE)
    layer["config"]["groups"] = 4
    with pytest.raises(BuildError) as caught:
        upgrade_config(functional(layer), "models/net.h5")
    message = str(caught.value)
    assert message.startswith('models/net.h5: DepthwiseConv2D("depthwise_conv2d").groups = 4 has no '
                              "Keras 3 equivalent")
    assert "tf_keras" in message and "\n" not in message


def test_rules_reach_nested_models_and_wrappers() -> None:
    """A layer inside a nested model or a TimeDistributed wrapper is upgraded too."""
    lstm = {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "time_major": False}}
    wrapped = {"class_name": "TimeDistributed", "config": {"name": "td", "layer": DEPTHWISE}}
    nested = functional(lstm, wrapped)
    upgraded, changes = upgrade_config(functional(nested), "m.h5")
    assert "time_major" not in json.dumps(upgraded) and '"groups"' not in json.dumps(upgraded)
    assert sorted(c.key for c in changes) == ["groups", "time_major"]


def test_separable_conv_loses_its_unused_kernel_arguments() -> None:
    """SeparableConv2D drops Keras 2's kernel_* keys (it has depthwise_/pointwise_ kernels)."""
    layer = {"class_name": "SeparableConv2D", "config": {
        "name": "sep", "filters": 8, "groups": 1, "kernel_initializer": {"class_name": "GlorotUniform"},
        "kernel_regularizer": None, "kernel_constraint": None, "pointwise_initializer": {}}}
    upgraded, changes = upgrade_config(layer, "m.h5")
    assert upgraded == {"class_name": "SeparableConv2D",
                        "config": {"name": "sep", "filters": 8, "pointwise_initializer": {}}}
    assert len(changes) == 4


def test_config_keras_3_accepts_is_unchanged() -> None:
    """A config without any rejected key comes back equal, with no changes."""
    dense = {"class_name": "Dense", "config": {"name": "dense", "units": 10, "groups": 2}}
    assert upgrade_config(functional(dense), "m.h5") == (functional(dense), [])


def test_every_rule_says_why() -> None:
    """Each rule names its classes and the reason its key may be dropped."""
    assert all(rule.reason and rule.classes and rule.key for rule in RULES)


def test_keras_unrecognized_argument_error_is_read() -> None:
    """Keras 3's deserialization error yields the class, the layer name and the rejected keys."""
    message = ("Error when deserializing class 'DepthwiseConv2D' using config={'name': 'dw', "
               "'trainable': True, 'groups': 1}.\n\nException encountered: Unrecognized keyword "
               "arguments passed to DepthwiseConv2D: {'groups': 1, 'foo': None}")
    failure = read_failure(message)
    assert (failure.layer_class, failure.layer_name, failure.keys) == ("DepthwiseConv2D", "dw",
                                                                       ("groups", "foo"))
    line = failure_line("models/x.h5", message, "tried Keras 3")
    assert line.startswith('models/x.h5: DepthwiseConv2D "dw": Keras 3 does not accept the '
                           "argument(s) groups, foo (tried Keras 3); ")
    assert "pip install tf_keras" in line and "\n" not in line


def test_unknown_layer_class_error_is_read() -> None:
    """A class Keras 3 does not have is named as such."""
    message = ("Could not locate class 'ThresholdedReLU'. Make sure custom classes are decorated "
               "with `@keras.saving.register_keras_serializable()`. Full object config: {...}")
    line = failure_line("a.h5", message, "tried Keras 3")
    assert line.startswith("a.h5: layer class ThresholdedReLU does not exist in Keras 3")


def test_other_keras_errors_keep_only_the_reason() -> None:
    """An error without a key keeps Keras' reason, not the layer config printed before it."""
    message = ("Error when deserializing class 'Dense' using config={'name': 'd', 'units': 3}.\n\n"
               "Exception encountered: something else went wrong\nmore lines")
    line = failure_line("a.h5", message, "tried Keras 3")
    assert line.startswith('a.h5: Dense "d": Keras 3 cannot load it (tried Keras 3): '
                           "something else went wrong; ")


def test_lambda_layers_are_found_anywhere() -> None:
    """A Lambda layer, even nested, marks the config as holding code."""
    lam = {"class_name": "Lambda", "config": {"name": "l", "function": "..."}}
    assert has_code_layers(functional(functional(lam)))
    assert not has_code_layers(functional(DEPTHWISE))


def test_module_does_not_import_tensorflow() -> None:
    """The config layer stays pure: importing it loads neither TensorFlow nor Keras."""
    import subprocess

    check = ("import sys, tflmake.ml.keras_compat; "
             "sys.exit(bool({'tensorflow', 'keras', 'h5py'} & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", check]).returncode == 0


def test_keras_file_written_by_tf_keras_is_named_as_such() -> None:
    """A .keras file whose classes live in tf_keras is reported as a Keras 2 file, not a missing class."""
    message = ("Could not locate class 'Functional'. Make sure custom classes are decorated. Full "
               "object config: {'module': 'tf_keras.src.engine.functional', 'class_name': 'Functional'}")
    line = failure_line("m.keras", message, "tried Keras 3")
    assert line.startswith("m.keras: written by Keras 2 (tf_keras), whose classes (Functional) Keras 3 "
                           "cannot import (tried Keras 3); load it with Keras 2 (pip install tf_keras")


def test_dropped_initializers_are_named_by_class_in_the_change_line() -> None:
    """The build-output line stays short: a dropped initializer shows as its class name."""
    layer = {"class_name": "SeparableConv2D", "config": {
        "name": "sep", "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}}}
    assert [str(c) for c in upgrade_config(layer, "m.h5")[1]] == [
        'SeparableConv2D("sep").kernel_initializer: dropped GlorotUniform '
        "(unused by depthwise layers; Keras 3 rejects it)"]
