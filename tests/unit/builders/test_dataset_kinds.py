"""Data set types are data: the schema's enum, the kinds table and the loaders table name the same types."""

from __future__ import annotations

from pathlib import Path

from tests.support import write_spec
from tflmake.kinds import DATASET_KINDS as KINDS
from tflmake.spec.load import load_spec
from tflmake.spec.schema import spec_schema

HEAD = """
[model.source]
type = "layers"
input_shape = [4]
layers = [{ type = "Dense", units = 2 }]

[[variant]]
name = "float32"
"""


def test_schema_types_equal_the_kinds_and_loaders_tables() -> None:
    """Adding a type means one schema branch, one kind record and one loader, never a fallback."""
    from tflmake.builders.dataset import LOADERS

    enum = spec_schema()["$defs"]["dataset"]["properties"]["type"]["enum"]
    assert sorted(enum) == sorted(KINDS) == sorted(LOADERS)


def test_each_type_gets_its_own_defaults_only(tmp_path: Path) -> None:
    """Audio folders default to the MLPerf Tiny KWS front end, image folders to Keras's size, npz to x and y."""
    (tmp_path / "speech" / "yes").mkdir(parents=True)
    (tmp_path / "speech" / "yes" / "a.wav").write_bytes(b"")
    (tmp_path / "data.npz").write_bytes(b"")
    audio = load_spec(write_spec(tmp_path, HEAD + '[dataset]\ntype = "audio_folder"\npath = "speech"\n')).dataset
    assert audio is not None and {key: audio[key] for key in ("sample_rate", "clip_ms", "features", "window_ms",
                                                              "stride_ms", "mel_bins", "mfcc_count")} == {
        "sample_rate": 16000, "clip_ms": 1000, "features": "mfcc", "window_ms": 30, "stride_ms": 20,
        "mel_bins": 40, "mfcc_count": 10}
    assert "image_size" not in audio and "x_key" not in audio
    (tmp_path / "images" / "cat").mkdir(parents=True)
    (tmp_path / "images" / "cat" / "a.png").write_bytes(b"")
    image = load_spec(write_spec(tmp_path, HEAD + '[dataset]\ntype = "image_folder"\npath = "images"\n')).dataset
    assert image is not None and image["image_size"] == [256, 256] and image["color_mode"] == "rgb"
    npz = load_spec(write_spec(tmp_path, HEAD + '[dataset]\ntype = "npz"\npath = "data.npz"\n')).dataset
    assert npz is not None and (npz["x_key"], npz["y_key"]) == ("x", "y") and "features" not in npz
