"""The numpy HyperLogLog: accurate over the whole range, and merging is exactly the union."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml.data._hll import DEFAULT_P, DistinctSketch

STANDARD_ERROR = 1.04 / math.sqrt(1 << DEFAULT_P)  # 0.8 % at p = 14

floats = st.lists(st.floats(allow_nan=False), max_size=200)


def _error_in_standard_errors(estimate: float, n: int) -> float:
    return (estimate - n) / n / STANDARD_ERROR


@pytest.mark.parametrize(
    "n", [10, 100, 1_000, 10_000, 30_000, 42_000, 60_000, 100_000, 300_000, 1_000_000]
)
def test_the_estimate_is_within_three_standard_errors_from_ten_to_a_million(n: int) -> None:
    values = np.random.default_rng(n).random(n)
    sketch = DistinctSketch().update(values)
    assert sketch.relative_error == pytest.approx(STANDARD_ERROR)
    assert abs(_error_in_standard_errors(sketch.estimate(), n)) <= 3


@pytest.mark.parametrize("n", [42_000, 45_000])
def test_the_estimate_is_unbiased_where_linear_counting_hands_over(n: int) -> None:
    # Averaged over 20 seeds the error of an unbiased estimator is within a fraction of one
    # standard error; a systematic bias past 2.5 * 2**p (raw HLL) shows up as a mean error of
    # several standard errors.
    errors = [
        _error_in_standard_errors(
            DistinctSketch().update(np.random.default_rng(seed).random(n)).estimate(), n
        )
        for seed in range(20)
    ]
    assert abs(float(np.mean(errors))) <= 1.0


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 20, 50, 100, 200])
def test_small_counts_are_nearly_exact(n: int) -> None:
    # Linear counting on 16,384 registers: a handful of values all land in distinct registers.
    for values in (np.arange(n, dtype=np.float64), np.random.default_rng(n).normal(size=n)):
        estimate = DistinctSketch().update(values).estimate()
        assert abs(estimate - n) <= max(0.5, 0.01 * n)


def test_repeated_values_count_once_and_an_empty_sketch_estimates_zero() -> None:
    values = np.random.default_rng(3).random(500)
    once = DistinctSketch().update(values)
    many = DistinctSketch().update(np.concatenate([values] * 5)).update(values[:100])
    assert once == many
    assert DistinctSketch().estimate() == 0.0
    assert DistinctSketch().update(np.array([])).estimate() == 0.0


@settings(max_examples=200, deadline=None)
@given(a=floats, b=floats)
def test_merging_two_sketches_equals_the_sketch_of_both(a: list[float], b: list[float]) -> None:
    left = DistinctSketch().update(np.array(a, dtype=np.float64))
    right = DistinctSketch().update(np.array(b, dtype=np.float64))
    before = (left.registers.copy(), right.registers.copy())
    merged = left.merge(right)
    whole = DistinctSketch().update(np.array(a + b, dtype=np.float64))
    assert merged == whole
    assert np.array_equal(merged.registers, whole.registers)
    assert merged.estimate() == whole.estimate()
    # neither input changes
    assert np.array_equal(left.registers, before[0])
    assert np.array_equal(right.registers, before[1])


def test_merging_is_commutative_and_associative() -> None:
    rng = np.random.default_rng(7)
    a, b, c = (DistinctSketch().update(rng.random(5_000)) for _ in range(3))
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


def test_minus_zero_is_the_same_value_as_zero() -> None:
    assert DistinctSketch().update(np.array([-0.0])) == DistinctSketch().update(np.array([0.0]))
    both = DistinctSketch().update(np.array([0.0, -0.0, 0.0]))
    assert round(both.estimate()) == 1


def test_a_sketch_survives_bytes() -> None:
    sketch = DistinctSketch().update(np.random.default_rng(5).normal(size=10_000))
    data = sketch.to_bytes()
    assert len(data) == 1 + (1 << DEFAULT_P)
    again = DistinctSketch.from_bytes(data)
    assert again == sketch
    assert again.p == sketch.p and again.estimate() == sketch.estimate()
    small = DistinctSketch(6).update(np.arange(10.0))
    assert DistinctSketch.from_bytes(small.to_bytes()) == small


def test_bytes_of_the_wrong_length_are_refused() -> None:
    data = DistinctSketch().to_bytes()
    with pytest.raises(ValueError, match="wrong number of registers"):
        DistinctSketch.from_bytes(data[:-1])


def test_sketches_of_different_sizes_refuse_to_merge() -> None:
    with pytest.raises(ValueError, match="different sizes"):
        DistinctSketch(12).merge(DistinctSketch(14))
    assert DistinctSketch(12) != DistinctSketch(14)


@pytest.mark.parametrize("p", [3, 19])
def test_a_precision_out_of_range_is_refused(p: int) -> None:
    with pytest.raises(ValueError, match="between 4 and 18"):
        DistinctSketch(p)
