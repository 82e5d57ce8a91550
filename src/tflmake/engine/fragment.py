"""Up-to-date keys that remember their spec fragment, so `status` can name the key that changed."""

from __future__ import annotations

import inspect
import json
from typing import Any

from doit.tools import config_changed

# Where the last built fragment is kept among the task's saved values in doit's DB.
FRAGMENT_VALUE = "tflmake_fragment"


class fragment_changed(config_changed):  # noqa: N801 (named like doit's config_changed)
    """doit's `config_changed`, plus the fragment itself saved with the task's values.

    The digest, and so every up-to-date decision, is exactly config_changed's;
    the saved copy only serves to explain a change.
    """

    # doit asks inspect.signature which magic arguments a checker takes, for every
    # task on every run; a stated signature answers that ~15x faster (~8 ms of a
    # 50-spec no-op) than deriving it from __call__.
    __signature__ = inspect.Signature([
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in ("task", "values")])

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        # Digested once, where the task is described: a task list from the task
        # cache comes with its digests and never encodes a key again.
        self.config_digest = self._calc_digest()

    def configure_task(self, task: Any) -> None:
        super().configure_task(task)
        task.value_savers.append(self._saved_fragment)

    def __call__(self, task: Any, values: dict[str, Any]) -> bool:
        """True while the key is the one the task last succeeded with (config_changed's test)."""
        return bool(values.get("_config_changed") == self.config_digest)

    def _saved_fragment(self) -> dict[str, Any]:
        # As JSON text: doit decodes every task's values on every run, and one
        # string decodes far faster than the tables in it (10M instructions of a
        # 50-spec no-op); only `status` reads it back.
        return {FRAGMENT_VALUE: json.dumps(self.config, sort_keys=True)}


def saved_fragment(values: dict[str, Any]) -> Any:
    """The fragment a task was last built with, from its saved values (None if never saved)."""
    saved = values.get(FRAGMENT_VALUE)
    return json.loads(saved) if isinstance(saved, str) else saved  # a table before it was text


def fragment_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Each changed key path with its old and new value, e.g. `train.epochs: 5 -> 6`."""
    if isinstance(old, dict) and isinstance(new, dict):
        differences: list[str] = []
        for key in sorted(old.keys() | new.keys()):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in new:
                differences.append(f"{path}: removed (was {_show(old[key])})")
            elif key not in old:
                differences.append(f"{path}: added ({_show(new[key])})")
            else:
                differences.extend(fragment_differences(old[key], new[key], path))
        return differences
    if old == new:
        return []
    return [f"{prefix or 'value'}: {_show(old)} -> {_show(new)}"]


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."
