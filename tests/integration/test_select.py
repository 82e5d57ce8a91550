"""[select] on the built digits CNN (float32 and int8 exported): the variant to ship under stable names."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import Project, require_tool

pytestmark = pytest.mark.integration

CNN = "digits_cnn"
FIRMWARE = f"build/{CNN}/firmware"
STABLE = f"g_{CNN}_selected_model_data"
# The program firmware would be: it names only the stable header and symbol, so it never changes.
PROGRAM = f"""\
#include <stdio.h>
#include "{CNN}_selected_model_data.h"

int main(void) {{
  printf("%u %s\\n", {STABLE}_len, {STABLE.upper()}_SHA256);
  return 0;
}}
"""


@pytest.fixture
def selecting(built_pair: Project, tmp_path: Path) -> Project:
    """A private copy of the built pair whose CNN spec ships its smallest flash."""
    shutil.copytree(built_pair.root, tmp_path / "project", symlinks=True)
    project = Project(tmp_path / "project")
    spec = project.specs / f"{CNN}.toml"
    spec.write_text(spec.read_text() + '\n[select]\nminimize = "flash"\n')
    return project


def edit_spec(project: Project, old: str, new: str) -> None:
    spec = project.specs / f"{CNN}.toml"
    assert old in spec.read_text()
    spec.write_text(spec.read_text().replace(old, new, 1))


def facts(project: Project, variant: str) -> dict:
    return json.loads((project.root / f"build/{CNN}/{variant}_firmware.json").read_text())


def selected_facts(project: Project) -> dict:
    return json.loads((project.root / FIRMWARE / f"{CNN}_selected_firmware.json").read_text())


def names_blanked(text: str, stem: str, symbol: str) -> str:
    """C text with its bundle's own names replaced by placeholders: what stays is the bundle itself."""
    for name, placeholder in ((f"{stem}_model_data.h", "<header>"), (symbol, "<symbol>"),
                              (symbol.upper(), "<SYMBOL>")):
        text = text.replace(name, placeholder)
    return text


def run_program(project: Project, tmp_path: Path) -> str:
    """PROGRAM compiled against the stable bundle and run."""
    require_tool("gcc")
    binary = tmp_path / "program"
    (tmp_path / "program.c").write_text(PROGRAM)
    firmware = project.root / FIRMWARE
    compiled = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(firmware),
                               str(tmp_path / "program.c"), str(firmware / f"{CNN}_selected_model_data.c"),
                               "-o", str(binary)], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    return subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout.strip()


def test_the_selected_bundle_is_the_chosen_variant_s_bundle_under_stable_names(selecting: Project) -> None:
    """int8 has the smaller model: its C files, renamed, are the selected ones; only report and select ran."""
    run = selecting.doit()
    assert run.returncode == 0, run.output
    assert sorted(run.executed) == [f"report:{CNN}", f"select:{CNN}"]
    int8 = facts(selecting, "int8")
    assert int8["model_bytes"] < facts(selecting, "float32")["model_bytes"]
    chosen = selected_facts(selecting)
    assert chosen["selected"]["variant"] == "int8" and chosen["symbol"] == STABLE
    assert chosen["sha256"] == int8["sha256"] and chosen["arena_bytes"] == int8["arena_bytes"]
    for suffix in ("_model_data.h", "_model_data.c", "_op_resolver.h"):
        variant_text = (selecting.root / FIRMWARE / f"{CNN}_int8{suffix}").read_text()
        selected_text = (selecting.root / FIRMWARE / f"{CNN}_selected{suffix}").read_text()
        assert "g_digits_cnn_int8" not in selected_text and STABLE in selected_text
        assert names_blanked(selected_text, f"{CNN}_selected", STABLE) == \
            names_blanked(variant_text, f"{CNN}_int8", int8["symbol"])
    report_md = (selecting.build / CNN / "report.md").read_text()
    assert "## Variant to ship" in report_md
    assert f"- int8: smallest flash ({int8['model_bytes']} B) among 2 passing variants" in report_md
    assert f"select:{CNN}" not in selecting.doit().executed


def test_a_gate_int8_breaks_ships_float32_under_the_same_names_and_reruns_nothing_else(
        selecting: Project, tmp_path: Path) -> None:
    """Firmware built from the stable names gets the new model without a change to its code."""
    assert selecting.doit().returncode == 0
    files = sorted(path.name for path in (selecting.root / FIRMWARE).iterdir())
    before = run_program(selecting, tmp_path)
    assert before == f"{facts(selecting, 'int8')['model_bytes']} {facts(selecting, 'int8')['sha256']}"

    edit_spec(selecting, 'io_type = "int8"', 'io_type = "int8"\ngates = { max_size_bytes = 100 }')
    run = selecting.doit()
    assert run.returncode == 0, run.output  # a broken gate keeps int8 from shipping; it fails nothing
    assert sorted(run.executed) == [f"report:{CNN}", f"select:{CNN}", "summary"]
    assert selected_facts(selecting)["selected"]["variant"] == "float32"
    assert sorted(path.name for path in (selecting.root / FIRMWARE).iterdir()) == files
    float32 = facts(selecting, "float32")
    assert run_program(selecting, tmp_path) == f"{float32['model_bytes']} {float32['sha256']}"
    assert "float32: the only passing variant (flash " in (selecting.build / CNN / "report.md").read_text()
    assert "int8 failed max_size_bytes" in (selecting.build / CNN / "report.md").read_text()
    assert selecting.doit().executed == []


def test_no_passing_variant_fails_select_naming_each_variant_s_gate(selecting: Project) -> None:
    """One line: every exported variant and the gate it broke, with the numbers; the report says so too,
    and the bundle chosen before is removed, so it cannot be shipped."""
    assert selecting.doit().returncode == 0
    assert (selecting.root / FIRMWARE / f"{CNN}_selected_model_data.h").exists()
    edit_spec(selecting, "\n[select]", "\n[gates]\nmax_size_bytes = 100\n\n[select]")
    run = selecting.doit()
    assert run.returncode != 0
    [line] = [line for line in run.output.splitlines() if "no variant to ship" in line]
    assert line.startswith(f"{CNN} (modelspecs/{CNN}.toml): no variant to ship passes every gate: ")
    measured = json.loads((selecting.build / CNN / "report.json").read_text())["variants"]
    for variant in ("float32", "int8"):
        assert f"{variant} failed max_size_bytes (size_bytes {measured[variant]['size_bytes']} B, " \
               "limit 100 B)" in line
    assert "no variant to ship passes every gate" in (selecting.build / CNN / "report.md").read_text()
    assert not [path.name for path in (selecting.root / FIRMWARE).iterdir() if "_selected_" in path.name]


def test_the_stable_bundle_compiles_warning_free_as_c99(selecting: Project, tmp_path: Path) -> None:
    require_tool("gcc")
    assert selecting.doit().returncode == 0
    source = selecting.root / FIRMWARE / f"{CNN}_selected_model_data.c"
    compiled = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", str(source),
                               "-o", str(tmp_path / "m.o")], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
