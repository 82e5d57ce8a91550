"""The audio front end: its contract, the NumPy features training uses, and the generated C against them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.datafixtures import write_audio_folder, write_wav
from tests.support import require_tool
from tflmake.frontend.audio import contract, features, read_raw, render
from tflmake.spec.sections import DatasetSection
from tflmake.tflite.quantize import Quantization, quantize

OPTIONS: DatasetSection = {
    "type": "audio_folder", "path": "clips", "sample_rate": 16000, "clip_ms": 1000, "normalize": "max",
    "features": "mfcc", "window_ms": 30, "stride_ms": 20, "mel_bins": 40, "mfcc_count": 10, "lower_hz": 20,
    "upper_hz": 4000}
HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
CORTEX_M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c99", "-Wall",
                   "-Wextra", "-Werror", "-c"]
# Reads clips of raw int16 from argv[1] until it ends, writes each clip's output tensor to argv[2].
TEST_MAIN = """\
#include <stdio.h>
#include "PREFIX_frontend.h"

int main(int argc, char **argv) {
  static PREFIX_frontend_raw_t raw[UPPER_FRONTEND_RAW_ELEMENTS];
  static PREFIX_frontend_output_t out[UPPER_FRONTEND_OUTPUT_ELEMENTS];
  FILE *in, *result;
  if (argc != 3 || !(in = fopen(argv[1], "rb")) || !(result = fopen(argv[2], "wb"))) {
    return 2;
  }
  while (fread(raw, sizeof raw[0], UPPER_FRONTEND_RAW_ELEMENTS, in) == UPPER_FRONTEND_RAW_ELEMENTS) {
    if (PREFIX_frontend(raw, out) != 0
        || fwrite(out, sizeof out[0], UPPER_FRONTEND_OUTPUT_ELEMENTS, result) != UPPER_FRONTEND_OUTPUT_ELEMENTS) {
      return 3;
    }
  }
  return fclose(in) != 0 || fclose(result) != 0;
}
"""


def clips(count: int, samples: int = 16000, seed: int = 0) -> np.ndarray:
    """int16 clips like a microphone's: a few tones of varying loudness in noise, some with silence at the end."""
    rng = np.random.default_rng(seed)
    time = np.arange(samples) / 16000
    out = np.zeros((count, samples), dtype=np.int16)
    for index in range(count):
        signal = sum(rng.uniform(0.05, 0.4) * np.sin(2 * np.pi * rng.uniform(100, 3800) * time + rng.uniform(0, 6))
                     for _ in range(rng.integers(1, 4)))
        signal = signal + rng.normal(0, rng.uniform(0.001, 0.05), samples)
        if index % 4 == 3:
            signal[rng.integers(samples // 2, samples):] = 0
        out[index] = np.clip(np.round(signal * 32767 * rng.uniform(0.1, 1.0)), -32768, 32767)
    return out


def run_c(tmp_path: Path, prefix: str, front_end: dict[str, Any], quantization: Quantization,
          raw: np.ndarray) -> np.ndarray:
    """The generated C compiled with the host gcc and run over `raw`: one output tensor per clip."""
    gcc = require_tool("gcc")
    header, source = render(prefix, front_end, quantization)
    (tmp_path / f"{prefix}_frontend.h").write_text(header)
    (tmp_path / f"{prefix}_frontend.c").write_text(source)
    (tmp_path / "main.c").write_text(TEST_MAIN.replace("PREFIX", prefix).replace("UPPER", prefix.upper()))
    binary = tmp_path / "frontend"
    subprocess.run([gcc, *HOST_FLAGS, "-O2", "-o", str(binary), str(tmp_path / "main.c"),
                    str(tmp_path / f"{prefix}_frontend.c"), "-lm"], check=True, capture_output=True, text=True)
    raw.astype("<i2").tofile(tmp_path / "raw.bin")
    subprocess.run([str(binary), str(tmp_path / "raw.bin"), str(tmp_path / "out.bin")], check=True, timeout=60)
    dtype = np.dtype(quantization.dtype).newbyteorder("<")
    return np.fromfile(tmp_path / "out.bin", dtype=dtype).reshape(len(raw), *front_end["features_shape"])


def int8_quantization(values: np.ndarray) -> Quantization:
    """What calibration would choose: the values' range over 255 steps, the zero point placing it in int8."""
    low, high = float(values.min()), float(values.max())
    scale = (high - low) / 255
    return Quantization(np.dtype(np.int8), scale, int(np.clip(round(-128 - low / scale), -128, 127)))


def test_contract_states_every_step_and_constant_in_order() -> None:
    """The contract names each step from int16 PCM to scaled MFCCs with the constants the spec implies."""
    front_end = contract({**OPTIONS, "scale": 4.0})
    steps = {entry["op"]: entry for entry in front_end["steps"]}
    assert [entry["op"] for entry in front_end["steps"]] == [
        "clip", "pcm_to_float", "normalize", "frame", "window", "rfft", "magnitude", "mel", "log", "dct", "scale"]
    assert front_end["raw"] == {"dtype": "int16", "shape": [16000], "sample_rate": 16000,
                                "layout": "mono PCM at 16000 Hz, 16000 samples"}
    assert steps["clip"]["samples"] == 16000 and steps["pcm_to_float"]["divisor"] == 32768.0
    assert steps["normalize"]["how"] == "max"
    assert (steps["frame"]["frame_length"], steps["frame"]["frame_step"], steps["frame"]["frames"]) == (480, 320, 49)
    assert steps["window"]["window"] == "hann" and steps["window"]["periodic"] is True
    assert (steps["rfft"]["fft_length"], steps["rfft"]["bins"]) == (512, 257)
    assert {k: steps["mel"][k] for k in ("mel_bins", "lower_hz", "upper_hz", "spectrogram_bins")} == {
        "mel_bins": 40, "lower_hz": 20.0, "upper_hz": 4000.0, "spectrogram_bins": 257}
    assert steps["log"]["offset"] == 1e-6 and steps["dct"]["coefficients"] == 10
    assert steps["scale"]["divisor"] == 4.0 == front_end["scale"]
    assert front_end["features_shape"] == [49, 10] and front_end["type"] == "audio_folder"


def test_log_mel_contract_has_no_dct_and_one_feature_per_mel_bin() -> None:
    """features = "log_mel" stops after the log: mel_bins features per frame."""
    front_end = contract({**OPTIONS, "features": "log_mel", "mel_bins": 32})
    assert "dct" not in [entry["op"] for entry in front_end["steps"]]
    assert front_end["features_shape"] == [49, 32]


def test_contract_rejects_measured_facts_it_does_not_use() -> None:
    """A misspelt or foreign measured fact is an error, never ignored."""
    with pytest.raises(TypeError, match="image_size"):
        contract(OPTIONS, image_size=[3, 3])


def test_features_from_the_contract_equal_the_data_set_loaders(tmp_path: Path) -> None:
    """NumPy features of raw PCM, driven only by the JSON contract, equal the dataset loader's, scaled."""
    from tflmake.data.audio import audio_features

    tensorflow_before = "tensorflow" in sys.modules  # an integration test in the same run may have loaded it
    write_audio_folder(tmp_path / "clips", {"low": 400.0, "high": 2000.0}, per_class=3)
    write_wav(tmp_path / "clips" / "low" / "short.wav", 300.0, milliseconds=700, amplitude=0.1)
    paths = sorted(str(path) for path in (tmp_path / "clips").rglob("*.wav"))
    for kind in ("mfcc", "log_mel"):
        options: DatasetSection = {**OPTIONS, "features": kind, "scale": 3.0}
        front_end = json.loads(json.dumps(contract(options)))
        raw = np.stack([read_raw(path, front_end) for path in paths])
        expected = audio_features(paths, options) / np.float32(3.0)
        assert raw.dtype == np.int16 and raw.shape == (len(paths), 16000)
        assert np.array_equal(features(raw, front_end), expected)
    assert tensorflow_before or "tensorflow" not in sys.modules


def test_audio_loader_and_front_end_import_no_tensorflow() -> None:
    """A fresh interpreter computes audio features without ever importing TensorFlow."""
    code = ("import sys, numpy as np\n"
            "from tflmake.data.audio import audio_features\n"
            "from tflmake.frontend.audio import contract, features\n"
            f"options = {dict(OPTIONS)!r}\n"
            "features(np.ones((1, 16000), dtype=np.int16), contract(options))\n"
            "print('tensorflow' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


def test_read_raw_converts_8_and_32_bit_wavs_to_the_int16_the_firmware_gets(tmp_path: Path) -> None:
    """8-bit x becomes (x - 128) << 8, 32-bit x >> 16, 16-bit stays; short clips are zero-padded."""
    import wave

    front_end = contract({**OPTIONS, "clip_ms": 1})
    for width, values, expected in ((1, np.array([0, 128, 255], np.uint8), [-32768, 0, 32512]),
                                    (4, np.array([-2 ** 31, 65536 * 3 + 5, 2 ** 31 - 1], "<i4"), [-32768, 3, 32767]),
                                    (2, np.array([-5, 7, 32767], "<i2"), [-5, 7, 32767])):
        with wave.open(str(tmp_path / f"{width}.wav"), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(width)
            clip.setframerate(16000)
            clip.writeframes(values.tobytes())
        raw = read_raw(str(tmp_path / f"{width}.wav"), front_end)
        assert raw.dtype == np.int16 and raw.tolist() == expected + [0] * 13


def test_normalize_divides_by_the_largest_sample_as_the_kws_reference_does() -> None:
    """max divides by the largest value (not absolute), peak by the largest magnitude; silence stays silence."""
    from tflmake.frontend.audio import normalize

    clip = np.array([-0.8, 0.2, 0.4], dtype=np.float32)
    assert normalize(clip, "max").tolist() == pytest.approx([-2.0, 0.5, 1.0])
    assert normalize(clip, "peak").tolist() == pytest.approx([-1.0, 0.25, 0.5])
    assert normalize(clip, "none").tolist() == pytest.approx(clip.tolist())
    assert normalize(np.zeros(3, dtype=np.float32), "max").tolist() == [0.0, 0.0, 0.0]
    assert normalize(np.array([[-0.5, -0.25]], dtype=np.float32), "max").tolist() == [[-0.5, -0.25]]


def test_header_states_every_size_and_constant_as_a_macro() -> None:
    """The header names each buffer size and front-end constant; the source has no malloc and no stdio."""
    header, source = render("kws_int8", contract(OPTIONS), Quantization(np.dtype(np.int8), 0.25, -7))
    macros = dict(line.split()[1:3] for line in header.splitlines() if line.startswith("#define KWS_INT8_FRONTEND_"))
    assert {name.removeprefix("KWS_INT8_FRONTEND_"): value for name, value in macros.items()} == {
        "RAW_ELEMENTS": "16000", "OUTPUT_ELEMENTS": "490", "SCRATCH_BYTES": str(4 * (256 + 256 + 257 + 40)),
        "SAMPLE_RATE": "16000", "CLIP_SAMPLES": "16000", "FRAME_LENGTH": "480", "FRAME_STEP": "320",
        "FFT_LENGTH": "512", "MEL_BINS": "40", "FRAMES": "49", "COEFFICIENTS": "10", "LOG_OFFSET": "9.99999997e-07f",
        "FEATURE_SCALE": "1.0f", "OUTPUT_SCALE": "0.25f", "OUTPUT_ZERO_POINT": "-7"}
    assert "typedef int8_t kws_int8_frontend_output_t;" in header and "Not reentrant" in header
    assert "int16 mono PCM at 16000 Hz" in header and '"op": "dct"' in header
    assert "malloc" not in source and "stdio" not in source
    weights = int(re.search(r"#define KWS_INT8_MEL_WEIGHTS (\d+)", source).group(1))  # type: ignore[union-attr]
    assert weights < 257 * 2  # sparse: each FFT bin feeds at most two mel bins, never a dense 257 x 40


@pytest.mark.parametrize("kind, normalize", [("mfcc", "max"), ("log_mel", "peak")])
def test_generated_c_quantizes_as_the_numpy_features(tmp_path: Path, kind: str, normalize: str) -> None:
    """Host-compiled C over 20 clips: >= 99.5 % of int8 elements equal quantize(features), none off by > 1.

    (Measured: all equal. The NumPy features do the C's float32 operations in its order.)
    """
    front_end = contract({**OPTIONS, "features": kind, "normalize": normalize, "scale": 2.0})
    write_audio_folder(tmp_path / "tones", {"low": 300.0, "high": 2500.0}, per_class=2)  # near-empty mel bands
    tones = [read_raw(str(path), front_end) for path in sorted((tmp_path / "tones").rglob("*.wav"))]
    raw = np.concatenate([clips(16), np.stack(tones)])
    expected_float = features(raw, front_end)
    quantization = int8_quantization(expected_float)
    out = run_c(tmp_path, "kws_int8", front_end, quantization, raw)
    difference = np.abs(out.astype(np.int32) - quantize(expected_float, quantization).astype(np.int32))
    assert np.mean(difference == 0) >= 0.995 and difference.max() <= 1, (np.mean(difference == 0), difference.max())


def test_generated_c_writes_float_features_when_the_input_is_float(tmp_path: Path) -> None:
    """A float32 input tensor (scale 0) gets the features themselves, to logf's last bit."""
    front_end = contract(OPTIONS)
    raw = clips(6, seed=1)
    expected = features(raw, front_end)
    out = run_c(tmp_path, "kws_float", front_end, Quantization(np.dtype(np.float32), 0.0, 0), raw)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_generated_c_compiles_for_cortex_m4(tmp_path: Path) -> None:
    """The front end is clean C99 for a Cortex-M4F with warnings as errors."""
    compiler = require_tool("arm-none-eabi-gcc")
    header, source = render("kws_int8", contract(OPTIONS), Quantization(np.dtype(np.int8), 0.4, -3))
    (tmp_path / "kws_int8_frontend.h").write_text(header)
    (tmp_path / "kws_int8_frontend.c").write_text(source)
    run = subprocess.run([compiler, *CORTEX_M4_FLAGS, "-O2", "-o", str(tmp_path / "frontend.o"),
                          str(tmp_path / "kws_int8_frontend.c")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "frontend.o").stat().st_size > 0


def _steps(recorded: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["op"]: step for step in recorded["steps"]}


def _features_from_the_recorded_facts(raw: np.ndarray, recorded: dict[str, Any]) -> np.ndarray:
    """What a firmware engineer writes from _firmware.json alone: float64 NumPy, the documented formulas."""
    steps = _steps(recorded)
    clip = raw.astype(np.float64) / steps["pcm_to_float"]["divisor"]
    divisor = {"max": clip.max(axis=1), "peak": np.abs(clip).max(axis=1),
               "none": np.ones(len(clip))}[steps["normalize"]["how"]]
    clip = np.where(divisor[:, None] > 0, clip / np.where(divisor > 0, divisor, 1)[:, None], clip)
    frame = steps["frame"]
    starts = np.arange(frame["frames"]) * frame["frame_step"]
    frames = clip[:, starts[:, None] + np.arange(frame["frame_length"])]
    length = steps["window"]["length"]
    denominator = length if length % 2 == 0 else length - 1
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / denominator)
    magnitude = np.abs(np.fft.rfft(frames * window, n=steps["rfft"]["fft_length"]))
    mel = steps["mel"]
    to_mel = lambda hz: 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)  # noqa: E731
    bins = np.linspace(0, mel["sample_rate"] / 2, mel["spectrogram_bins"])[1:]  # the DC bin weighs 0
    edges = np.linspace(to_mel(mel["lower_hz"]), to_mel(mel["upper_hz"]), mel["mel_bins"] + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    position = to_mel(bins)[:, None]
    weights = np.maximum(0, np.minimum((position - lower) / (centre - lower), (upper - position) / (upper - centre)))
    log_mel = np.log(magnitude[..., 1:] @ weights + steps["log"]["offset"])
    if "dct" in steps:
        count, coefficients = mel["mel_bins"], steps["dct"]["coefficients"]
        n, k = np.arange(count), np.arange(coefficients)
        basis = 2 * np.cos(np.pi * k[None, :] * (2 * n[:, None] + 1) / (2 * count)) / np.sqrt(2 * count)
        log_mel = log_mel @ basis
    return log_mel / steps["scale"]["divisor"]


@pytest.mark.parametrize("kind", ["mfcc", "log_mel"])
def test_a_firmware_engineer_rebuilds_the_features_from_the_recorded_facts_alone(tmp_path: Path, kind: str) -> None:
    """Independent float64 NumPy from the contract's JSON facts (no tflmake code) gives the data set task's features."""
    from tflmake.data.audio import audio_features

    raw = clips(6)
    paths = []
    for index, clip in enumerate(raw):
        path = tmp_path / f"clip_{index}.wav"
        with wave.open(str(path), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(16000)
            handle.writeframes(clip.astype("<i2").tobytes())
        paths.append(str(path))
    options: DatasetSection = {**OPTIONS, "features": kind, "scale": 2.0}
    recorded = json.loads(json.dumps(contract(options)))
    rebuilt = _features_from_the_recorded_facts(raw, recorded)
    training = audio_features(paths, options) / np.float32(2.0)
    assert rebuilt.shape == training.shape
    assert np.abs(rebuilt - training).max() < 1e-4 * max(1.0, float(np.abs(training).max()))  # a wrong constant: > 0.1
