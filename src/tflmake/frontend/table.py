"""The data set types whose raw data reaches the model through a generated C front end, and its functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from tflmake.frontend import audio, csvwindow, image
from tflmake.spec.sections import DatasetSection
from tflmake.tflite.quantize import Quantization

Contract = dict[str, Any]


class FrontEnd(NamedTuple):
    """What one data set type's front end provides (the same C API for every type: frontend/harness.py drives it)."""

    contract: Callable[[DatasetSection], Contract]  # every step from raw data to features, as facts
    features: Callable[[np.ndarray, Contract], np.ndarray]  # the NumPy reference, driven by the contract
    render: Callable[[str, Contract, Quantization], tuple[str, str]]  # (header, source) of the C front end
    # One raw sample read from a data file as the sensor would deliver it; None: raw samples are the
    # loader's unscaled inputs (CSV windows).
    read_raw: Callable[[str, Contract], np.ndarray] | None


FRONT_ENDS = {
    "audio_folder": FrontEnd(audio.contract, audio.features, audio.render, audio.read_raw),
    "image_folder": FrontEnd(image.contract, image.features, image.render, image.read_raw),
    "csv": FrontEnd(csvwindow.contract, csvwindow.features, csvwindow.render, None),
}
