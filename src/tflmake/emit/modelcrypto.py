"""The firmware-side check and decryption: signature and ciphertext data, and C helpers on PSA crypto (pure text).

A signed bundle carries `s_signature` (ECDSA P-256 / SHA-256 of the model's bytes,
raw r || s as `psa_verify_hash` takes it) and `s_public_key` (the uncompressed
point of the key that signed it); an encrypted one carries `s_encrypted` (AES-GCM
ciphertext followed by its tag) and `s_nonce` instead of the model array `s`, so
code that would hand ciphertext to TFLite Micro does not link. The helpers
(`<variant>_model_crypto.h/.c`) call mbedTLS's PSA API: `s_verify(model, len,
public_key)` and `s_decrypt(key, key_len, out, out_size)`; both return a
`psa_status_t`, PSA_SUCCESS (0) only when the model is genuine.
"""

from __future__ import annotations

from tflmake.emit.carray import include_guard, render_array
from tflmake.keys import NONCE_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, TAG_BYTES, Sealed, Signature

DECRYPTED_ALIGNMENT = 16  # TFLite Micro wants the model 16-byte aligned, in RAM as in flash
SIGNATURE_ALGORITHM = "ECDSA P-256 with SHA-256 (deterministic, RFC 6979), raw r || s"


def decrypted_bytes(model_len: int) -> int:
    """RAM the decrypted model needs: its length rounded up to DECRYPTED_ALIGNMENT."""
    return -(-model_len // DECRYPTED_ALIGNMENT) * DECRYPTED_ALIGNMENT


def _hex_bytes(data: bytes) -> str:
    lines = [", ".join(f"0x{value:02x}" for value in data[i:i + 12]) for i in range(0, len(data), 12)]
    return "".join(f"  {line},\n" for line in lines)


def model_declarations(symbol: str, model_len: int, signature: Signature | None, sealed: Sealed | None) -> str:
    """What `<variant>_model_data.h` adds for a signed or encrypted model (empty for neither)."""
    p, s = symbol.upper(), symbol
    sections = []
    if signature is not None:
        sections.append(f"""\
/* Signed: {SIGNATURE_ALGORITHM}, over the model's
 * {model_len} bytes (the decrypted model when encrypted). public_key is the uncompressed P-256
 * point of the key that signed it, PUBLIC_KEY_ID the sha256 of its DER. Check it with
 * {s}_verify() (<model>_<variant>_model_crypto.h) against a public key your firmware trusts. */
#define {p}_SIGNED 1
#define {p}_SIGNATURE_BYTES {SIGNATURE_BYTES}u
#define {p}_PUBLIC_KEY_BYTES {PUBLIC_KEY_BYTES}u
#define {p}_PUBLIC_KEY_ID "{signature.key_id}"
extern const unsigned char {s}_signature[{p}_SIGNATURE_BYTES];
extern const unsigned char {s}_public_key[{p}_PUBLIC_KEY_BYTES];
""")
    if sealed is not None:
        sections.append(f"""\
/* Encrypted: AES-{sealed.key_bits}-GCM, no associated data. {s}_encrypted holds the ciphertext
 * ({model_len} bytes) followed by its {TAG_BYTES}-byte tag; there is no plain {s} array.
 * {s}_decrypt() (<model>_<variant>_model_crypto.h) decrypts it into a RAM buffer of
 * DECRYPTED_BYTES aligned to 16, which you then hand to TFLite Micro. KEY_ID is the sha256 of the
 * AES key's bytes; the nonce is the first 12 bytes of sha256(key id || model sha256). */
#define {p}_ENCRYPTED 1
#define {p}_ENCRYPTED_BYTES {model_len + TAG_BYTES}u
#define {p}_DECRYPTED_BYTES {decrypted_bytes(model_len)}u
#define {p}_TAG_BYTES {TAG_BYTES}u
#define {p}_NONCE_BYTES {NONCE_BYTES}u
#define {p}_KEY_BITS {sealed.key_bits}u
#define {p}_KEY_ID "{sealed.key_id}"
extern const unsigned char {s}_encrypted[{p}_ENCRYPTED_BYTES];
extern const unsigned int {s}_encrypted_len;
extern const unsigned char {s}_nonce[{p}_NONCE_BYTES];
""")
    return "\n".join(sections)


def model_array(symbol: str, model_len: int, sealed: Sealed, *, alignment: int, section: str | None) -> str:
    """The encrypted array (ciphertext, then tag) in place of the model array; `s_len` stays the model's length."""
    return (render_array(sealed.ciphertext + sealed.tag, symbol=f"{symbol}_encrypted", alignment=alignment,
                         section=section)
            + f"const unsigned int {symbol}_len = {model_len}u;\n")


def model_definitions(symbol: str, signature: Signature | None, sealed: Sealed | None) -> str:
    """The small arrays `<variant>_model_data.c` adds: the nonce, the signature and its public key."""
    p, s = symbol.upper(), symbol
    parts = []
    if sealed is not None:
        parts.append(f"const unsigned char {s}_nonce[{p}_NONCE_BYTES] = {{\n{_hex_bytes(sealed.nonce)}}};\n")
    if signature is not None:
        parts.append(f"const unsigned char {s}_signature[{p}_SIGNATURE_BYTES] = {{\n"
                     f"{_hex_bytes(signature.signature)}}};\n"
                     f"const unsigned char {s}_public_key[{p}_PUBLIC_KEY_BYTES] = {{\n"
                     f"{_hex_bytes(signature.public_key)}}};\n")
    return "\n".join(parts)


def render_crypto_header(symbol: str, model_header: str, signature: Signature | None, sealed: Sealed | None) -> str:
    """`<variant>_model_crypto.h`: the helpers' declarations (needs mbedTLS's or another PSA crypto's headers)."""
    guard = include_guard(f"{symbol}_crypto.h")
    p, s = symbol.upper(), symbol
    declarations = []
    if signature is not None:
        declarations.append(f"""\
/* Checks that {s}_signature is public_key's signature of the model_len bytes at model:
 * psa_hash_compute (SHA-256), psa_import_key (an ECC public key on SECP_R1, 256 bits) and
 * psa_verify_hash (PSA_ALG_ECDSA(PSA_ALG_SHA_256)). Pass a public key your firmware trusts
 * ({s}_public_key is the one the build used: it proves nothing about a model it came with).
 * Returns PSA_SUCCESS only for a genuine model; PSA_ERROR_INVALID_SIGNATURE when a byte differs
 * or another key signed it. Calls psa_crypto_init(). */
psa_status_t {s}_verify(const unsigned char *model, size_t model_len,
    const unsigned char public_key[{p}_PUBLIC_KEY_BYTES]);
""")
    if sealed is not None:
        declarations.append(f"""\
/* Decrypts {s}_encrypted into out (out_size >= {p}_LEN; declare {p}_DECRYPTED_BYTES aligned to 16)
 * with the {sealed.key_bits // 8}-byte AES key: psa_import_key (PSA_KEY_TYPE_AES) and
 * psa_aead_decrypt (PSA_ALG_GCM). Returns PSA_SUCCESS when the tag matches; otherwise
 * (wrong key, changed byte or tag: PSA_ERROR_INVALID_SIGNATURE) out is zeroed, never a partial
 * model. Calls psa_crypto_init(). */
psa_status_t {s}_decrypt(const unsigned char *key, size_t key_len, unsigned char *out, size_t out_size);
""")
    return f"""\
/* {symbol}: the firmware-side check{" and decryption" if sealed else ""} of the model, on the PSA crypto API.
 * Generated by tflmake; do not edit. */
#ifndef {guard}
#define {guard}

#include <stddef.h>

#include <psa/crypto.h>

#include "{model_header}"

#ifdef __cplusplus
extern "C" {{
#endif

{chr(10).join(declarations)}
#ifdef __cplusplus
}}
#endif

#endif /* {guard} */
"""


def render_crypto_source(symbol: str, crypto_header: str, signature: Signature | None, sealed: Sealed | None) -> str:
    """`<variant>_model_crypto.c`: the helpers on PSA crypto (C99, no dynamic memory)."""
    parts = [f"/* {symbol}: the firmware-side check of the model. Generated by tflmake; do not edit. */\n"
             f'#include "{crypto_header}"\n' + ("\n#include <string.h>\n" if sealed else "")]
    if signature is not None:
        parts.append(_verify_source(symbol))
    if sealed is not None:
        parts.append(_decrypt_source(symbol))
    return "\n".join(parts)


def _verify_source(symbol: str) -> str:
    p, s = symbol.upper(), symbol
    return f"""\
psa_status_t {s}_verify(const unsigned char *model, size_t model_len,
    const unsigned char public_key[{p}_PUBLIC_KEY_BYTES]) {{
  psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
  psa_key_id_t key = 0;
  uint8_t hash[PSA_HASH_LENGTH(PSA_ALG_SHA_256)];
  size_t hash_len = 0;
  psa_status_t status = psa_crypto_init();
  if (status != PSA_SUCCESS) {{
    return status;
  }}
  status = psa_hash_compute(PSA_ALG_SHA_256, model, model_len, hash, sizeof hash, &hash_len);
  if (status != PSA_SUCCESS) {{
    return status;
  }}
  psa_set_key_type(&attributes, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
  psa_set_key_bits(&attributes, 256);
  psa_set_key_usage_flags(&attributes, PSA_KEY_USAGE_VERIFY_HASH);
  psa_set_key_algorithm(&attributes, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
  status = psa_import_key(&attributes, public_key, {p}_PUBLIC_KEY_BYTES, &key);
  if (status != PSA_SUCCESS) {{
    return status;
  }}
  status = psa_verify_hash(key, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, hash_len,
                           {s}_signature, {p}_SIGNATURE_BYTES);
  (void)psa_destroy_key(key);
  return status;
}}
"""


def _decrypt_source(symbol: str) -> str:
    p, s = symbol.upper(), symbol
    return f"""\
psa_status_t {s}_decrypt(const unsigned char *key, size_t key_len, unsigned char *out, size_t out_size) {{
  psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
  psa_key_id_t id = 0;
  size_t out_len = 0;
  psa_status_t status;
  if (out == NULL || out_size < {p}_LEN) {{
    return PSA_ERROR_BUFFER_TOO_SMALL;
  }}
  if (key == NULL || key_len * 8u != {p}_KEY_BITS) {{
    status = PSA_ERROR_INVALID_ARGUMENT;
  }} else {{
    status = psa_crypto_init();
  }}
  if (status == PSA_SUCCESS) {{
    psa_set_key_type(&attributes, PSA_KEY_TYPE_AES);
    psa_set_key_bits(&attributes, {p}_KEY_BITS);
    psa_set_key_usage_flags(&attributes, PSA_KEY_USAGE_DECRYPT);
    psa_set_key_algorithm(&attributes, PSA_ALG_GCM);
    status = psa_import_key(&attributes, key, key_len, &id);
  }}
  if (status == PSA_SUCCESS) {{
    status = psa_aead_decrypt(id, PSA_ALG_GCM, {s}_nonce, {p}_NONCE_BYTES, NULL, 0,
                              {s}_encrypted, {p}_ENCRYPTED_BYTES, out, out_size, &out_len);
    (void)psa_destroy_key(id);
  }}
  if (status == PSA_SUCCESS && out_len != {p}_LEN) {{
    status = PSA_ERROR_CORRUPTION_DETECTED;
  }}
  if (status != PSA_SUCCESS) {{
    memset(out, 0, out_size);  /* never leave part of a model that failed its tag */
  }}
  return status;
}}
"""
