"""Signed and encrypted firmware bundles of a real model: rebuilds, bytes, and the C helpers run against mbedTLS."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from tests.psa import INVALID_SIGNATURE, check_program, cortex_m4_object, require_mbedtls, run_checks, write_signing_key
from tests.support import Project, require_tool
from tflmake.keys import ENCRYPTION_KEY_VARIABLE, SIGNING_KEY_VARIABLE

pytestmark = pytest.mark.integration
pytest.importorskip("cryptography")

MODEL, VARIANT, SYMBOL = "digits_mlp", "int8", "g_digits_mlp_int8_model_data"
DOWNSTREAM = ("manifest:", "evaluate:", "report:", "summary")  # what reads a bundle
AES_KEY = bytes(range(200, 232))


def firmware(project: Project, suffix: str) -> Path:
    return project.build / MODEL / "firmware" / f"{MODEL}_{VARIANT}{suffix}"


def facts(project: Project) -> dict:  # type: ignore[type-arg]
    return json.loads((project.build / MODEL / f"{VARIANT}_firmware.json").read_text())


def set_encrypt(project: Project, on: bool) -> None:
    spec = project.specs / f"{MODEL}.toml"
    text = spec.read_text().replace("c_array = true\nencrypt = true\n", "c_array = true\n")
    spec.write_text(text.replace("c_array = true\n", "c_array = true\nencrypt = true\n") if on else text)


@pytest.fixture
def keys_outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, bytes]:
    """A signing key and an AES key outside the project, named by the environment; the public key."""
    folder = tmp_path / "keys"
    folder.mkdir()
    public = write_signing_key(folder / "signing.pem")
    (folder / "model.key").write_text(AES_KEY.hex() + "\n")
    monkeypatch.setenv(SIGNING_KEY_VARIABLE, str(folder / "signing.pem"))
    monkeypatch.setenv(ENCRYPTION_KEY_VARIABLE, str(folder / "model.key"))
    return folder, public


def test_signed_encrypted_bundle_decrypts_to_the_tflite_verifies_and_runs(
        copy_of_built: Project, keys_outside: tuple[Path, bytes], tmp_path: Path) -> None:
    """Only the bundle and its readers rerun; the C helpers decrypt the .tflite's bytes, which verify and
    give the golden output in TFLite Micro; a flipped byte or a wrong AES key fails; the next run is a no-op."""
    from tflmake.tflite.micro import run_reference

    gcc = require_mbedtls()
    folder, public = keys_outside
    set_encrypt(copy_of_built, True)
    run = copy_of_built.doit()
    assert run.returncode == 0, run.output
    assert "carray:digits_mlp.int8" in run.executed
    assert all(task.startswith(("carray:", *DOWNSTREAM)) for task in run.executed), run.executed
    assert copy_of_built.doit().executed == []

    tflite = (copy_of_built.build / MODEL / f"{VARIANT}.tflite").read_bytes()
    stated = facts(copy_of_built)
    assert stated["encryption"]["decrypted_ram_bytes"] == -(-len(tflite) // 16) * 16
    assert stated["signature"]["public_key"] == public.hex()
    report = json.loads((copy_of_built.build / MODEL / "report.json").read_text())
    assert report["variants"][VARIANT]["firmware_crypto"] == {
        "signed_by": stated["signature"]["public_key_id"], "encryption_key": stated["encryption"]["key_id"],
        "decrypted_ram_bytes": stated["encryption"]["decrypted_ram_bytes"]}
    assert f"{stated['encryption']['decrypted_ram_bytes']:,} bytes of RAM" in \
        (copy_of_built.build / MODEL / "report.md").read_text()
    header = firmware(copy_of_built, "_model_data.h").read_text()
    assert f"#define G_DIGITS_MLP_INT8_MODEL_DATA_DECRYPTED_BYTES {-(-len(tflite) // 16) * 16}u" in header
    for secret in (AES_KEY.hex(), (folder / "signing.pem").read_text().splitlines()[1]):
        assert not any(secret in path.read_text(errors="replace") for path in copy_of_built.build.rglob("*")
                       if path.is_file() and path.stat().st_size < 10_000_000), "a key leaked into build/"

    sources = [firmware(copy_of_built, "_model_data.c"), firmware(copy_of_built, "_model_crypto.c")]
    dump = tmp_path / "decrypted.tflite"
    results = run_checks(gcc, firmware(copy_of_built, "").parent, sources, check_program(
        symbol=SYMBOL, crypto_header=f"{MODEL}_{VARIANT}_model_crypto.h", model=tflite, public_key=public,
        aes_key=AES_KEY, dump=dump))
    assert results["decrypt"] == [0, 1] and results["verify"] == [0]
    assert results["flipped"] == [INVALID_SIGNATURE] and results["wrong_key"] == [INVALID_SIGNATURE, 1]
    assert dump.read_bytes() == tflite
    tensor = stated["inputs"][0]
    golden_in = np.array(stated["golden"]["inputs"][0], tensor["type"]).reshape(tensor["shape"])
    output = run_reference(str(dump), stated["arena_bytes"], [golden_in], 1)[0]
    assert output.ravel().tolist() == stated["golden"]["outputs"][0]


def test_bundle_is_byte_reproducible_and_a_new_signing_key_rebuilds_it(
        copy_of_built: Project, keys_outside: tuple[Path, bytes]) -> None:
    """Rebuilding with the same keys gives the same bytes; a new key at the same path reruns the bundle,
    and firmware trusting the first key refuses the model the second one signed."""
    gcc = require_mbedtls()
    folder, first_public = keys_outside
    assert copy_of_built.doit().returncode == 0
    signed = {path.name: path.read_bytes() for path in firmware(copy_of_built, "").parent.iterdir()}
    assert copy_of_built.doit("forget", f"carray:{MODEL}.{VARIANT}").returncode == 0
    assert copy_of_built.doit().executed == [f"carray:{MODEL}.{VARIANT}"]  # same bytes: readers stay
    assert {path.name: path.read_bytes() for path in firmware(copy_of_built, "").parent.iterdir()} == signed

    write_signing_key(folder / "signing.pem")
    run = copy_of_built.doit()
    assert f"carray:{MODEL}.{VARIANT}" in run.executed, run.output
    assert not any(task.startswith(("tflite:", "dataset:", "savedmodel:")) for task in run.executed)
    assert facts(copy_of_built)["signature"]["public_key"] != first_public.hex()
    tflite = (copy_of_built.build / MODEL / f"{VARIANT}.tflite").read_bytes()
    results = run_checks(gcc, firmware(copy_of_built, "").parent,
                         [firmware(copy_of_built, "_model_data.c"), firmware(copy_of_built, "_model_crypto.c")],
                         check_program(symbol=SYMBOL, crypto_header=f"{MODEL}_{VARIANT}_model_crypto.h",
                                       model=tflite, public_key=first_public, aes_key=None))
    assert results["verify"] == [INVALID_SIGNATURE]


def test_encrypt_without_a_key_fails_with_one_line_and_keys_off_restore_the_plain_bytes(
        copy_of_built: Project, built_mlp: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """No TFLMAKE_ENCRYPTION_KEY: the carray task fails naming the key and the variable, no traceback;
    with signing off and encrypt removed the bundle is byte for byte the unsigned one."""
    monkeypatch.delenv(SIGNING_KEY_VARIABLE, raising=False)
    monkeypatch.delenv(ENCRYPTION_KEY_VARIABLE, raising=False)
    set_encrypt(copy_of_built, True)
    run = copy_of_built.doit()
    assert run.returncode != 0
    assert re.search(r"variant\[3\]\.encrypt: set TFLMAKE_ENCRYPTION_KEY to the absolute path of a 16- or "
                     r"32-byte AES key file", run.output), run.output
    assert "Traceback" not in run.output

    set_encrypt(copy_of_built, False)
    assert copy_of_built.doit().returncode == 0
    for suffix in ("_model_data.h", "_model_data.c", "_op_resolver.h"):
        assert firmware(copy_of_built, suffix).read_bytes() == firmware(built_mlp, suffix).read_bytes()
    assert (copy_of_built.build / MODEL / f"{VARIANT}_firmware.json").read_bytes() == \
        (built_mlp.build / MODEL / f"{VARIANT}_firmware.json").read_bytes()


def test_signed_bundle_compiles_for_cortex_m4(copy_of_built: Project, keys_outside: tuple[Path, bytes]) -> None:
    """The model data and the PSA helpers of a real signed, encrypted bundle build for Thumb-2 with -Werror."""
    arm_gcc = require_tool("arm-none-eabi-gcc")
    require_mbedtls()
    set_encrypt(copy_of_built, True)
    assert copy_of_built.doit(f"carray:{MODEL}.{VARIANT}").returncode == 0
    for suffix in ("_model_data.c", "_model_crypto.c"):
        assert cortex_m4_object(arm_gcc, firmware(copy_of_built, "").parent, firmware(copy_of_built, suffix))
    assert os.environ[SIGNING_KEY_VARIABLE]
