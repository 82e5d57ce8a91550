"""Keys made in the test and the C check of signed and encrypted bundles, compiled against mbedTLS's PSA crypto."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import require_tool

PSA_HEADER = Path("/usr/include/psa/crypto.h")
HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1"]
CORTEX_M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-std=c99", "-Os", "-Wall", "-Wextra", "-Werror", "-c"]
INVALID_SIGNATURE = -149  # PSA_ERROR_INVALID_SIGNATURE: a changed byte, another key, a wrong AES key or tag
BUFFER_TOO_SMALL = -138  # PSA_ERROR_BUFFER_TOO_SMALL


def require_mbedtls() -> str:
    """The host C compiler, when mbedTLS's PSA headers are installed (skips, or fails under CI, if not)."""
    gcc = require_tool("gcc")
    if not PSA_HEADER.is_file():
        message = "mbedTLS's PSA crypto headers are missing (Debian/Ubuntu: sudo apt-get install libmbedtls-dev)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{message}; CI is set, so tests that need it must run", pytrace=False)
        pytest.skip(message)
    return gcc


def write_signing_key(path: Path, curve: str = "secp256r1") -> bytes:
    """A new EC private key as PEM at `path`; its public key as an uncompressed point."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key({"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}[curve])
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def c_bytes(data: bytes) -> str:
    return ", ".join(str(value) for value in data)


def check_program(*, symbol: str, crypto_header: str, model: bytes, public_key: bytes | None,
                  aes_key: bytes | None, dump: Path | None = None) -> str:
    """A test main that prints one `name status` line per check of the bundle.

    verify: the genuine model (from flash, or decrypted when encrypted) against `public_key`;
    flipped: the same with one byte changed; decrypt: PSA status and whether the bytes equal `model`;
    wrong_key: decryption with one key bit changed, and whether the output buffer was left all zero;
    small: decryption into a buffer one byte short. `dump`: where to write the decrypted model.
    """
    p = symbol.upper()
    encrypted = aes_key is not None
    lines = [f'#include "{crypto_header}"', "#include <stdio.h>", "#include <string.h>",
             f"static const unsigned char expected[] = {{{c_bytes(model)}}};",
             f"static unsigned char ram[{p}_LEN + 16];"]
    if encrypted:
        lines += ["static int all_zero(void) {",
                  "  size_t i; for (i = 0; i < sizeof ram; i++) { if (ram[i] != 0) return 0; } return 1;", "}"]
    lines += ["int main(void) {", "  psa_status_t status = PSA_SUCCESS;", "  (void)expected;"]
    if encrypted:
        lines += [f"  static const unsigned char key[] = {{{c_bytes(aes_key)}}};",
                  "  unsigned char other[sizeof key];",
                  f"  status = {symbol}_decrypt(key, sizeof key, ram, {p}_DECRYPTED_BYTES);",
                  f'  printf("decrypt %d %d\\n", (int)status, memcmp(ram, expected, {p}_LEN) == 0);']
        if dump is not None:
            lines += [f'  {{ FILE *out = fopen("{dump}", "wb"); fwrite(ram, 1, {p}_LEN, out); fclose(out); }}']
    else:
        lines += [f"  memcpy(ram, {symbol}, {p}_LEN);"]
    if public_key is not None:
        lines += [f"  {{ static const unsigned char trusted[] = {{{c_bytes(public_key)}}};",
                  f'    printf("verify %d\\n", (int){symbol}_verify(ram, {p}_LEN, trusted));',
                  f"    ram[{p}_LEN / 2] ^= 0x01;",
                  f'    printf("flipped %d\\n", (int){symbol}_verify(ram, {p}_LEN, trusted)); }}']
    if encrypted:
        lines += ["  memcpy(other, key, sizeof key); other[0] ^= 0x80; memset(ram, 0xAA, sizeof ram);",
                  f"  status = {symbol}_decrypt(other, sizeof other, ram, sizeof ram);",
                  '  printf("wrong_key %d %d\\n", (int)status, all_zero());',
                  f"  status = {symbol}_decrypt(key, sizeof key, ram, {p}_LEN - 1);",
                  '  printf("small %d\\n", (int)status);']
    lines += ["  (void)status;", "  return 0;", "}"]
    return "\n".join(lines) + "\n"


def run_checks(gcc: str, folder: Path, sources: list[Path], main: str) -> dict[str, list[int]]:
    """Compile `sources` and the test main for the host against libmbedcrypto, run it: name -> numbers."""
    (folder / "check_main.c").write_text(main)
    program = folder / "check"
    built = subprocess.run([gcc, *HOST_FLAGS, "-I", str(folder), "-o", str(program), *map(str, sources),
                            str(folder / "check_main.c"), "-lmbedcrypto"], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    output = subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout
    return {name: [int(value) for value in values] for name, *values in (line.split() for line in output.splitlines())}


def cortex_m4_object(gcc: str, folder: Path, source: Path) -> Path:
    """`source` compiled (not linked) for a Cortex-M4 with mbedTLS's headers (only theirs, not the host's libc)."""
    include = folder / "psa-include"
    include.mkdir(exist_ok=True)
    for name in ("psa", "mbedtls"):
        if not (include / name).exists():
            (include / name).symlink_to(Path("/usr/include") / name)
    obj = folder / (source.stem + ".o")
    subprocess.run([gcc, *CORTEX_M4_FLAGS, "-isystem", str(include), "-I", str(source.parent), "-o", str(obj),
                    str(source)], check=True, capture_output=True, text=True)
    return obj
