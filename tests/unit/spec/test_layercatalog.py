"""Layer specs are checked against the shipped Keras layer catalog, without TensorFlow."""

from __future__ import annotations

from tflmake.spec import layercatalog


def test_every_layer_a_spec_example_uses_is_in_the_catalog() -> None:
    """Dense, Conv2D, ... (the layers the examples and README use) are known, with their arguments."""
    layers = layercatalog.catalog()["layers"]
    assert {"Dense", "Conv2D", "Flatten", "BatchNormalization", "ReLU", "MaxPooling2D", "Dropout"} <= set(layers)
    assert layers["Dense"]["arguments"]["units"] == ["integer"] and layers["Dense"]["required"] == ["units"]


def test_integer_where_a_number_is_expected_is_fine() -> None:
    """A float argument accepts a TOML integer (rate = 0), and unknown-type arguments are not checked."""
    assert layercatalog.layer_problems([{"type": "Dropout", "rate": 0},
                                        {"type": "Dense", "units": 3, "activation": "relu",
                                         "kernel_initializer": {"class_name": "Zeros"}}]) == []


def test_base_layer_arguments_are_known() -> None:
    """name, dtype and trainable (keras.layers.Layer's own) are allowed on every layer."""
    assert layercatalog.layer_problems([{"type": "Flatten", "name": "f", "dtype": "float32",
                                         "trainable": False}]) == []
