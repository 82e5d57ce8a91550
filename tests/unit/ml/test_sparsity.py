"""The pruning schedule and masks (pure numpy, no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tflmake.ml.sparsity import magnitude_mask, measured_sparsity, scheduled_sparsity


def test_polynomial_schedule_starts_at_zero_ends_at_target_and_rises() -> None:
    """The polynomial schedule climbs monotonically from 0 to exactly the target."""
    levels = [scheduled_sparsity(step, 100, 0.5, "polynomial") for step in range(0, 101)]
    assert levels[0] == 0.0
    assert levels[-1] == pytest.approx(0.5)
    assert all(a <= b for a, b in zip(levels, levels[1:], strict=False))
    assert levels[50] == pytest.approx(0.5 * (1 - 0.5**3))


def test_constant_schedule_is_the_target_from_the_first_step() -> None:
    assert scheduled_sparsity(0, 100, 0.7, "constant") == 0.7


def test_unknown_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="cubic"):
        scheduled_sparsity(1, 10, 0.5, "cubic")


def test_mask_removes_the_smallest_magnitudes() -> None:
    """Half of [-4, 1, -2, 3] pruned: the two smallest by magnitude (1 and -2) go."""
    mask = magnitude_mask(np.array([-4.0, 1.0, -2.0, 3.0]), 0.5)
    assert mask.tolist() == [True, False, False, True]


@given(st.integers(1, 300), st.floats(0.0, 1.0), st.integers(0, 2**31 - 1))
def test_mask_prunes_exactly_the_rounded_share(size: int, sparsity: float, seed: int) -> None:
    """Exactly round(sparsity * size) weights are masked, and none larger than a kept one."""
    weights = np.random.default_rng(seed).normal(size=size)
    mask = magnitude_mask(weights, sparsity)
    assert np.count_nonzero(~mask) == round(sparsity * size)
    if mask.any() and (~mask).any():
        assert np.abs(weights[~mask]).max() <= np.abs(weights[mask]).min()


def test_measured_sparsity_counts_zeros_over_all_arrays() -> None:
    assert measured_sparsity([np.array([0.0, 1.0]), np.zeros((2, 3))]) == 7 / 8
    assert measured_sparsity([]) == 0.0
