"""Action keys: the same inputs anywhere give the same key; any component that matters changes it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tflmake.cache.key import InputHashes, TaskFacts, action_key, facts_from_task, key_differences, key_document, role
from tflmake.engine.fingerprint import key_and_targets_unchanged


def checkout(root: Path, build: str = "build") -> TaskFacts:
    """A tflite task of model m in a checkout at `root` whose build folder is `build`."""
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / build / "m" / "saved_model").mkdir(parents=True, exist_ok=True)
    (root / build / "m" / "saved_model" / "tflmake_stamp.json").write_text('{"weights": "abc"}')
    (root / "specs" / "recipe.json").write_text("{}")
    task = {"basename": "tflite", "name": "m.int8",
            "file_dep": [f"{root}/{build}/m/saved_model/tflmake_stamp.json", f"{root}/specs/recipe.json"],
            "targets": [f"{root}/{build}/m/int8.tflite"],
            "uptodate": [key_and_targets_unchanged({"variant": {"name": "int8"}, "tools": {"tensorflow": "2.21.0"}})]}
    return facts_from_task(task, f"{root}/{build}", f"{root}/specs", "m")


def key_of(facts: TaskFacts, namespace: str = "", memo: Path | None = None) -> tuple[str, dict[str, Any]]:
    hashes = InputHashes(str(memo or Path(facts.build_dir) / ".hashes.json"))
    document, _ = key_document(facts, namespace, hashes)
    return action_key(document), document


def test_key_ignores_where_the_checkout_is_and_the_build_folder_name(tmp_path: Path) -> None:
    """Two checkouts at different absolute paths with different build-dir names share keys."""
    first, _ = key_of(checkout(tmp_path / "a"))
    second, document = key_of(checkout(tmp_path / "elsewhere" / "b", build="out"))
    assert first == second
    assert str(tmp_path) not in repr(document) and "out" not in repr(document["inputs"])


def test_key_changes_with_input_bytes(tmp_path: Path) -> None:
    facts = checkout(tmp_path)
    before, old = key_of(facts)
    Path(facts.inputs[0]).write_text('{"weights": "abd"}')
    after, new = key_of(facts)
    assert before != after
    assert any(line.startswith("inputs.build/m/saved_model/tflmake_stamp.json.sha256:")
               for line in key_differences(old, new))


def test_key_changes_with_namespace_and_names_it(tmp_path: Path) -> None:
    facts = checkout(tmp_path)
    (plain, old), (salted, new) = key_of(facts), key_of(facts, namespace="v2")
    assert plain != salted
    assert key_differences(old, new) == ['namespace: "" -> "v2"']


def test_tool_version_change_is_named_like_status_names_it(tmp_path: Path) -> None:
    """A miss explains itself as `tools.tensorflow: "2.21.0" -> "2.22.0"` (as `tflmake status` does)."""
    _, old = key_of(checkout(tmp_path))
    new = {**old, "fragment": {**old["fragment"], "tools": {"tensorflow": "2.22.0"}}}
    assert key_differences(old, new) == ['tools.tensorflow: "2.21.0" -> "2.22.0"']


def test_key_holds_code_digest_and_platform(tmp_path: Path) -> None:
    _, document = key_of(checkout(tmp_path))
    assert len(document["code"]) == 64
    assert set(document["platform"]) == {"os", "machine", "python"}


def test_input_hash_is_remembered_until_the_file_changes(tmp_path: Path) -> None:
    """A large input is hashed once per change: the memo answers while size, mtime and inode hold."""
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 1000)
    memo = InputHashes(str(tmp_path / "memo.json"))
    digest, _ = memo.digest(str(path))
    memo.save()
    # Same stat, planted different digest in the memo: the memo is believed (no re-hash).
    reread = InputHashes(str(tmp_path / "memo.json"))
    reread._known[os.path.abspath(path)][3] = "remembered"
    assert reread.digest(str(path))[0] == "remembered"
    path.write_bytes(b"y" * 1001)
    assert reread.digest(str(path))[0] not in ("remembered", digest)


def test_roles_are_relative_to_build_or_spec_folder(tmp_path: Path) -> None:
    assert role(f"{tmp_path}/b/m/x.npz", f"{tmp_path}/b", f"{tmp_path}/s") == "build/m/x.npz"
    assert role(f"{tmp_path}/s/data/x.csv", f"{tmp_path}/b", f"{tmp_path}/s") == "spec/data/x.csv"
    assert role(f"{tmp_path}/shared/x.csv", f"{tmp_path}/b", f"{tmp_path}/s") == "spec/../shared/x.csv"


def test_folder_kinds_store_the_folder_a_stamp_stands_for(tmp_path: Path) -> None:
    task = {"basename": "savedmodel", "name": "m", "file_dep": [],
            "targets": [f"{tmp_path}/build/m/saved_model/tflmake_stamp.json",
                        f"{tmp_path}/build/m/saved_model/keras.weights.h5"],
            "uptodate": [key_and_targets_unchanged({"source": {}})]}
    facts = facts_from_task(task, f"{tmp_path}/build", str(tmp_path), "m")
    assert facts.outputs() == {"build/m/saved_model": f"{tmp_path}/build/m/saved_model"}


def test_a_key_file_is_not_an_input_of_the_action_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signing key's bytes (or their hash) never reach the shared cache; the fragment holds the key's id."""
    facts = checkout(tmp_path)
    before, _ = key_of(facts)
    key = tmp_path / "outside" / "signing.pem"
    key.parent.mkdir()
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    monkeypatch.setenv("TFLMAKE_SIGNING_KEY", str(key))
    signed = replace(facts, inputs=(*facts.inputs, str(key)))
    hashes = InputHashes(str(tmp_path / "memo.json"))
    document, stats = key_document(signed, "", hashes)
    hashes.save()
    assert action_key(document) == before
    assert str(key) not in stats and not any("signing.pem" in role for role in document["inputs"])
    assert "signing.pem" not in (tmp_path / "memo.json").read_text()
