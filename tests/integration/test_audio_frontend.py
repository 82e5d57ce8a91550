"""The NumPy audio front end training uses reproduces tf.signal's pipeline (the one it replaced)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.datafixtures import write_audio_folder, write_wav
from tflmake.frontend.audio import contract, features, normalize, read_raw
from tflmake.spec.sections import DatasetSection

pytestmark = pytest.mark.integration

OPTIONS: DatasetSection = {
    "type": "audio_folder", "path": "clips", "sample_rate": 16000, "clip_ms": 1000, "normalize": "max",
    "features": "mfcc", "window_ms": 30, "stride_ms": 20, "mel_bins": 40, "mfcc_count": 10, "lower_hz": 20,
    "upper_hz": 4000}


def tf_signal_features(raw: np.ndarray, options: dict[str, Any]) -> np.ndarray:
    """The front end as data/audio.py computed it with tf.signal before the NumPy port (float32 throughout)."""
    from tflmake.ml.tensorflow import import_tensorflow

    tf = import_tensorflow()
    clips = normalize(raw.astype(np.float32) / np.float32(32768), options["normalize"])
    rate = options["sample_rate"]
    stfts = tf.signal.stft(tf.constant(clips), frame_length=round(rate * options["window_ms"] / 1000),
                           frame_step=round(rate * options["stride_ms"] / 1000), window_fn=tf.signal.hann_window)
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        options["mel_bins"], stfts.shape[-1], rate, options["lower_hz"], options["upper_hz"])
    log_mel = tf.math.log(tf.tensordot(tf.abs(stfts), mel_matrix, 1) + 1e-6)
    if options["features"] == "log_mel":
        return np.asarray(log_mel, dtype=np.float32)
    return np.asarray(tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., : options["mfcc_count"]],
                      dtype=np.float32)


def noisy_clips(count: int, seed: int = 0) -> np.ndarray:
    """int16 clips of two tones in noise at varying loudness."""
    rng = np.random.default_rng(seed)
    time = np.arange(16000) / 16000
    signal = sum(rng.uniform(0.1, 0.4, (count, 1)) * np.sin(2 * np.pi * rng.uniform(100, 3800, (count, 1)) * time)
                 for _ in range(2))
    signal = signal + rng.normal(0, 0.01, (count, 16000))
    return np.round(signal * rng.uniform(1000, 30000, (count, 1))).astype(np.int16)


@pytest.mark.parametrize("kind, how, window_ms", [("mfcc", "max", 30), ("log_mel", "peak", 30),
                                                  ("mfcc", "none", 25), ("log_mel", "max", 25.0625)])
def test_numpy_features_match_tf_signal(tmp_path: Path, kind: str, how: str, window_ms: float) -> None:
    """Noisy clips agree to 2e-4; pure tones (generated wavs) to float32 FFT rounding magnified by log.

    25.0625 ms is 401 samples: an odd frame, where tf.signal's periodic Hann window is the symmetric one.
    A pure tone leaves some mel bands with energy near the FFTs' float32 rounding of the tone's peak,
    and tf's FFT rounds differently from the C's (which the port follows): there log() turns the
    difference into a few 0.01 (measured up to 0.072 for log-mel). A wrong constant (window, FFT size,
    mel edges, DCT scale) is off by far more, on every clip.
    """
    options: DatasetSection = {**OPTIONS, "features": kind, "normalize": how, "window_ms": window_ms}
    front_end = contract(options)
    write_audio_folder(tmp_path / "clips", {"low": 300.0, "mid": 1000.0, "high": 3000.0}, per_class=4)
    write_wav(tmp_path / "clips" / "short.wav", 700.0, milliseconds=600, amplitude=0.05)
    tones = np.stack([read_raw(str(path), front_end) for path in sorted((tmp_path / "clips").rglob("*.wav"))])
    noisy = noisy_clips(16)
    ours, theirs = features(noisy, front_end), tf_signal_features(noisy, options)
    assert ours.shape == theirs.shape == (16, *front_end["features_shape"])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-4)
    ours, theirs = features(tones, front_end), tf_signal_features(tones, options)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=0.15)
    assert np.mean(np.abs(ours - theirs)) < 5e-3
