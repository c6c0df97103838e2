"""The quantile sketch merges, is exact while small, and stays within its error bound."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml import InvalidInputError
from loopml.data._quantiles import QuantileSketch

small = st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), max_size=300)


@settings(max_examples=100, deadline=None)
@given(a=small, b=small)
def test_merging_two_small_sketches_equals_the_sketch_of_both(
    a: list[float], b: list[float]
) -> None:
    # Below k values the sketch is exact, so merge(A, B) and sketch(A + B) must agree exactly.
    merged = QuantileSketch().update(a).merge(QuantileSketch().update(b))
    whole = QuantileSketch().update(a + b)
    assert merged.count == whole.count == len(a) + len(b)
    if a or b:
        ranks = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
        assert merged.quantiles(ranks) == whole.quantiles(ranks)
        values = np.sort(np.array(a + b))
        expected = np.quantile(values, [0.5], method="inverted_cdf")[0]
        assert merged.quantiles([0.5])[0] == expected


def test_a_large_merge_stays_within_twice_the_documented_rank_error() -> None:
    rng = np.random.default_rng(1)
    first, second = rng.normal(size=500_000), rng.exponential(size=500_000)
    merged = QuantileSketch().update(first).merge(QuantileSketch().update(pa.array(second)))
    assert not merged.is_exact and merged.count == 1_000_000
    every = np.sort(np.concatenate([first, second]))
    grid = np.quantile(every, np.linspace(0.01, 0.99, 50))
    estimated = np.array(merged.cdf(list(grid))[:-1])
    exact = np.searchsorted(every, grid, side="right") / every.size
    assert np.abs(estimated - exact).max() <= 2 * merged.rank_error


def test_missing_values_and_infinities_are_skipped() -> None:
    sketch = QuantileSketch().update([1.0, None, float("nan"), float("inf"), 3.0])
    assert sketch.count == 2
    assert (sketch.minimum, sketch.maximum) == (1.0, 3.0)


def test_a_sketch_survives_serialisation_and_merging_leaves_inputs_alone() -> None:
    a = QuantileSketch().update(range(100))
    b = QuantileSketch().update(range(100, 150))
    merged = a.merge(b)
    assert a.count == 100 and b.count == 50 and merged.count == 150
    again = QuantileSketch.from_bytes(merged.to_bytes())
    assert again.quantiles([0.5]) == merged.quantiles([0.5])


def test_an_empty_sketch_has_no_quantiles_and_says_why() -> None:
    with pytest.raises(InvalidInputError, match="no finite values"):
        QuantileSketch().update([None, float("inf")]).quantiles([0.5])
