"""Build `<variant>_vela.tflite`: Arm's Vela compiles the int8 `.tflite` for the variant's Ethos-U NPU.

Vela runs as a child process through its command line (`python -m ethosu.vela`),
the interface Arm documents and keeps stable; its Python modules are internals.
Besides the compiled model it writes a summary CSV of its estimates, which is
kept as Vela wrote it and read into `<variant>_vela.json` with where each op runs.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tflmake import atomic
from tflmake.engine.toolversions import tool_version
from tflmake.errors import BuildError
from tflmake.kinds import ACCELERATORS, VELA_TOOLS
from tflmake.paths import Layout
from tflmake.spec.load import ModelSpec, Variant
from tflmake.tflite.opcodes import npu_placement, operator_names

BUILT_IN_CONFIG = "Arm/vela.ini"  # Vela resolves it inside its own config_files folder
TIMEOUT_SECONDS = 600
KIB = 1024


def build(spec: ModelSpec, layout: Layout, variant_name: str) -> None:
    variant = spec.variant(variant_name)
    source = layout.tflite(spec.name, variant.name)
    with tempfile.TemporaryDirectory(dir=layout.model_dir(spec.name), prefix=".vela-") as output:
        run_vela(vela_arguments(spec, variant, source, output))
        compiled = Path(output) / f"{Path(source).stem}_vela.tflite"
        summaries = sorted(Path(output).glob(f"{Path(source).stem}_summary_*.csv"))
        if not compiled.is_file() or len(summaries) != 1:
            raise BuildError(f"Vela wrote no {compiled.name} and one summary CSV in its output folder "
                             f"(found: {', '.join(p.name for p in Path(output).iterdir()) or 'nothing'})")
        data, summary_text = compiled.read_bytes(), summaries[0].read_text("utf-8")
    estimates = read_estimates(summary_text, variant)
    estimates |= npu_placement(operator_names(Path(source).read_bytes()), operator_names(data))
    estimates |= {"model_bytes": len(data), "measured_model": source,
                  "vela": tool_version(VELA_TOOLS[0])}
    atomic.write_bytes(layout.vela_tflite(spec.name, variant.name), data)
    atomic.write_text(layout.vela_summary(spec.name, variant.name), summary_text)
    atomic.write_text(layout.vela_estimates(spec.name, variant.name), json.dumps(estimates, indent=2) + "\n")


def vela_arguments(spec: ModelSpec, variant: Variant, source: str, output: str) -> list[str]:
    """Vela's command line: every option explicit, so it never falls back to a default of its own."""
    options = variant.vela_options()
    config = spec.resolve(options["vela_config"]) if "vela_config" in options else BUILT_IN_CONFIG
    return [sys.executable, "-m", "ethosu.vela", source, "--output-dir", output,
            "--accelerator-config", options["accelerator"], "--config", config,
            "--system-config", options["system_config"], "--memory-mode", options["memory_mode"]]


def run_vela(arguments: list[str]) -> None:
    """Run Vela; a failure is one BuildError with Vela's own last words."""
    try:
        result = subprocess.run(arguments, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise BuildError(f"Vela did not finish within {TIMEOUT_SECONDS} s") from None
    if result.returncode == 0:
        return
    if "No module named ethosu" in result.stderr:
        raise BuildError("accelerator needs Arm's Vela compiler: pip install 'tflmake[npu]' "
                         "(the ethos-u-vela package)")
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    raise BuildError(f"Vela failed (exit {result.returncode}): " + " | ".join(lines[-3:]))


def read_estimates(summary_text: str, variant: Variant) -> dict[str, Any]:
    """Vela's summary CSV (one row) as the numbers the bundle and report state, in plain units."""
    rows = list(csv.DictReader(summary_text.splitlines()))
    if len(rows) != 1:
        raise BuildError(f"Vela's summary CSV has {len(rows)} rows; expected one")
    row, options = rows[0], variant.vela_options()
    accelerator = ACCELERATORS[options["accelerator"]]
    try:
        estimates = {
            **options, "npu": accelerator.npu, "macs_per_cycle": accelerator.macs,
            "core_clock_hz": int(float(row["core_clock"])),
            "npu_cycles": int(float(row["cycles_npu"])),
            "total_cycles": int(float(row["cycles_total"])),
            "inference_ms": float(row["inference_time"]) * 1000,
            "inferences_per_second": float(row["inferences_per_second"]),
            "macs": int(float(row["nn_macs"])),
            "sram_bytes": _bytes(row["sram_memory_used"]),
            "dram_bytes": _bytes(row["dram_memory_used"]),
            "on_chip_flash_bytes": _bytes(row["on_chip_flash_memory_used"]),
            "off_chip_flash_bytes": _bytes(row["off_chip_flash_memory_used"]),
        }
    except (KeyError, ValueError) as error:
        raise BuildError(f"Vela's summary CSV lacks or garbles {error}; was it written by another "
                         "Vela version?") from None
    return estimates


def _bytes(kib: str) -> int:
    """Vela reports memory in KiB with fractions (1.125): back to whole bytes."""
    return round(float(kib) * KIB)
