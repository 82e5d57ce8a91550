"""[gates] and [evaluation] in specs: defaults, per-variant overrides, mistakes caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from tflmake.errors import SpecError
from tflmake.spec.load import load_spec

BASE = """
[model.source]
type = "layers"
input_shape = [4]
layers = [{ type = "Dense", units = 2 }]

[dataset]
type = "digits"
"""


def spec_from(tmp_path: Path, text: str):  # noqa: ANN201 - returns ModelSpec
    path = tmp_path / "toy.toml"
    path.write_text(BASE + text)
    return load_spec(path)


def test_evaluation_defaults_are_filled(tmp_path: Path) -> None:
    """Without [evaluation], the task is classification with 100 latency runs."""
    spec = spec_from(tmp_path, '[[variant]]\nname = "f"\n')
    assert spec.evaluation == {"task": "classification", "latency_runs": 100}
    assert spec.gates == {} and spec.gates_for("f") == {}


def test_variant_gates_override_model_gates_key_by_key(tmp_path: Path) -> None:
    """The variant's own key wins; the model's other keys still apply."""
    spec = spec_from(tmp_path, """
[gates]
min_accuracy = 0.9
max_size_bytes = 50000

[[variant]]
name = "f"

[[variant]]
name = "q"
quantize = "int8"
gates = { min_accuracy = 0.85 }
""")
    assert spec.gates_for("f") == {"min_accuracy": 0.9, "max_size_bytes": 50000}
    assert spec.gates_for("q") == {"min_accuracy": 0.85, "max_size_bytes": 50000}


def test_variant_gate_does_not_change_the_variant_fragment(tmp_path: Path) -> None:
    """Gates are not part of what decides a .tflite's bytes."""
    spec = spec_from(tmp_path, '[[variant]]\nname = "f"\ngates = { min_accuracy = 0.5 }\n')
    assert "gates" not in spec.variant("f").fragment()


def test_gate_written_in_percent_is_an_error(tmp_path: Path) -> None:
    """Gates are fractions; 95 (meaning 95 %) must not silently pass as a limit of 9500 %."""
    with pytest.raises(SpecError, match=r"gates\.min_accuracy: expected a number <= 1; got 95"):
        spec_from(tmp_path, '[gates]\nmin_accuracy = 95\n[[variant]]\nname = "f"\n')


def test_unknown_gate_key_suggests_the_nearest(tmp_path: Path) -> None:
    """A typo in a gate name is an error with a suggestion, never ignored."""
    with pytest.raises(SpecError, match=r'variant\[0\]\.gates\.min_acuracy: unknown key; '
                                        r'did you mean "min_accuracy"\?'):
        spec_from(tmp_path, '[[variant]]\nname = "f"\ngates = { min_acuracy = 0.5 }\n')


def test_classification_gate_on_regression_model_is_an_error(tmp_path: Path) -> None:
    """min_accuracy means nothing for a regression model."""
    with pytest.raises(SpecError, match=r'gates\.min_accuracy: only for evaluation\.task = '
                                        r'"classification"'):
        spec_from(tmp_path, '[evaluation]\ntask = "regression"\n[gates]\nmin_accuracy = 0.5\n'
                            '[[variant]]\nname = "f"\n')


def test_unknown_evaluation_task_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"evaluation\.task: expected one of classification, "
                                        r"regression"):
        spec_from(tmp_path, '[evaluation]\ntask = "detection"\n[[variant]]\nname = "f"\n')


def test_variant_with_gates_is_still_hashable(tmp_path: Path) -> None:
    """Variants were usable as dict keys before gates existed; they must stay so."""
    spec = spec_from(tmp_path, '[[variant]]\nname = "f"\ngates = { min_accuracy = 0.5 }\n')
    assert {spec.variant("f"): 1}[spec.variant("f")] == 1
