"""`[c_array]` keys in specs, and the carray task's targets, dependencies and fingerprint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tflmake.errors import SpecError
from tflmake.graph.tasks import carray_task
from tflmake.paths import Layout
from tflmake.spec.load import load_spec
from tflmake.tflite.golden import golden_input
from tflmake.tflite.micro import arena_with_margin
from tflmake.tflite.modelinfo import TensorInfo
from tflmake.tflite.quantize import Quantization, quantize

SPEC = """
[model.source]
type = "layers"
input_shape = [4]
layers = [{{ type = "Dense", units = 2 }}]

[dataset]
type = "digits"

{c_array}

[[variant]]
name = "a"
c_array = true

[[variant]]
name = "b"
c_array = {b_exported}
"""


def write_spec(tmp_path: Path, c_array: str = "", b_exported: bool = True) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(SPEC.format(c_array=c_array, b_exported=str(b_exported).lower()))
    return path


def test_default_symbol_keeps_the_old_name(tmp_path: Path) -> None:
    """Without `symbol`, arrays are still called g_<model>_<variant>_model_data."""
    spec = load_spec(write_spec(tmp_path))
    assert spec.c_symbol("a") == "g_m_a_model_data"


def test_symbol_template_is_filled(tmp_path: Path) -> None:
    """{model} and {variant} are replaced."""
    spec = load_spec(write_spec(tmp_path, '[c_array]\nsymbol = "k_{variant}_{model}"'))
    assert spec.c_symbol("b") == "k_b_m"


def test_fixed_symbol_with_several_exported_variants_is_rejected(tmp_path: Path) -> None:
    """Two exported variants cannot share one array name."""
    with pytest.raises(SpecError, match=r"c_array\.symbol: .*include \{variant\}"):
        load_spec(write_spec(tmp_path, '[c_array]\nsymbol = "g_model"'))


def test_fixed_symbol_with_one_exported_variant_is_allowed(tmp_path: Path) -> None:
    """With a single exported variant a plain name is fine."""
    spec = load_spec(write_spec(tmp_path, '[c_array]\nsymbol = "g_model"', b_exported=False))
    assert spec.c_symbol("a") == "g_model"


def test_unknown_placeholder_is_rejected(tmp_path: Path) -> None:
    """A typo in a placeholder is an error, not a literal."""
    with pytest.raises(SpecError, match=r'unknown placeholder "\{varaint\}"'):
        load_spec(write_spec(tmp_path, '[c_array]\nsymbol = "g_{varaint}"'))


def test_symbol_must_be_an_identifier(tmp_path: Path) -> None:
    """Escaped braces survive formatting as literal braces, which C names cannot hold."""
    with pytest.raises(SpecError, match="not a C identifier"):
        load_spec(write_spec(tmp_path, '[c_array]\nsymbol = "g_{variant}{{x}}"'))


def test_section_with_a_quote_is_rejected(tmp_path: Path) -> None:
    """The section name lands inside a C string literal; quotes cannot pass the schema."""
    with pytest.raises(SpecError, match=r"c_array\.section"):
        load_spec(write_spec(tmp_path, '[c_array]\nsection = ".x\\""'))


def test_carray_task_targets_the_whole_bundle(tmp_path: Path) -> None:
    """All bundle files (and their firmware/ copies) are targets; the .tflite and the data set are file_deps."""
    task = carray_task(load_spec(write_spec(tmp_path)), "a", Layout("build"))
    assert task["targets"] == ["build/m/a_model_data.h", "build/m/a_model_data.c",
                               "build/m/a_op_resolver.h", "build/m/a_firmware.json",
                               "build/m/firmware/m_a_model_data.h", "build/m/firmware/m_a_model_data.c",
                               "build/m/firmware/m_a_op_resolver.h"]
    assert task["file_dep"] == ["build/m/a.tflite", "build/m/dataset.npz"]


def _signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("cryptography")
    from tests.psa import write_signing_key

    write_signing_key(tmp_path / "signing.pem")
    monkeypatch.setenv("TFLMAKE_SIGNING_KEY", str(tmp_path / "signing.pem"))
    return tmp_path / "signing.pem"


def test_signed_bundle_depends_on_the_key_file_is_keyed_by_its_id_and_targets_the_helpers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TFLMAKE_SIGNING_KEY set: the public key's id in the key (never the key), the key file a dependency."""
    from tflmake.keys import signing_key_id

    key = _signing_key(tmp_path, monkeypatch)
    task = carray_task(load_spec(write_spec(tmp_path)), "a", Layout("build"))
    assert task["file_dep"] == ["build/m/a.tflite", "build/m/dataset.npz", str(key)]
    old_id = _fingerprinted(task)["signing_key"]
    assert old_id == signing_key_id(str(key)) and key.read_text() not in repr(_fingerprinted(task))
    assert task["targets"][-4:] == ["build/m/a_model_crypto.h", "build/m/a_model_crypto.c",
                                    "build/m/firmware/m_a_model_crypto.h", "build/m/firmware/m_a_model_crypto.c"]
    _signing_key(tmp_path, monkeypatch)  # a new key at the same path
    assert _fingerprinted(carray_task(load_spec(write_spec(tmp_path)), "a", Layout("build")))["signing_key"] != old_id


def test_encrypted_variant_is_keyed_by_the_aes_key_id_and_missing_key_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """encrypt = true: the id (sha256 of the key's bytes) in the key; without the variable, "missing"."""
    import hashlib

    spec_path = tmp_path / "m.toml"
    spec_path.write_text(SPEC.format(c_array="", b_exported="true").replace(
        'name = "b"\nc_array = true', 'name = "b"\nc_array = true\nencrypt = true'))
    spec = load_spec(spec_path)
    assert _fingerprinted(carray_task(spec, "b", Layout("build")))["encryption_key"] == "missing"
    assert "encryption_key" not in _fingerprinted(carray_task(spec, "a", Layout("build")))
    (tmp_path / "aes.key").write_bytes(bytes(16))
    monkeypatch.setenv("TFLMAKE_ENCRYPTION_KEY", str(tmp_path / "aes.key"))
    task = carray_task(spec, "b", Layout("build"))
    assert _fingerprinted(task)["encryption_key"] == hashlib.sha256(bytes(16)).hexdigest()
    assert task["file_dep"][-1] == str(tmp_path / "aes.key")
    assert carray_task(spec, "a", Layout("build"))["file_dep"] == ["build/m/a.tflite", "build/m/dataset.npz"]


def test_encrypt_without_c_array_is_refused(tmp_path: Path) -> None:
    """encrypt acts on the firmware bundle, so it needs c_array = true."""
    path = tmp_path / "m.toml"
    path.write_text(SPEC.format(c_array="", b_exported="false").replace(
        'name = "b"\nc_array = false', 'name = "b"\nc_array = false\nencrypt = true'))
    with pytest.raises(SpecError, match=r"variant\[1\]\.encrypt: encrypts the firmware bundle's model, "
                                        "so the variant needs c_array = true"):
        load_spec(path)


def _fingerprinted(task: dict[str, object]) -> dict[str, object]:
    checker = task["uptodate"][0]  # type: ignore[index]
    return checker.config  # type: ignore[union-attr,no-any-return]


def test_carray_fingerprint_is_the_c_array_options_and_tflm_version(tmp_path: Path) -> None:
    """The key holds the [c_array] table (section included) and tflite-micro's version."""
    spec = load_spec(write_spec(tmp_path, '[c_array]\nsection = ".m"'))
    key = _fingerprinted(carray_task(spec, "a", Layout("build")))
    assert key["c_array"] == {"alignment": 16, "symbol": "g_{model}_{variant}_model_data",
                              "section": ".m"}
    assert set(key["tools"]) == {"tflite-micro"}  # type: ignore[arg-type]


def test_golden_vector_and_evaluation_quantize_alike_half_away_from_zero() -> None:
    """As TFLite's quantize: round(x / scale) + zero point, clamped; halves round away from zero.

    The golden vector and the evaluation used to round halves differently (away from zero
    vs to even); both now use metrics.quantize.
    """
    tensor = TensorInfo("x", (1, 5), "INT8", 0.5, -1)
    values = np.array([0.25, -0.25, 0.75, 100.0, -100.0])
    assert golden_input(values, tensor).tolist() == [[0, -2, 1, 127, -128]]
    assert quantize(values, Quantization(np.dtype(np.int8), 0.5, -1)).tolist() == [0, -2, 1, 127, -128]


def test_arena_margin_is_a_quarter_at_least_1k_and_aligned() -> None:
    """The documented margin: +25 % (min 1024 bytes), rounded up to 16 bytes."""
    assert arena_with_margin(100) == 1136
    assert arena_with_margin(10000) == 12512
    assert arena_with_margin(10000) % 16 == 0


def test_firmware_modules_do_not_import_tensorflow() -> None:
    """Loading tasks and the firmware builder never pays for TensorFlow."""
    code = ("import sys, tflmake.graph.tasks, tflmake.builders.carray; "
            "sys.exit('tensorflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
