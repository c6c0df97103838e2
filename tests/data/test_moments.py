"""Moments merge exactly: merge(moments(A), moments(B)) == moments(A + B)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml.data._moments import Moments

numbers = st.lists(
    st.one_of(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        st.just(math.nan),
        st.just(math.inf),
        st.just(-math.inf),
    ),
    max_size=50,
)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=200, deadline=None)
@given(a=numbers, b=numbers)
def test_merging_two_batches_equals_the_moments_of_both(a: list[float], b: list[float]) -> None:
    merged = Moments.of(a).merge(Moments.of(b))
    whole = Moments.of(a + b)
    assert (merged.count, merged.missing, merged.pos_inf, merged.neg_inf) == (
        whole.count,
        whole.missing,
        whole.pos_inf,
        whole.neg_inf,
    )
    assert merged.minimum == whole.minimum and merged.maximum == whole.maximum
    assert _close(merged.mean, whole.mean)
    assert _close(merged.variance, whole.variance)


@settings(max_examples=50, deadline=None)
@given(a=numbers, b=numbers, c=numbers)
def test_merging_is_associative(a: list[float], b: list[float], c: list[float]) -> None:
    left = Moments.of(a).merge(Moments.of(b)).merge(Moments.of(c))
    right = Moments.of(a).merge(Moments.of(b).merge(Moments.of(c)))
    assert left.count == right.count
    assert _close(left.mean, right.mean) and _close(left.variance, right.variance)


def test_the_statistics_match_numpy() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(5.0, 2.0, 10_000)
    chunks = [Moments.of(part) for part in np.array_split(values, 7)]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged.merge(chunk)
    assert math.isclose(merged.mean, values.mean(), rel_tol=1e-12)
    assert merged.variance is not None
    assert math.isclose(merged.variance, values.var(ddof=1), rel_tol=1e-10)
    assert merged.population_std is not None
    assert math.isclose(merged.population_std, values.std(), rel_tol=1e-10)


def test_nulls_nan_and_infinities_are_counted_apart() -> None:
    moments = Moments.of(pa.array([1.0, None, float("nan"), float("inf"), -float("inf"), 3.0]))
    assert (moments.count, moments.missing, moments.pos_inf, moments.neg_inf) == (2, 2, 1, 1)
    assert moments.total == 6
    assert (moments.minimum, moments.maximum, moments.mean) == (1.0, 3.0, 2.0)


def test_an_all_missing_or_single_value_column_has_no_variance() -> None:
    assert Moments.of([None, None]).variance is None
    assert Moments.of([4.0]).variance is None and Moments.of([4.0]).std is None
    assert Moments.of([4.0, 4.0]).variance == 0.0  # zero variance is a value, not an error
