"""Small real data files written by the tests themselves (never downloaded): PNGs, WAVs, CSVs."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import numpy as np


def write_image_folder(root: Path, counts: dict[str, int], size: tuple[int, int] = (12, 10),
                       seed: int = 0) -> list[Path]:
    """One subfolder per class of RGB PNGs; class i is bright in channel i (so it can be learned)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    written = []
    for index, (name, count) in enumerate(sorted(counts.items())):
        (root / name).mkdir(parents=True, exist_ok=True)
        for number in range(count):
            pixels = rng.integers(0, 80, size=(size[0], size[1], 3), dtype=np.uint8)
            pixels[..., index % 3] += 150
            path = root / name / f"{number:03d}.png"
            Image.fromarray(pixels).save(path)
            written.append(path)
    return written


def write_wav(path: Path, frequency: float, sample_rate: int = 16000, milliseconds: int = 1000,
              amplitude: float = 0.5, channels: int = 1) -> None:
    """A 16-bit PCM sine tone."""
    samples = sample_rate * milliseconds // 1000
    values = [int(amplitude * 32767 * math.sin(2 * math.pi * frequency * n / sample_rate)) for n in range(samples)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as clip:
        clip.setnchannels(channels)
        clip.setsampwidth(2)
        clip.setframerate(sample_rate)
        clip.writeframes(b"".join(struct.pack("<h", value) * channels for value in values))


def write_audio_folder(root: Path, tones: dict[str, float], per_class: int, sample_rate: int = 16000,
                       milliseconds: int = 1000) -> None:
    """One subfolder per class of tones at the class's frequency (slightly detuned per clip)."""
    for name, frequency in tones.items():
        for number in range(per_class):
            write_wav(root / name / f"clip_{number}.wav", frequency * (1 + 0.02 * number), sample_rate,
                      milliseconds)


def write_sensor_csv(path: Path, rows_per_run: int, runs: list[str], seed: int = 0) -> None:
    """Three-axis readings in runs of one activity each; each activity has its own mean."""
    rng = np.random.default_rng(seed)
    means = {name: index * 2.0 for index, name in enumerate(sorted(set(runs)))}
    lines = ["time,ax,ay,az,activity"]
    step = 0
    for activity in runs:
        for _ in range(rows_per_run):
            ax, ay, az = rng.normal(means[activity], 0.3, size=3)
            lines.append(f"{step},{ax:.4f},{ay:.4f},{az:.4f},{activity}")
            step += 1
    path.write_text("\n".join(lines) + "\n")
