"""`audio_folder` data sets: one subfolder of .wav clips per class, turned into MFCC or log-mel features.

The features come from tflmake.frontend.audio, a NumPy port of the tf.signal
front end the DS-CNN keyword-spotting references were trained with (checked
against tf.signal by tests/integration/test_audio_frontend.py). Training, the
bundle's recorded contract and the generated C front end all follow that one
definition, so the firmware sees what training saw. Clips are read as the int16
PCM the firmware receives (8- and 32-bit files converted, see `read_wav`).
"""

from __future__ import annotations

import numpy as np

from tflmake.data.folders import Arrays, load_labelled_folders
from tflmake.frontend.audio import contract, features_before_scale, read_raw, read_wav
from tflmake.kinds import AUDIO_EXTENSIONS
from tflmake.spec.load import ModelSpec
from tflmake.spec.sections import DatasetSection

__all__ = ["BATCH", "audio_features", "load_audio_folder", "read_wav"]

# Clips turned into features at once: bounds memory for large folders.
BATCH = 256


def load_audio_folder(spec: ModelSpec) -> Arrays:
    assert spec.dataset is not None
    options = spec.dataset
    return load_labelled_folders(options, spec.resolve, AUDIO_EXTENSIONS,
                                 lambda paths: audio_features(paths, options))


def audio_features(paths: list[str], options: DatasetSection) -> np.ndarray:
    """Features of every clip, (count, frames, coefficients) float32, before dataset.scale (the dataset task
    divides every type's inputs by it)."""
    front_end = contract(options)
    batches = []
    for start in range(0, len(paths), BATCH):
        raw = np.stack([read_raw(path, front_end) for path in paths[start:start + BATCH]])
        batches.append(features_before_scale(raw, front_end))
    return np.concatenate(batches)
