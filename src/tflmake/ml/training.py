"""Keras model definition from layer tables, compilation from [train], and the training loop."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from tflmake.console import progress
from tflmake.errors import BuildError
from tflmake.exits import note_ctrl_c, pythons_to_handle
from tflmake.kinds import EVALUATION_TASKS
from tflmake.ml.tensorflow import import_keras
from tflmake.spec.load import ModelSpec
from tflmake.spec.sections import TrainSection


def model_from_layers(spec: ModelSpec) -> Any:
    """A Sequential model from `[model.source] layers`, each `{type = "Dense", ...}`."""
    keras = import_keras()
    layers = [keras.Input(shape=tuple(spec.source["input_shape"]))]
    for index, config in enumerate(spec.source["layers"]):
        arguments = {key: value for key, value in config.items() if key != "type"}
        layer_class = getattr(keras.layers, config["type"], None)
        if not (isinstance(layer_class, type) and issubclass(layer_class, keras.layers.Layer)):
            raise BuildError(f'model.source.layers[{index}].type: "{config["type"]}" is not a '
                             "Keras layer (see keras.layers)")
        try:
            layers.append(layer_class(**arguments))
        except (TypeError, ValueError) as error:
            raise BuildError(f"model.source.layers[{index}]: {config['type']}: {error}") from None
    try:
        return keras.Sequential(layers, name=spec.name)
    except (TypeError, ValueError) as error:
        raise BuildError(f"model.source.layers: {error}") from None


def compile_model(model: Any, options: TrainSection) -> None:
    keras = import_keras()
    optimizers = {name.lower(): value for name, value in vars(keras.optimizers).items()
                  if isinstance(value, type) and issubclass(value, keras.optimizers.Optimizer)}
    optimizer_class = optimizers.get(options["optimizer"].lower())
    if optimizer_class is None:
        raise BuildError(f'train.optimizer: unknown optimizer "{options["optimizer"]}"; '
                         "expected a keras.optimizers name such as adam, sgd, rmsprop")
    try:
        loss = keras.losses.get(options["loss"])
    except ValueError:
        raise BuildError(f'train.loss: unknown loss "{options["loss"]}"; expected a '
                         "keras.losses name such as sparse_categorical_crossentropy") from None
    try:
        model.compile(optimizer=optimizer_class(learning_rate=options["learning_rate"]),
                      loss=loss, metrics=list(options["metrics"]))
    except ValueError as error:
        raise BuildError(f"train.metrics: {error}") from None


def train(model: Any, spec: ModelSpec, data: dict[str, np.ndarray]) -> None:
    """Fit on the training split, printing one line per epoch to stderr."""
    assert spec.train is not None
    fit(model, spec, data, spec.train["epochs"])


def fit(model: Any, spec: ModelSpec, data: dict[str, np.ndarray], epochs: int,
        callbacks: list[Any] | None = None) -> None:
    """`epochs` of training with [train]'s options; pruning and QAT fine-tune through this too."""
    assert spec.train is not None
    options = spec.train
    if not getattr(model, "compiled", False):
        compile_model(model, options)
    try:
        with _stopped_by_ctrl_c(model):
            model.fit(*training_pairs(spec, data), epochs=epochs,
                      batch_size=options["batch_size"], shuffle=True, verbose=0,
                      callbacks=[*(callbacks or []), _epoch_printer(epochs)])
    except ValueError as error:
        raise BuildError(f"training failed: {str(error).strip().splitlines()[-1]}") from None


@contextmanager
def _stopped_by_ctrl_c(model: Any) -> Iterator[None]:
    """Ctrl-C ends training at the next batch, then interrupts the build from here, outside Keras' loop.

    A KeyboardInterrupt raised inside the training loop sometimes crashed TensorFlow
    (exit -11 instead of 130, in about 1 of 9 builds interrupted mid-training);
    stopping the loop first lets it end cleanly. A second Ctrl-C interrupts at once.
    Only where Ctrl-C would raise KeyboardInterrupt anyway (`exits.pythons_to_handle`). The
    press is remembered (`exits.note_ctrl_c`), in case the interrupt raised here is lost.
    """
    if not pythons_to_handle():
        yield
        return
    pressed: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        note_ctrl_c()
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)
        model.stop_training = True

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def training_pairs(spec: ModelSpec, data: dict[str, np.ndarray]) -> tuple[Any, np.ndarray]:
    """(inputs, targets): the labels, or for a model that reconstructs (anomaly) its normal inputs."""
    if EVALUATION_TASKS[spec.evaluation["task"]].reconstructs:
        normal = data["x_train"][data["y_train"].reshape(-1) == 0]
        return normal, normal
    extra = 1
    while f"x{extra}_train" in data:  # a model with several inputs: x, x1, x2, ...
        extra += 1
    inputs = data["x_train"] if extra == 1 else [data["x_train"], *(data[f"x{k}_train"] for k in range(1, extra))]
    return inputs, data["y_train"]


def steps_per_epoch(samples: int, batch_size: int) -> int:
    return -(-samples // batch_size)


def _epoch_printer(epochs: int) -> Any:
    keras = import_keras()

    class EpochLine(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
            progress(f"    epoch {epoch + 1}/{epochs}: {metrics}")

    return EpochLine()
