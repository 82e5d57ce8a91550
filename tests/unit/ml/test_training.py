"""Ctrl-C during training stops Keras' loop first and interrupts outside it (no TensorFlow: a stand-in model)."""

from __future__ import annotations

import os
import signal
import threading
from types import SimpleNamespace

import pytest

from tflmake import exits
from tflmake.ml.training import _stopped_by_ctrl_c


def test_ctrl_c_stops_training_then_interrupts_after_the_loop() -> None:
    model = SimpleNamespace(stop_training=False)
    steps_after_ctrl_c = 0
    with pytest.raises(KeyboardInterrupt):
        with _stopped_by_ctrl_c(model):
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs before the next bytecode
            assert model.stop_training  # Keras checks this after every batch
            steps_after_ctrl_c += 1  # no KeyboardInterrupt inside the loop
    assert steps_after_ctrl_c == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_interrupts_at_once() -> None:
    model = SimpleNamespace(stop_training=False)
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with _stopped_by_ctrl_c(model):
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            reached.append("after the second")
    assert reached == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_that_stops_training_is_remembered() -> None:
    """The command still ends with 130 if the interrupt raised after the loop is lost on its way out."""
    model = SimpleNamespace(stop_training=False)
    with exits.ctrl_c_remembered():
        with pytest.raises(KeyboardInterrupt):
            with _stopped_by_ctrl_c(model):
                os.kill(os.getpid(), signal.SIGINT)
        assert exits.ctrl_c_pressed()
        assert signal.getsignal(signal.SIGINT) is exits.interrupt
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_nothing_changes_where_ctrl_c_is_not_pythons_to_handle() -> None:
    """An ignored SIGINT (a background job) stays ignored; a thread other than the main one installs nothing."""
    model = SimpleNamespace(stop_training=False)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _stopped_by_ctrl_c(model):
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    seen = []

    def in_a_thread() -> None:
        with _stopped_by_ctrl_c(model):
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]
