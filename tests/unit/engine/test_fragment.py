"""fragment_changed keeps doit's digest and saves the fragment; differences name the keys."""

from __future__ import annotations

import inspect

import pytest
from doit.task import Task
from doit.tools import config_changed

from tflmake.engine.fingerprint import key_and_targets_unchanged
from tflmake.engine.fragment import FRAGMENT_VALUE, fragment_changed, fragment_differences, saved_fragment


def noop() -> None:
    """A task action."""


def test_digest_is_config_changeds_so_old_builds_stay_up_to_date() -> None:
    """Switching from config_changed to fragment_changed rebuilds nothing."""
    fragment = {"train": {"epochs": 5}, "tools": {"tensorflow": "2.21.0"}}
    old, new = config_changed(fragment), fragment_changed(fragment)
    assert old(None, {}) is False and new(None, {}) is False
    assert new.config_digest == old.config_digest
    assert new(None, {"_config_changed": old.config_digest}) is True


def test_the_fragment_is_saved_with_the_task_values() -> None:
    """After a run the task's values hold the digest and the fragment itself."""
    fragment = {"variant": {"name": "int8", "quantize": "int8"}}
    task = Task("tflite:m.int8", [noop], uptodate=[fragment_changed(fragment)])
    task.uptodate[0][0](task, {})
    task.save_extra_values()
    assert saved_fragment(task.values) == fragment and "_config_changed" in task.values
    assert isinstance(task.values[FRAGMENT_VALUE], str), "kept as text, cheap for doit to decode"


def test_a_fragment_saved_as_a_table_by_an_older_build_still_reads() -> None:
    """Builds from before the fragment was saved as text still explain their changes."""
    assert saved_fragment({FRAGMENT_VALUE: {"train": {"epochs": 5}}}) == {"train": {"epochs": 5}}
    assert saved_fragment({}) is None


def test_differences_name_each_changed_key_with_old_and_new_value() -> None:
    """Nested changes, additions and removals each get a dotted key path."""
    old = {"train": {"epochs": 5, "seed": 0}, "tools": {"tensorflow": "2.20.0"}, "gone": 1}
    new = {"train": {"epochs": 6, "seed": 0}, "tools": {"tensorflow": "2.21.0"}, "added": [1]}
    assert fragment_differences(old, new) == [
        "added: added ([1])",
        "gone: removed (was 1)",
        "tools.tensorflow: \"2.20.0\" -> \"2.21.0\"",
        "train.epochs: 5 -> 6",
    ]


def test_equal_fragments_have_no_differences() -> None:
    assert fragment_differences({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2]}}) == []


@pytest.mark.parametrize("checker_type", [fragment_changed, key_and_targets_unchanged])
def test_stated_signature_matches_what_call_takes(checker_type: type[fragment_changed]) -> None:
    """The signature doit reads (to pass `task` and `values`) is the one __call__ really has."""
    checker = checker_type({"a": 1})

    def shape(signature: inspect.Signature) -> list[tuple[str, inspect._ParameterKind]]:
        return [(parameter.name, parameter.kind) for parameter in signature.parameters.values()]

    assert shape(inspect.signature(checker)) == shape(inspect.signature(checker.__call__))
    assert shape(inspect.signature(checker))[:2] == [("task", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                                                   ("values", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
