"""The sign tasks: absent while signing is off, one per variant and one per manifest while it is on."""

from __future__ import annotations

from pathlib import Path

from tests.support import MLP, all_tasks, fingerprints
from tflmake.graph.tasks import creators, model_tasks
from tflmake.paths import Layout
from tflmake.signing.keys import Identity
from tflmake.spec.load import load_specs

SIGNED_BY = Identity("key", "0123456789abcdef")


def tasks(tmp_path: Path, signing: Identity | None) -> dict[str, dict]:
    path = tmp_path / "digits_mlp.toml"
    path.write_text(MLP)
    specs, _ = load_specs([path])
    layout = Layout("build")
    models = [(spec, model_tasks(spec, layout, signing)) for spec in specs]
    return {f"{task['basename']}:{task.get('name')}": task
            for creator in creators(models, [], layout).values() for task in creator()}


def test_signing_off_changes_no_task(tmp_path: Path) -> None:
    """Same task names (no empty sign groups either), same keys, file deps and targets as before signing existed."""
    path = tmp_path / "digits_mlp.toml"
    path.write_text(MLP)
    specs, _ = load_specs([path])
    before = {f"{task['basename']}:{task.get('name')}": task for task in all_tasks(specs)}
    assert not any(name.startswith("sign") for name in before)
    assert fingerprints(tasks(tmp_path, None)) == fingerprints(before)


def test_each_variant_and_manifest_gets_a_signature_task(tmp_path: Path) -> None:
    described = tasks(tmp_path, SIGNED_BY)
    signs = {name for name in described if name.startswith("sign")}
    assert signs == {"sign:None", "sign_manifest:None", "sign_manifest:digits_mlp",
                     *(f"sign:digits_mlp.{v}" for v in ("float32", "dynamic", "float16", "int8", "int16x8"))}
    int8 = described["sign:digits_mlp.int8"]
    assert int8["targets"] == ["build/digits_mlp/int8.sig"]
    assert int8["file_dep"] == ["build/digits_mlp/int8.tflite", *Layout("build").firmware_bundle("digits_mlp", "int8")]
    assert described["sign_manifest:digits_mlp"]["file_dep"] == ["build/digits_mlp/manifest.json"]


def test_nothing_keys_on_a_signature(tmp_path: Path) -> None:
    """Signatures differ from run to run: no task reads one, and the manifest does not record them."""
    described = tasks(tmp_path, SIGNED_BY)
    for task in described.values():
        assert not any(str(dep).endswith(".sig") for dep in task.get("file_dep", [])), task["name"]


def test_a_new_key_re_signs_and_re_reports_but_rebuilds_nothing_else(tmp_path: Path) -> None:
    before = fingerprints(tasks(tmp_path, SIGNED_BY))
    after = fingerprints(tasks(tmp_path, Identity("key", "fedcba9876543210")))
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {name for name in before if name.startswith("sign") and not name.endswith(":None")} | {
        "evaluate:digits_mlp"}
