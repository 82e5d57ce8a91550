"""The tflite task of a keep_float_search variant: its trace is a target, its key holds the target."""

from __future__ import annotations

from pathlib import Path

from tests.support import MLP, fingerprints, tasks_of

# digits_mlp with a searched int8 variant (float I/O, as the search needs).
SEARCHED = MLP + ('\n[[variant]]\nname = "searched"\nquantize = "int8"\n'
                  "keep_float_search = { max_accuracy_drop = 0.01 }\n")
TRACE = "build/digits_mlp/searched_float_search.json"


def test_the_search_trace_is_a_target_of_the_variant_s_tflite_task(tmp_path: Path) -> None:
    """A rebuild with nothing changed finds the trace and repeats no search."""
    task = tasks_of(tmp_path, SEARCHED)["tflite:digits_mlp.searched"]
    assert task["targets"] == ["build/digits_mlp/searched.tflite", TRACE]
    assert task["file_dep"] == ["build/digits_mlp/saved_model/tflmake_stamp.json", "build/digits_mlp/dataset.npz",
                                "build/digits_mlp/representative.npz"]
    assert task["uptodate"][0].config["variant"]["keep_float_search"] == {"max_accuracy_drop": 0.01}


def test_other_variants_write_no_trace_and_keep_their_keys(tmp_path: Path) -> None:
    before, after = fingerprints(tasks_of(tmp_path)), fingerprints(tasks_of(tmp_path, SEARCHED))
    assert tasks_of(tmp_path)["tflite:digits_mlp.int8"]["targets"] == ["build/digits_mlp/int8.tflite"]
    for name in ("tflite:digits_mlp.float32", "tflite:digits_mlp.int8", "carray:digits_mlp.int8"):
        assert before[name] == after[name], name


def test_the_evaluation_and_the_manifest_read_the_trace(tmp_path: Path) -> None:
    tasks = tasks_of(tmp_path, SEARCHED)
    assert TRACE in tasks["evaluate:digits_mlp"]["file_dep"]
    assert TRACE in tasks["manifest:digits_mlp"]["file_dep"]
    labels = tasks["evaluate:digits_mlp"]["uptodate"][0].config["variants"]
    assert labels[-1]["keep_float_search"] == {"max_accuracy_drop": 0.01}


def test_a_target_change_changes_only_that_variant_s_tflite_task_and_what_reads_it(tmp_path: Path) -> None:
    before = fingerprints(tasks_of(tmp_path, SEARCHED))
    after = fingerprints(tasks_of(tmp_path, SEARCHED.replace("0.01 }", "0.02 }")))
    changed = {name for name in before if before[name] != after[name]}
    # The manifest records the spec's section hashes, so it follows any spec edit.
    assert changed == {"tflite:digits_mlp.searched", "evaluate:digits_mlp", "manifest:digits_mlp"}
