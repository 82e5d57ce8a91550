"""Peak memory and size of building dataset.npz from a folder of images (issue 15, "real data").

Writes N RGB PNGs (default 10,000 at 96x96, ten class folders), then runs, each in
its own fresh process so peak RSS (ru_maxrss) belongs to that step alone:

- `import`: the imports a dataset build needs (numpy, Pillow, tflmake), the floor;
- `dataset`: tflmake's dataset task (uint8 stored with x_scale, split before decoding,
  npz entries streamed);
- `float32 (before)`: the same images through the code path the dataset task had
  before this change (decode all, fancy-index the split, convert to float32 / scale,
  buffer each array before zipping), for the ratio in the same run;
- `evaluate read`: what the evaluate task loads (x_test, y_test scaled to float32);
- `representative`: the calibration task (100 rows scaled, the rest stays uint8).

Usage: python benchmarks/dataset_memory.py [--images 10000] [--size 96] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = """
[model.source]
type = "layers"
input_shape = [{size}, {size}, 3]
layers = [{{ type = "Flatten" }}, {{ type = "Dense", units = 10 }}]

[dataset]
type = "image_folder"
path = "images"
image_size = [{size}, {size}]
scale = 255.0

[[variant]]
name = "int8"
quantize = "int8"
"""

PRELUDE = """
import resource, sys, time
import numpy as np
from PIL import Image
from tflmake.builders import dataset, representative
from tflmake.paths import Layout
from tflmake.spec.load import load_spec
spec = load_spec("bench.toml")
layout = Layout("build")
start = time.perf_counter()
"""
STEPS = {
    "import": "",
    "dataset": "dataset.build(spec, layout)",
    "float32 (before)": """
import io, zipfile
from tflmake import atomic
from tflmake.spec.datafiles import IMAGE_EXTENSIONS, labelled_files
from tflmake.data.images import decode_images
paths, labels, classes = labelled_files("images", IMAGE_EXTENSIONS)
arrays = dataset.split({"x": decode_images(paths, spec.dataset), "y": np.array(labels)}, spec.dataset)
for part in ("train", "test"):
    arrays[f"x_{part}"] = arrays[f"x_{part}"].astype(np.float32) / np.float32(255.0)
with atomic.open_for_write("build/before.npz") as handle, zipfile.ZipFile(handle, "w") as archive:
    for name in sorted(arrays):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
        archive.writestr(zipfile.ZipInfo(f"{name}.npy", (1980, 1, 1, 0, 0, 0)), buffer.getvalue())
""",
    "evaluate read": 'split = dataset.read_split(layout, spec.name, ("x_test", "y_test", "labels"))',
    "representative": "representative.build(spec, layout)",
}
EPILOGUE = """
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def write_images(root: Path, count: int, size: int) -> None:
    """`count` PNGs in ten class folders: smooth gradients plus noise (so PNG compresses like photos do)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, size, dtype=np.float32)
    for index in range(count):
        folder = root / f"class_{index % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        base = ramp[None, :, None] * rng.uniform(0.2, 1.0, size=(1, 1, 3))
        pixels = np.clip(base + rng.normal(0, 8, size=(size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:05d}.png")


def run_step(project: Path, code: str) -> tuple[float, int]:
    """(seconds inside the step, peak RSS in KiB) of `code` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run([sys.executable, "-c", PRELUDE + code + EPILOGUE], cwd=project, env=env,
                            capture_output=True, text=True, check=True)
    seconds, peak = result.stdout.split()
    return float(seconds), int(peak)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--keep", type=Path, help="project folder to reuse (images are written once)")
    arguments = parser.parse_args(argv)
    project = arguments.keep or Path(tempfile.mkdtemp(prefix="tflmake-data-bench-"))
    if not (project / "images").is_dir():
        started = time.perf_counter()
        write_images(project / "images", arguments.images, arguments.size)
        print(f"wrote {arguments.images} PNGs in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    (project / "bench.toml").write_text(SPEC.format(size=arguments.size))
    results = {}
    for name, code in STEPS.items():
        seconds, peak_kib = run_step(project, code)
        results[name] = {"seconds": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024, 1)}
    results["dataset"]["npz_mib"] = round((project / "build" / "bench" / "dataset.npz").stat().st_size / 2**20, 1)
    results["float32 (before)"]["npz_mib"] = round((project / "build" / "before.npz").stat().st_size / 2**20, 1)
    disk = sum(path.stat().st_size for path in (project / "images").rglob("*.png"))
    print(json.dumps({"images": arguments.images, "size": arguments.size, "png_mib": round(disk / 2**20, 1),
                      "raw_uint8_mib": round(arguments.images * arguments.size**2 * 3 / 2**20, 1),
                      "steps": results}, indent=2))


if __name__ == "__main__":
    main()
