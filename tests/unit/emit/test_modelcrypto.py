"""Signed and encrypted bundles: the C text, and the PSA helpers compiled against mbedTLS and run."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import pytest

from tests.psa import (
    BUFFER_TOO_SMALL,
    INVALID_SIGNATURE,
    check_program,
    cortex_m4_object,
    require_mbedtls,
    run_checks,
    write_signing_key,
)
from tests.support import require_tool
from tflmake import keys
from tflmake.emit.carray import format_bytes
from tflmake.emit.firmware import Bundle, render_header, render_source
from tflmake.emit.modelcrypto import decrypted_bytes, render_crypto_header, render_crypto_source
from tflmake.tflite.modelinfo import TensorInfo

pytest.importorskip("cryptography")

MODEL = bytes(range(256)) * 3 + b"tail"  # 772 bytes: not a multiple of 16
SYMBOL = "g_m_v_model_data"


def bundle(signature: keys.Signature | None, sealed: keys.Sealed | None) -> Bundle:
    return Bundle(symbol=SYMBOL, header_name="m_v_model_data.h", data=MODEL, sha256=hashlib.sha256(MODEL).hexdigest(),
                  alignment=16, section=None, comment="m/v", inputs=(TensorInfo("in", (1, 4), "INT8", 0.5, -3),),
                  outputs=(TensorInfo("out", (1, 3), "FLOAT32"),), arena_bytes_measured=1000, arena_bytes=2032,
                  arena_margin="m", signature=signature, sealed=sealed)


@pytest.fixture
def signature(tmp_path: Path) -> keys.Signature:
    write_signing_key(tmp_path / "signing.pem")
    return keys.sign_model(MODEL, str(tmp_path / "signing.pem"))


@pytest.fixture
def aes_key(tmp_path: Path) -> bytes:
    (tmp_path / "aes.key").write_bytes(bytes(range(100, 132)))
    return bytes(range(100, 132))


@pytest.fixture
def sealed(tmp_path: Path, aes_key: bytes) -> keys.Sealed:
    return keys.encrypt_model(MODEL, str(tmp_path / "aes.key"))


def write_bundle(folder: Path, made: Bundle) -> list[Path]:
    """The model and crypto files as `m_v_*` in `folder`; the two .c files."""
    folder.mkdir(exist_ok=True)
    (folder / "m_v_model_data.h").write_text(render_header(made))
    (folder / "m_v_model_data.c").write_text(render_source(made))
    (folder / "m_v_model_crypto.h").write_text(render_crypto_header(SYMBOL, "m_v_model_data.h", made.signature,
                                                                    made.sealed))
    (folder / "m_v_model_crypto.c").write_text(render_crypto_source(SYMBOL, "m_v_model_crypto.h", made.signature,
                                                                    made.sealed))
    return [folder / "m_v_model_data.c", folder / "m_v_model_crypto.c"]


def test_decrypted_ram_is_the_model_length_rounded_up_to_16() -> None:
    """TFLite Micro wants the model 16-byte aligned in RAM too."""
    assert [decrypted_bytes(n) for n in (1, 16, 17, 772)] == [16, 16, 32, 784]


def test_encrypted_bundle_has_no_plain_model_array(sealed: keys.Sealed) -> None:
    """Code handing `s` to TFLite Micro must not link against ciphertext; `s_len` stays the model's length."""
    header, source = render_header(bundle(None, sealed)), render_source(bundle(None, sealed))
    assert f"extern const unsigned char {SYMBOL}[];" not in header
    assert re.search(rf"const unsigned char {SYMBOL}\[\]", source) is None
    assert f"const unsigned char {SYMBOL}_encrypted[] = {{" in source
    assert f"const unsigned int {SYMBOL}_len = {len(MODEL)}u;" in source
    assert f"#define G_M_V_MODEL_DATA_ENCRYPTED_BYTES {len(MODEL) + 16}u" in header
    assert "#define G_M_V_MODEL_DATA_DECRYPTED_BYTES 784u" in header
    assert f'#define G_M_V_MODEL_DATA_KEY_ID "{sealed.key_id}"' in header
    assert format_bytes(MODEL[:12]) not in source


def test_signed_bundle_states_the_signature_and_key_id(signature: keys.Signature) -> None:
    """The signature and the public key are bytes in the source; the header names the key by id."""
    header, source = render_header(bundle(signature, None)), render_source(bundle(signature, None))
    assert "#define G_M_V_MODEL_DATA_SIGNED 1" in header
    assert f'#define G_M_V_MODEL_DATA_PUBLIC_KEY_ID "{signature.key_id}"' in header
    assert f"extern const unsigned char {SYMBOL}[];" in header
    cells = re.search(rf"{SYMBOL}_signature\[G_M_V_MODEL_DATA_SIGNATURE_BYTES\] = \{{(.*?)\}};", source, re.S)
    assert cells is not None
    assert bytes(int(cell, 16) for cell in re.findall(r"0x([0-9a-f]{2})", cells.group(1))) == signature.signature


def test_plain_bundle_is_unchanged_by_the_crypto_code() -> None:
    """Signing off and no encryption: no crypto macro, no crypto array."""
    header, source = render_header(bundle(None, None)), render_source(bundle(None, None))
    assert "SIGNED" not in header and "ENCRYPTED" not in header and "_signature" not in source


def test_verify_accepts_the_genuine_model_and_refuses_a_flipped_byte_or_another_key(
        tmp_path: Path, signature: keys.Signature) -> None:
    """psa_verify_hash on the host (mbedTLS): PSA_SUCCESS, then INVALID_SIGNATURE twice."""
    gcc = require_mbedtls()
    sources = write_bundle(tmp_path / "c", bundle(signature, None))
    genuine = run_checks(gcc, tmp_path / "c", sources, check_program(
        symbol=SYMBOL, crypto_header="m_v_model_crypto.h", model=MODEL, public_key=signature.public_key, aes_key=None))
    assert genuine == {"verify": [0], "flipped": [INVALID_SIGNATURE]}
    other = write_signing_key(tmp_path / "other.pem")
    trusting_another = run_checks(gcc, tmp_path / "c", sources, check_program(
        symbol=SYMBOL, crypto_header="m_v_model_crypto.h", model=MODEL, public_key=other, aes_key=None))
    assert trusting_another["verify"] == [INVALID_SIGNATURE]


def test_decrypt_gives_the_model_and_a_wrong_key_leaves_zeros(tmp_path: Path, signature: keys.Signature,
                                                             sealed: keys.Sealed, aes_key: bytes) -> None:
    """psa_aead_decrypt: the model's bytes, which then verify; a wrong key fails and zeroes the buffer."""
    gcc = require_mbedtls()
    sources = write_bundle(tmp_path / "c", bundle(signature, sealed))
    results = run_checks(gcc, tmp_path / "c", sources, check_program(
        symbol=SYMBOL, crypto_header="m_v_model_crypto.h", model=MODEL, public_key=signature.public_key,
        aes_key=aes_key))
    assert results == {"decrypt": [0, 1], "verify": [0], "flipped": [INVALID_SIGNATURE],
                       "wrong_key": [INVALID_SIGNATURE, 1], "small": [BUFFER_TOO_SMALL]}


def test_a_flipped_tag_fails_to_decrypt(tmp_path: Path, sealed: keys.Sealed, aes_key: bytes) -> None:
    """One bit of the tag changed: INVALID_SIGNATURE, not a model."""
    gcc = require_mbedtls()
    tampered = replace(sealed, tag=bytes([sealed.tag[0] ^ 1]) + sealed.tag[1:])
    sources = write_bundle(tmp_path / "c", bundle(None, tampered))
    results = run_checks(gcc, tmp_path / "c", sources, check_program(
        symbol=SYMBOL, crypto_header="m_v_model_crypto.h", model=MODEL, public_key=None, aes_key=aes_key))
    assert results["decrypt"] == [INVALID_SIGNATURE, 0]


def test_helpers_compile_for_cortex_m4(tmp_path: Path, signature: keys.Signature, sealed: keys.Sealed) -> None:
    """-Wall -Wextra -Werror, C99, Thumb-2, against mbedTLS's PSA headers."""
    arm_gcc = require_tool("arm-none-eabi-gcc")
    require_mbedtls()
    for source in write_bundle(tmp_path / "c", bundle(signature, sealed)):
        assert cortex_m4_object(arm_gcc, tmp_path / "c", source).stat().st_size > 0
