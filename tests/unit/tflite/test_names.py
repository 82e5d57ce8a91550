"""strip_names on TFLite Micro's own converter-made sample model: what goes, what stays, how it is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from tflmake.errors import BuildError
from tflmake.tflite.names import BUFFER_ALIGNMENT, strip_names


@pytest.fixture(scope="module")
def sine() -> bytes:
    """The converter-made float model tflite-micro ships (names, signature, description, metadata)."""
    import tflite_micro

    return (Path(tflite_micro.__file__).parent / "python" / "tflite_micro" / "sine_float.tflite").read_bytes()


def tree(model: bytes) -> Any:
    return schema.ModelT.InitFromObj(schema.Model.GetRootAs(model, 0))


def plain(value: Any) -> Any:
    """An object-API tree as plain data, so two trees compare with ==."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return [plain(item) for item in value]
    if hasattr(value, "__dict__"):
        return {key: plain(item) for key, item in vars(value).items()}
    return value


def test_intermediate_tensor_names_go_and_the_interface_names_stay(sine: bytes) -> None:
    """Only each subgraph's inputs and outputs keep their names (the header and report show them)."""
    before, after = tree(sine).subgraphs[0], tree(strip_names(sine)).subgraphs[0]
    interface = set(before.inputs) | set(before.outputs)
    assert [t.name for t in after.tensors] == \
        [t.name if i in interface else None for i, t in enumerate(before.tensors)]
    assert all(before.tensors[i].name for i in interface)


def test_signatures_metadata_and_everything_else_are_unchanged(sine: bytes) -> None:
    """The rewrite drops the strings and nothing more: the rest of the tree is equal."""
    expected = tree(sine)
    assert expected.signatureDefs and expected.metadata and expected.description and expected.subgraphs[0].name
    expected.description = None
    for subgraph in expected.subgraphs:
        subgraph.name = None
        for index, tensor in enumerate(subgraph.tensors):
            if index not in set(subgraph.inputs) | set(subgraph.outputs):
                tensor.name = None
    assert plain(tree(strip_names(sine))) == plain(expected)


def test_stripped_model_is_smaller_reproducible_and_stripping_twice_changes_nothing(sine: bytes) -> None:
    stripped = strip_names(sine)
    assert len(stripped) < len(sine)
    assert strip_names(sine) == stripped
    assert strip_names(stripped) == stripped
    assert schema.Model.ModelBufferHasIdentifier(stripped, 0)


def test_buffer_data_keeps_the_schemas_16_byte_alignment(sine: bytes) -> None:
    """Python's builder ignores `force_align: 16`; weights must still start on 16-byte boundaries."""
    root = schema.Model.GetRootAs(strip_names(sine), 0)
    starts = [root.Buffers(i)._tab.Vector(root.Buffers(i)._tab.Offset(4))
              for i in range(root.BuffersLength()) if root.Buffers(i).DataLength()]
    assert starts and all(start % BUFFER_ALIGNMENT == 0 for start in starts)


def test_the_stripped_model_computes_the_same_in_tflite_micro(sine: bytes, tmp_path: Path) -> None:
    from tflite_micro.python.tflite_micro import runtime

    outputs = []
    for name, model in (("sine", sine), ("stripped", strip_names(sine))):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(model)
        interpreter = runtime.Interpreter.from_file(str(path), arena_size=4096)
        interpreter.set_input(np.array([[1.25]], dtype=np.float32), 0)
        interpreter.invoke()
        outputs.append(np.array(interpreter.get_output(0)))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_buffers_outside_the_flatbuffer_are_an_error(sine: bytes) -> None:
    """Offsets into data after the flatbuffer would break when written again: refuse, naming the key."""
    import flatbuffers

    root = tree(sine)
    root.buffers[1].offset, root.buffers[1].size = 4096, 16
    builder = flatbuffers.Builder(1024)
    builder.Finish(root.Pack(builder), file_identifier=b"TFL3")
    with pytest.raises(BuildError, match="strip_names = false"):
        strip_names(bytes(builder.Output()))
