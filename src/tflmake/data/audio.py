"""`audio_folder` data sets: one subfolder of .wav clips per class, turned into MFCC or log-mel features.

The front end is the one the DS-CNN keyword-spotting references were trained
with (MLPerf Tiny KWS, after ARM's ML-KWS-for-MCU): each clip divided by its
largest sample, tf.signal's STFT with a Hann window, a mel filter bank,
log(mel + 1e-6), then the DCT of
tf.signal.mfccs_from_log_mel_spectrograms. tf.signal rather than a numpy
re-implementation so features match those references' training pipeline.
"""

from __future__ import annotations

import wave
from collections.abc import Callable

import numpy as np

from tflmake.data.folders import Arrays, load_labelled_folders
from tflmake.errors import BuildError
from tflmake.kinds import AUDIO_EXTENSIONS
from tflmake.spec.load import ModelSpec
from tflmake.spec.sections import DatasetSection

# Clips turned into features per tf.signal call: bounds memory for large folders.
BATCH = 256
LOG_OFFSET = 1e-6
_SAMPLE_TYPES: dict[int, str] = {1: "u1", 2: "<i2", 4: "<i4"}
# normalize -> the divisor of a clip.
DIVISORS: dict[str, Callable[[np.ndarray], float]] = {
    "max": lambda clip: float(np.max(clip)), "peak": lambda clip: float(np.max(np.abs(clip))),
    "none": lambda clip: 1.0}


def load_audio_folder(spec: ModelSpec) -> Arrays:
    assert spec.dataset is not None
    options = spec.dataset
    return load_labelled_folders(options, spec.resolve, AUDIO_EXTENSIONS,
                                 lambda paths: audio_features(paths, options))


def clip_samples(options: DatasetSection) -> int:
    return round(options["sample_rate"] * options["clip_ms"] / 1000)


def read_wav(path: str, sample_rate: int, samples: int) -> np.ndarray:
    """A mono PCM .wav as float32 in [-1, 1), cut or zero-padded at the end to `samples`."""
    try:
        with wave.open(path, "rb") as clip:
            rate, channels, width = clip.getframerate(), clip.getnchannels(), clip.getsampwidth()
            frames = clip.readframes(samples)
    except (OSError, EOFError, wave.Error) as error:
        raise BuildError(f"dataset.path: cannot read {path}: {error}") from None
    if channels != 1 or width not in _SAMPLE_TYPES or rate != sample_rate:
        raise BuildError(f"dataset.sample_rate: {path} is {rate} Hz, {channels} channel(s), "
                         f"{8 * width}-bit; expected {sample_rate} Hz mono 8/16/32-bit PCM (no resampling)")
    raw = np.frombuffer(frames, dtype=_SAMPLE_TYPES[width]).astype(np.float32)
    if width == 1:  # 8-bit wav is unsigned, centred on 128
        raw -= 128.0
    clip_values = np.zeros(samples, dtype=np.float32)
    clip_values[: len(raw)] = raw / np.float32(2 ** (8 * width - 1))
    return clip_values


def normalize(clip: np.ndarray, how: str) -> np.ndarray:
    """The clip divided by its `normalize` divisor; unchanged when that is not positive (silence)."""
    divisor = DIVISORS[how](clip) if len(clip) else 0.0
    return clip / np.float32(divisor) if divisor > 0 else clip


def audio_features(paths: list[str], options: DatasetSection) -> np.ndarray:
    """Features of every clip, (count, frames, coefficients) float32, computed in batches."""
    samples = clip_samples(options)
    batches = []
    for start in range(0, len(paths), BATCH):
        clips = np.stack([normalize(read_wav(path, options["sample_rate"], samples), options["normalize"])
                          for path in paths[start:start + BATCH]])
        batches.append(front_end(clips, options))
    return np.concatenate(batches)


def front_end(clips: np.ndarray, options: DatasetSection) -> np.ndarray:
    """MFCCs (or log-mel energies) of a batch of clips with tf.signal."""
    from tflmake.ml.tensorflow import import_tensorflow

    tf = import_tensorflow()
    rate = options["sample_rate"]
    stfts = tf.signal.stft(tf.constant(clips), frame_length=round(rate * options["window_ms"] / 1000),
                           frame_step=round(rate * options["stride_ms"] / 1000), window_fn=tf.signal.hann_window)
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        options["mel_bins"], stfts.shape[-1], rate, options["lower_hz"], options["upper_hz"])
    log_mel = tf.math.log(tf.tensordot(tf.abs(stfts), mel_matrix, 1) + LOG_OFFSET)
    if options["features"] == "log_mel":
        return np.asarray(log_mel, dtype=np.float32)
    mfccs = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., : options["mfcc_count"]]
    return np.asarray(mfccs, dtype=np.float32)
