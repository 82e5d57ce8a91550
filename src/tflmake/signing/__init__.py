"""Signed builds: `[tool.tflmake.signing]`, the keys it names, and signatures in the OpenSSF model-signing format.

Light on purpose: the command and the task graph import this package on every run;
`cryptography` and `model_signing` load only when something is signed or verified.
"""

# The resolved signing settings of this run, as JSON (set by the tflmake command for its build steps).
SETTINGS_ENV = "TFLMAKE_SIGNING_SETTINGS"
# The interface to the firmware-side steps (issue 22 §3/§4): absolute paths, set only when configured.
KEY_ENV = "TFLMAKE_SIGNING_KEY"  # a PEM EC P-256 private key
ENCRYPTION_KEY_ENV = "TFLMAKE_ENCRYPTION_KEY"  # a file holding a 16- or 32-byte AES key, raw or hex

__all__ = ["ENCRYPTION_KEY_ENV", "KEY_ENV", "SETTINGS_ENV"]
