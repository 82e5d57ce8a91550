"""The `audio_folder` front end: int16 mono PCM clips to MFCCs or log-mel energies, as contract, NumPy and C.

The steps are those the DS-CNN keyword-spotting references were trained with
(MLPerf Tiny KWS, after ARM's ML-KWS-for-MCU), built on tf.signal: each clip
divided by its largest sample, an STFT with a periodic Hann window, an HTK mel
filter bank, log(mel + 1e-6), then the DCT of
tf.signal.mfccs_from_log_mel_spectrograms. This is a NumPy port of that
pipeline, not tf.signal itself: training computes its features here (so the
training set, the contract and the generated C share one definition), and
tests/integration/test_audio_frontend.py checks it against tf.signal's. Its
arithmetic is the generated C's, in float32 and in the same order (_float32.py),
so the C reproduces the training features to the last bit but for logf's.
`contract` states every constant; `features` runs on nothing but that dict.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from typing import Any

import numpy as np

from tflmake.errors import BuildError
from tflmake.frontend._audio_c import Tables, render_c
from tflmake.frontend._float32 import band_sums, dot_rows, log, magnitude, real_fft, twiddles
from tflmake.spec.sections import DatasetSection
from tflmake.tflite.quantize import Quantization

Contract = dict[str, Any]
Step = dict[str, Any]
PCM_DIVISOR = 32768.0
LOG_OFFSET = 1e-6
# HTK's mel scale, as tf.signal: mel = 1127 ln(1 + hz / 700).
MEL_BREAK_HZ = 700.0
MEL_HIGH_FREQUENCY_Q = 1127.0
_SAMPLE_TYPES: dict[int, str] = {1: "u1", 2: "<i2", 4: "<i4"}
# normalize -> the divisor of each clip (float32 PCM, one clip per row).
DIVISORS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "max": lambda clips: np.max(clips, axis=-1), "peak": lambda clips: np.max(np.abs(clips), axis=-1),
    "none": lambda clips: np.ones(clips.shape[:-1], dtype=clips.dtype)}
_DIVISOR_TEXT = {"max": "the clip's largest sample", "peak": "the clip's largest |sample|", "none": "1"}


def clip_samples(options: DatasetSection) -> int:
    return round(options["sample_rate"] * options["clip_ms"] / 1000)


def fft_length(frame_length: int) -> int:
    """The smallest power of two >= frame_length, as tf.signal.stft chooses it."""
    return 1 << max(0, frame_length - 1).bit_length()


def contract(options: DatasetSection, **measured: Any) -> Contract:
    """Every step from one int16 mono PCM clip to the features, with every constant, in order.

    Audio measures nothing from the data: every constant follows from `options`.
    """
    if measured:
        raise TypeError(f"audio front end takes no measured facts; got {', '.join(sorted(measured))}")
    rate, samples = options["sample_rate"], clip_samples(options)
    frame_length = round(rate * options["window_ms"] / 1000)
    frame_step = round(rate * options["stride_ms"] / 1000)
    frames = 1 + (samples - frame_length) // frame_step
    fft = fft_length(frame_length)
    mel_bins = options["mel_bins"]
    steps: list[Step] = [
        {"op": "clip", "sample_rate": rate, "samples": samples,
         "rule": "longer recordings cut at the end, shorter ones zero-padded at the end"},
        {"op": "pcm_to_float", "divisor": PCM_DIVISOR},
        {"op": "normalize", "how": options["normalize"], "divisor": _DIVISOR_TEXT[options["normalize"]],
         "rule": "float32 clip / divisor; a divisor that is not positive leaves the clip unchanged"},
        {"op": "frame", "frame_length": frame_length, "frame_step": frame_step, "frames": frames,
         "pad_end": False},
        {"op": "window", "window": "hann", "periodic": True, "length": frame_length,
         "formula": "0.5 - 0.5 cos(2 pi n / d), d = length if even else length - 1 (tf.signal.hann_window)"},
        {"op": "rfft", "fft_length": fft, "bins": fft // 2 + 1, "padding": "zeros after each frame",
         "arithmetic": "float32: a fft_length/2-point complex radix-2 FFT (decimation in time) of "
                       "even + i * odd samples, then the real split, as the generated C"},
        {"op": "magnitude", "formula": "sqrt(re * re + im * im), float32"},
        {"op": "mel", "mel_bins": mel_bins, "lower_hz": float(options["lower_hz"]),
         "upper_hz": float(options["upper_hz"]), "sample_rate": rate, "spectrogram_bins": fft // 2 + 1,
         "mel_scale": "htk: 1127 ln(1 + hz / 700)", "dc_bin": "weight 0",
         "weights": "triangles linear in mel (tf.signal.linear_to_mel_weight_matrix)",
         "arithmetic": "float32 sums in FFT bin order"},
        {"op": "log", "offset": LOG_OFFSET, "base": "e", "arithmetic": "logf(float32 mel + offset)"},
    ]
    coefficients = mel_bins
    if options["features"] == "mfcc":
        coefficients = options["mfcc_count"]
        steps.append({"op": "dct", "type": 2, "mel_bins": mel_bins, "coefficients": coefficients,
                      "formula": "c[k] = sum_n 2 x[n] cos(pi k (2n + 1) / (2 mel_bins)) / sqrt(2 mel_bins) "
                                 "(tf.signal.mfccs_from_log_mel_spectrograms), first coefficients kept",
                      "arithmetic": "float32 sums in mel bin order"})
    scale = float(options.get("scale", 1.0))
    steps.append({"op": "scale", "divisor": scale})
    return {"type": "audio_folder", "features": options["features"],
            "raw": {"dtype": "int16", "shape": [samples], "sample_rate": rate,
                    "layout": f"mono PCM at {rate} Hz, {samples} samples"},
            "steps": steps, "features_shape": [frames, coefficients], "scale": scale}


def step(front_end: Contract, op: str) -> Step:
    """The contract's step `op` (KeyError when it has none)."""
    for candidate in front_end["steps"]:
        if candidate["op"] == op:
            return dict(candidate)
    raise KeyError(f"audio front end contract has no {op!r} step")


def features(raw: np.ndarray, front_end: Contract) -> np.ndarray:
    """Features of a batch of int16 clips, (batch, *features_shape) float32, divided by scale."""
    return _run(raw, front_end["steps"])


def features_before_scale(raw: np.ndarray, front_end: Contract) -> np.ndarray:
    """`features` without its last step: the data set loader's output, which the dataset task scales."""
    return _run(raw, [s for s in front_end["steps"] if s["op"] != "scale"])


def _run(raw: np.ndarray, steps: list[Step]) -> np.ndarray:
    if raw.ndim != 2:
        raise ValueError(f"expected a batch of clips (batch, samples); got shape {raw.shape}")
    values = raw
    for entry in steps:
        values = _OPS[entry["op"]](values, entry)
    return np.asarray(values, dtype=np.float32)


def _clip(raw: np.ndarray, entry: Step) -> np.ndarray:
    samples = entry["samples"]
    clips = np.zeros((len(raw), samples), dtype=np.int16)
    kept = min(samples, raw.shape[1])
    clips[:, :kept] = raw[:, :kept]
    return clips


def _pcm_to_float(raw: np.ndarray, entry: Step) -> np.ndarray:
    return raw.astype(np.float32) / np.float32(entry["divisor"])


def normalize(clips: np.ndarray, how: str) -> np.ndarray:
    """Each float32 clip (last axis) divided by its `how` divisor; unchanged when that is not positive."""
    if clips.shape[-1] == 0:
        return clips
    divisors = np.asarray(DIVISORS[how](clips), dtype=np.float32)[..., None]
    return np.where(divisors > 0, clips / np.where(divisors > 0, divisors, np.float32(1)), clips)


def _frame(clips: np.ndarray, entry: Step) -> np.ndarray:
    starts = np.arange(entry["frames"]) * entry["frame_step"]
    return clips[:, starts[:, None] + np.arange(entry["frame_length"])]


def hann_window(length: int) -> np.ndarray:
    """tf.signal.hann_window(length, periodic=True) in float64 (odd lengths: the symmetric window, as TF)."""
    if length == 1:
        return np.ones(1)
    denominator = length if length % 2 == 0 else length - 1
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / denominator)


def _window(frames: np.ndarray, entry: Step) -> np.ndarray:
    return frames.astype(np.float32) * hann_window(entry["length"]).astype(np.float32)


def _rfft(frames: np.ndarray, entry: Step) -> np.ndarray:
    if entry["fft_length"] < 2:
        raise ValueError(f"the front end needs frames of at least 2 samples; this contract's FFT has "
                         f"{entry['fft_length']} point(s)")
    return real_fft(frames, entry["fft_length"])


def mel_weights(entry: Step) -> np.ndarray:
    """tf.signal.linear_to_mel_weight_matrix in float64: (spectrogram_bins, mel_bins), the DC row zero."""
    def to_mel(hertz: np.ndarray | float) -> np.ndarray:
        return MEL_HIGH_FREQUENCY_Q * np.log1p(np.asarray(hertz, dtype=np.float64) / MEL_BREAK_HZ)

    bins, mel_bins = entry["spectrogram_bins"], entry["mel_bins"]
    spectrogram_mel = to_mel(np.linspace(0.0, entry["sample_rate"] / 2, bins)[1:])[:, None]
    edges = np.linspace(to_mel(entry["lower_hz"]), to_mel(entry["upper_hz"]), mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    slopes = np.minimum((spectrogram_mel - lower) / (center - lower), (upper - spectrogram_mel) / (upper - center))
    return np.pad(np.maximum(0.0, slopes), ((1, 0), (0, 0)))


def mel_runs(entry: Step) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mel bank without its zeros: per mel bin its first FFT bin and run length, and the runs' weights."""
    mel = mel_weights(entry)
    used = mel > 0
    first = np.where(used.any(axis=0), np.argmax(used, axis=0), 0)
    count = np.where(used.any(axis=0), mel.shape[0] - np.argmax(used[::-1], axis=0) - first, 0)
    runs = [mel[start:start + length, band] for band, (start, length) in enumerate(zip(first, count, strict=True))]
    return first, count, np.concatenate(runs)


def _mel(magnitudes: np.ndarray, entry: Step) -> np.ndarray:
    return band_sums(magnitudes, *mel_runs(entry))


def dct_matrix(entry: Step) -> np.ndarray:
    """(mel_bins, coefficients): tf.signal.mfccs_from_log_mel_spectrograms's DCT-II, its first columns."""
    mel_bins = entry["mel_bins"]
    n, k = np.arange(mel_bins)[:, None], np.arange(entry["coefficients"])[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * mel_bins)) / np.sqrt(2.0 * mel_bins)


def _dct(log_mel: np.ndarray, entry: Step) -> np.ndarray:
    return dot_rows(log_mel, dct_matrix(entry).T)


def _scale(values: np.ndarray, entry: Step) -> np.ndarray:
    # float32 / float32, as the dataset task divides every data set's inputs.
    return values.astype(np.float32) / np.float32(entry["divisor"])


_OPS: dict[str, Callable[[np.ndarray, Step], np.ndarray]] = {
    "clip": _clip, "pcm_to_float": _pcm_to_float, "normalize": lambda clips, entry: normalize(clips, entry["how"]),
    "frame": _frame, "window": _window, "rfft": _rfft, "magnitude": lambda spectrum, _: magnitude(spectrum),
    "mel": _mel, "log": lambda mel, entry: log(mel, entry["offset"]), "dct": _dct, "scale": _scale}


def read_wav(path: str, sample_rate: int, samples: int) -> np.ndarray:
    """A mono PCM .wav as int16 PCM (what a microphone driver delivers), cut or zero-padded at the end.

    16-bit samples are kept as they are; 8-bit (unsigned, centred on 128) become
    (x - 128) << 8 and 32-bit x >> 16 (its 16 most significant bits), so every
    width reaches the front end as the int16 the firmware would pass.
    """
    try:
        with wave.open(path, "rb") as clip:
            rate, channels, width = clip.getframerate(), clip.getnchannels(), clip.getsampwidth()
            frames = clip.readframes(samples)
    except (OSError, EOFError, wave.Error) as error:
        raise BuildError(f"dataset.path: cannot read {path}: {error}") from None
    if channels != 1 or width not in _SAMPLE_TYPES or rate != sample_rate:
        raise BuildError(f"dataset.sample_rate: {path} is {rate} Hz, {channels} channel(s), "
                         f"{8 * width}-bit; expected {sample_rate} Hz mono 8/16/32-bit PCM (no resampling)")
    values = np.frombuffer(frames, dtype=_SAMPLE_TYPES[width]).astype(np.int32)
    if width == 1:
        values = (values - 128) << 8
    elif width == 4:
        values = values >> 16
    pcm = np.zeros(samples, dtype=np.int16)
    pcm[: len(values)] = values
    return pcm


def read_raw(path: str, front_end: Contract) -> np.ndarray:
    """One clip as the firmware receives it: int16 PCM, (clip samples,)."""
    clip = step(front_end, "clip")
    return read_wav(path, clip["sample_rate"], clip["samples"])


def render(prefix: str, front_end: Contract, quantization: Quantization) -> tuple[str, str]:
    """(header, source) of `<prefix>_frontend.h/.c`: this front end in C99 with its tables precomputed."""
    return render_c(prefix, front_end, quantization, tables(front_end))


def tables(front_end: Contract) -> Tables:
    """The C front end's constant arrays: window, twiddles, the mel bank as per-bin runs, the DCT."""
    fft = step(front_end, "rfft")["fft_length"]
    if fft < 2:
        raise ValueError(f"the C front end needs frames of at least 2 samples; this contract's FFT has {fft} point(s)")
    cos, sin = twiddles(fft)
    first, count, weights = mel_runs(step(front_end, "mel"))
    dct = dct_matrix(step(front_end, "dct")).T if front_end["features"] == "mfcc" else None
    return Tables(window=hann_window(step(front_end, "window")["length"]), cos=cos, sin=sin,
                  mel_first=first, mel_count=count, mel_weights=weights, dct=dct)
