"""Firmware bundles checked with real tools: C/C++/Cortex-M compilers, TFLite Micro, LiteRT."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.support import Project, require_tool
from tflmake.emit.opresolver import RESOLVER_METHODS
from tflmake.tflite.micro import probe_arena, run_reference

pytestmark = pytest.mark.integration

FLOAT_TOLERANCE = 1e-5  # TFLM reference kernels vs LiteRT's (XNNPACK) on float32


@dataclass
class Bundle:
    """One exported variant's files in a built project."""

    project: Project
    model: str
    variant: str

    def path(self, suffix: str) -> Path:
        return self.project.build / self.model / f"{self.variant}{suffix}"

    @property
    def manifest(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.path("_firmware.json").read_text())

    @property
    def symbol(self) -> str:
        return str(self.manifest["symbol"])

    def macro(self, name: str) -> str:
        header = self.path("_model_data.h").read_text()
        found = re.search(rf"^#define {self.symbol.upper()}_{name} (.+)$", header, re.MULTILINE)
        assert found, f"no {name} macro"
        return found.group(1)


@pytest.fixture
def built_cnn(built_pair: Project, tmp_path: Path) -> Project:
    """A private copy of the session's built pair (digits_cnn with both variants exported)."""
    shutil.copytree(built_pair.root, tmp_path / "project", symlinks=True)
    return Project(tmp_path / "project")


@pytest.fixture(params=["digits_mlp.int8", "digits_cnn.int8", "digits_cnn.float32"])
def bundle(request: pytest.FixtureRequest, built_mlp: Project) -> Bundle:
    model, variant = request.param.split(".")
    project = built_mlp if model == "digits_mlp" else request.getfixturevalue("built_pair")
    return Bundle(project, model, variant)


def compile_c(args: list[str], cwd: Path) -> None:
    require_tool(args[0])
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


COMPILERS = {
    "gcc-c99": ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"],
    "g++-c++17": ["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-x", "c++", "-c"],
    "arm-cortex-m4": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-Os", "-Wall",
                      "-Werror", "-c"],
}


@pytest.mark.parametrize("compiler", sorted(COMPILERS))
def test_model_data_compiles(bundle: Bundle, compiler: str, tmp_path: Path) -> None:
    """The generated .c compiles warning-free as C99, as C++17 and for a Cortex-M4."""
    command = COMPILERS[compiler]
    require_tool(command[0])
    compile_c([*command, str(bundle.path("_model_data.c")), "-o", str(tmp_path / "m.o")],
              bundle.path("").parent)


HOST_PROGRAM = """\
#include <stdint.h>
#include <stdio.h>
#include "{header}"

int main(int argc, char **argv) {{
  FILE *out = fopen(argv[1], "wb");
  unsigned int i;
  (void)argc;
  fwrite({s}, 1, {s}_len, out);
  fclose(out);
  printf("aligned %d\\n", (int)((uintptr_t){s} % {S}_ALIGNMENT == 0));
  printf("len %u %u\\n", {s}_len, (unsigned int){S}_LEN);
  printf("sha256 %s\\n", {S}_SHA256);
  printf("labels");
  for (i = 0; i < {S}_LABEL_COUNT; ++i) printf(" %s", {s}_labels[i]);
  printf("\\ngolden_input");
  for (i = 0; i < {S}_INPUT0_ELEMENTS; ++i) printf(" %.9g", (double){s}_golden_input0[i]);
  printf("\\ngolden_output");
  for (i = 0; i < {S}_OUTPUT0_ELEMENTS; ++i) printf(" %.9g", (double){s}_golden_output0[i]);
  printf("\\n");
  return 0;
}}
"""


@pytest.mark.parametrize("language", ["c", "c++"])
def test_host_program_reads_back_the_model(bundle: Bundle, language: str,
                                           tmp_path: Path) -> None:
    """Linked into a program, the array equals the .tflite byte for byte, is aligned as
    promised, and the sha256, labels and golden vectors match the manifest."""
    s = bundle.symbol
    main = tmp_path / "main.c"
    main.write_text(HOST_PROGRAM.format(header=bundle.path("_model_data.h").name, s=s,
                                        S=s.upper()))
    compiler = ["gcc", "-std=c99"] if language == "c" else ["g++", "-std=c++17", "-x", "c++"]
    compile_c([*compiler, "-Wall", "-Wextra", "-Werror", f"-I{bundle.path('').parent}",
               str(main), str(bundle.path("_model_data.c")), "-o", str(tmp_path / "prog")],
              tmp_path)
    run = subprocess.run([str(tmp_path / "prog"), str(tmp_path / "out.bin")],
                         capture_output=True, text=True, check=True)
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    model_bytes = bundle.path(".tflite").read_bytes()
    assert (tmp_path / "out.bin").read_bytes() == model_bytes
    assert lines["aligned"] == "1"
    assert lines["len"] == f"{len(model_bytes)} {len(model_bytes)}"
    assert lines["sha256"] == hashlib.sha256(model_bytes).hexdigest() == bundle.manifest["sha256"]
    assert lines["labels"].split() == [str(digit) for digit in range(10)]
    golden = bundle.manifest["golden"]
    assert [float(v) for v in lines["golden_input"].split()] == \
        pytest.approx(golden["inputs"][0], rel=1e-7)
    assert [float(v) for v in lines["golden_output"].split()] == \
        pytest.approx(golden["outputs"][0], rel=1e-7)


def test_golden_output_matches_tflm_at_emitted_arena_and_litert(bundle: Bundle) -> None:
    """TFLM runs in ARENA_BYTES and reproduces the golden output; LiteRT agrees with it
    bit for bit (int8) or within FLOAT_TOLERANCE (float)."""
    from ai_edge_litert.interpreter import Interpreter

    manifest = bundle.manifest
    arena = int(bundle.macro("ARENA_BYTES").rstrip("u"))
    assert arena == manifest["arena_bytes"] >= manifest["arena_bytes_measured"]
    tensor = manifest["inputs"][0]
    golden_in = np.array(manifest["golden"]["inputs"][0], tensor["type"]).reshape(tensor["shape"])
    expected = np.array(manifest["golden"]["outputs"][0])
    tflm_out = run_reference(str(bundle.path(".tflite")), arena, [golden_in], 1)[0]
    assert tflm_out.ravel().tolist() == expected.tolist()

    litert = Interpreter(model_path=str(bundle.path(".tflite")))
    litert.allocate_tensors()
    litert.set_tensor(litert.get_input_details()[0]["index"], golden_in)
    litert.invoke()
    litert_out = litert.get_tensor(litert.get_output_details()[0]["index"]).ravel()
    if litert_out.dtype.kind == "f":
        np.testing.assert_allclose(litert_out, expected, atol=FLOAT_TOLERANCE, rtol=0)
    else:
        assert litert_out.tolist() == expected.tolist()


def test_measured_arena_is_the_smallest_that_works(bundle: Bundle) -> None:
    """The model runs in the measured arena and not in one byte less."""
    measured = bundle.manifest["arena_bytes_measured"]
    model = str(bundle.path(".tflite"))
    assert probe_arena(model, measured, 1)[0]
    assert not probe_arena(model, measured - 1, 1)[0]


def test_golden_input_is_the_first_test_sample(bundle: Bundle) -> None:
    """The golden input is real data: test sample 0, quantized with the emitted constants."""
    with np.load(bundle.project.build / bundle.model / "dataset.npz") as data:
        sample = data["x_test"][0].ravel()
    tensor = bundle.manifest["inputs"][0]
    golden = np.array(bundle.manifest["golden"]["inputs"][0], np.float64)
    if tensor["scale"] is None:
        np.testing.assert_array_equal(golden, sample.astype(np.float32))
    else:
        scale = float(bundle.macro("INPUT0_SCALE").rstrip("f"))
        zero_point = int(bundle.macro("INPUT0_ZERO_POINT").strip("()"))
        np.testing.assert_allclose((golden - zero_point) * scale, sample, atol=scale / 2 + 1e-6)


STUB_RESOLVER = """\
#include <cstdio>
typedef enum {{ kTfLiteOk = 0, kTfLiteError = 1 }} TfLiteStatus;
namespace tflite {{
template <unsigned int tOpCount>
class MicroMutableOpResolver {{
 public:
  unsigned int Capacity() const {{ return tOpCount; }}
{methods}
 private:
  unsigned int used_ = 0;
  TfLiteStatus Record(const char* name) {{
    std::printf("%s\\n", name);
    return ++used_ <= tOpCount ? kTfLiteOk : kTfLiteError;
  }}
}};
}}  // namespace tflite
"""

RESOLVER_MAIN = """\
#include <cstdio>
#include "{header}"
int main() {{
  static {s}_op_resolver resolver;
  if ({s}_register_ops(resolver) != kTfLiteOk) return 1;
  std::printf("capacity %u\\n", resolver.Capacity());
  return 0;
}}
"""


def test_op_resolver_registers_exactly_the_models_ops(bundle: Bundle, tmp_path: Path) -> None:
    """Compiled against a stub MicroMutableOpResolver, the header registers each op LiteRT
    finds in the model once, with N equal to their number."""
    from ai_edge_litert.interpreter import Interpreter

    stub_dir = tmp_path / "tensorflow" / "lite" / "micro"
    stub_dir.mkdir(parents=True)
    methods = "\n".join(f"  TfLiteStatus {m}() {{ return Record(\"{op}\"); }}"
                        for op, m in RESOLVER_METHODS.items())
    (stub_dir / "micro_mutable_op_resolver.h").write_text(STUB_RESOLVER.format(methods=methods))
    header = bundle.path("_op_resolver.h")
    (tmp_path / "main.cc").write_text(RESOLVER_MAIN.format(header=header.name, s=bundle.symbol))
    compile_c(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", f"-I{tmp_path}",
               f"-I{header.parent}", "main.cc", "-o", "resolver"], tmp_path)
    run = subprocess.run([str(tmp_path / "resolver")], capture_output=True, text=True, check=True)
    *registered, capacity = run.stdout.splitlines()

    litert = Interpreter(model_path=str(bundle.path(".tflite")))
    model_ops = {op["op_name"] for op in litert._get_ops_details()}
    assert sorted(registered) == sorted(model_ops)
    assert capacity == f"capacity {len(model_ops)}"


def test_rebuild_is_a_no_op_and_section_change_rebuilds_only_bundles(built_cnn: Project) -> None:
    """A second run executes nothing; editing [c_array] reruns the carray tasks (and the manifest) alone."""
    assert built_cnn.doit().executed == []
    spec = built_cnn.specs / "digits_cnn.toml"
    spec.write_text(spec.read_text().replace('".rodata.model"', '".rodata.nn"'))
    assert sorted(built_cnn.doit().executed) == ["carray:digits_cnn.float32",
                                                 "carray:digits_cnn.int8", "manifest:digits_cnn"]
    assert ".rodata.nn" in (built_cnn.build / "digits_cnn" / "int8_model_data.c").read_text()


@pytest.mark.parametrize("variant", ["dynamic", "float16"])
def test_arena_search_of_a_model_tflm_cannot_run_reports_tflm_s_own_error(
        built_mlp: Project, variant: str) -> None:
    """No 64 retries ending in "crashed": one failure that quotes the interpreter's reason."""
    from tflmake.errors import BuildError
    from tflmake.tflite.micro import measure_arena

    with pytest.raises(BuildError) as caught:
        measure_arena(str(built_mlp.build / "digits_mlp" / f"{variant}.tflite"), 1)
    message = str(caught.value)
    assert message.startswith("TFLite Micro cannot run ") and "failed to prepare" in message
    assert "crashed more than" not in message
