"""The test set record report.json carries (no TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tflmake.builders.evaluate import digest_test_set


def stored() -> dict[str, np.ndarray]:
    return {"x_test": np.arange(24, dtype=np.uint8).reshape(4, 6), "y_test": np.array([0, 1, 1, 0]),
            "x_scale": np.array([255.0], dtype=np.float32)}


def test_test_set_digest_changes_with_any_input_label_or_scale() -> None:
    """Equal arrays give one digest; one pixel, one label, the scale or one more sample each change it."""
    record = digest_test_set(stored())
    assert record["samples"] == 4 and record == digest_test_set(stored())
    variants = [stored() for _ in range(4)]
    variants[0]["x_test"][2, 3] += 1
    variants[1]["y_test"][0] = 1
    variants[2]["x_scale"][0] = 127.5
    variants[3] = {**stored(), "x_test": np.arange(30, dtype=np.uint8).reshape(5, 6), "y_test": np.zeros(5)}
    digests = {digest_test_set(arrays)["sha256"] for arrays in variants}
    assert len(digests) == 4 and record["sha256"] not in digests


def test_firmware_crypto_is_read_from_the_bundle_facts(tmp_path: Path) -> None:
    """Key ids and the decrypted RAM from `_firmware.json`; a plain or unreadable one gives None."""
    from tflmake.builders.evaluate import read_firmware_crypto

    path = tmp_path / "int8_firmware.json"
    path.write_text(json.dumps({"signature": {"public_key_id": "ab"}, "encryption": {
        "key_id": "cd", "decrypted_ram_bytes": 1024}}))
    assert read_firmware_crypto(str(path)) == {"signed_by": "ab", "encryption_key": "cd", "decrypted_ram_bytes": 1024}
    path.write_text(json.dumps({"signature": {"public_key_id": "ab"}}))
    assert read_firmware_crypto(str(path)) == {"signed_by": "ab", "encryption_key": None, "decrypted_ram_bytes": None}
    path.write_text(json.dumps({"arena_bytes": 1}))
    assert read_firmware_crypto(str(path)) is None
    assert read_firmware_crypto(str(tmp_path / "missing.json")) is None
