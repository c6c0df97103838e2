"""Exact drift statistics equal scipy's to 1e-9 and reproduce Evidently 0.7.23's values."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from loopml import InvalidInputError
from loopml.data import _exact_stats as es

RTOL = 1e-9
SQRT_LN2 = math.sqrt(math.log(2))


def _close(a: float, b: float, rel: float = RTOL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def _counts(ref: Any, cur: Any) -> tuple[np.ndarray, np.ndarray]:
    _, r, c = es.align(es.category_counts(ref), es.category_counts(cur))
    return r, c


# ------------------------------------------------------------------------- Evidently goldens


def _frames(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """docs/design/data-phase.md §3's generator, column by column (same draws, no pandas)."""
    rng = np.random.default_rng(seed)
    ref = {
        "a": rng.normal(0, 1, n),
        "b": rng.normal(5, 2, n),
        "few": rng.integers(0, 4, n).astype(float),
        "cat": rng.choice(["x", "y", "z"], n),
        "bin": rng.choice(["p", "q"], n),
    }
    rng = np.random.default_rng(seed + 1)
    cur = {
        "a": rng.normal(0.5, 1, n),
        "b": rng.normal(5, 2, n),
        "few": rng.integers(0, 4, n).astype(float),
        "cat": rng.choice(["x", "y", "z"], n, p=[0.6, 0.2, 0.2]),
        "bin": rng.choice(["p", "q"], n),
    }
    return ref, cur


# Evidently 0.7.23's ValueDrift values on those frames, keyed "rows/method" (None = auto rule).
GOLDEN: dict[str, dict[str, float]] = {
    "1000/None": {
        "a": 7.7335939682735e-21,
        "b": 0.8881734182535203,
        "few": 0.9309475481085141,
        "cat": 2.152477042254166e-65,
        "bin": 0.11744396832819382,
    },
    "1001/None": {
        "a": 0.5043734275798826,
        "b": 0.04597080065856485,
        "few": 0.006835893972735939,
        "cat": 0.18296474197547216,
        "bin": 0.02190453869730971,
    },
    "1001/psi": {
        "a": 0.25210230371924036,
        "b": 0.011188237551683109,
        "few": 0.000373846012942703,
        "cat": 0.2711071083073173,
        "bin": 0.003839085692384772,
    },
    "1001/ks": {"a": 8.111278009309733e-21, "b": 0.8885254074822251, "few": 1.0},
}


def _js_of_counts(ref: Any, cur: Any) -> float:
    r, c = _counts(ref, cur)
    return es.jensenshannon(es.shares(r), es.shares(c))


def _psi_of_counts(ref: Any, cur: Any) -> float:
    r, c = _counts(ref, cur)
    return es.psi(es.shares(r), es.shares(c))


def _evidently_value(key: str, column: str) -> float:
    """The statistic Evidently's rule picks for this column (design doc §3's table)."""
    rows, method = key.split("/")
    ref, cur = _frames(int(rows))
    r, c = ref[column], cur[column]
    numerical = column in ("a", "b", "few")
    if method == "ks":
        return es.ks_test(r, c)[1]
    if method == "psi":
        return es.psi(*es.numeric_bins(r, c)[1:3]) if numerical else _psi_of_counts(r, c)
    n_values = len(set(es.category_counts(r)) | set(es.category_counts(c)))
    if int(rows) <= 1000:  # K-S for many-valued numbers, else chi-square (> 2 values) or Z
        if numerical and n_values > 5:
            return es.ks_test(r, c)[1]
        test = es.chisquare_test if n_values > 2 else es.z_test
        return test(*_counts(r, c))[1]
    if numerical and n_values > 5:  # > 1000 rows: Wasserstein or Jensen-Shannon
        return es.wasserstein_normed(r, c)
    return es.jensenshannon(*es.numeric_bins(r, c)[1:3]) if numerical else _js_of_counts(r, c)


@pytest.mark.parametrize(
    ("key", "column"), [(key, column) for key, values in GOLDEN.items() for column in values]
)
def test_evidently_golden_values_are_reproduced_to_1e9(key: str, column: str) -> None:
    assert _close(_evidently_value(key, column), GOLDEN[key][column])


# ------------------------------------------------------------------------------- cleaning


def test_finite_drops_nan_none_and_infinities_from_lists_numpy_and_arrow() -> None:
    expected = [1.0, 2.0, 3.0]
    assert es.finite([1, None, math.nan, 2, math.inf, -math.inf, 3]).tolist() == expected
    assert es.finite(np.array([1.0, np.nan, 2.0, np.inf, 3.0])).tolist() == expected
    assert es.finite(pa.array([1, None, 2, 3])).tolist() == expected
    assert es.finite(pa.chunked_array([[1.0, None], [math.nan, 2.0, 3.0]])).tolist() == expected
    assert es.finite(pa.array([True, None, False])).tolist() == [1.0, 0.0]
    assert es.finite([]).dtype == np.float64


def test_finite_returns_an_already_clean_float64_array_without_copying() -> None:
    values = np.arange(5, dtype=np.float64)
    assert es.finite(values) is values


def test_nan_and_infinities_are_dropped_before_every_numeric_statistic() -> None:
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(size=300), rng.normal(0.2, 1, 400)
    dirty_ref = np.concatenate((ref, [np.nan, np.inf, -np.inf]))
    dirty_cur = np.concatenate(([np.nan, -np.inf], cur, [np.inf]))
    assert es.ks_and_wasserstein(dirty_ref, dirty_cur) == es.ks_and_wasserstein(ref, cur)
    dirty_bins = es.numeric_bins(dirty_ref, dirty_cur)
    clean_bins = es.numeric_bins(ref, cur)
    for dirty, clean in zip(dirty_bins[:3], clean_bins[:3], strict=True):
        np.testing.assert_array_equal(dirty, clean)


@pytest.mark.parametrize(
    "function", [es.ks_test, es.wasserstein_normed, es.ks_and_wasserstein, es.numeric_bins]
)
def test_a_side_left_empty_after_cleaning_raises_naming_the_side(function: Any) -> None:
    with pytest.raises(InvalidInputError, match="the reference side has no finite values"):
        function([math.nan, math.inf, None], [1.0, 2.0])
    with pytest.raises(InvalidInputError, match="the current side has no finite values"):
        function([1.0, 2.0], [])


# ------------------------------------------------------------- Kolmogorov-Smirnov, Wasserstein

SIZES = [
    (1, 1),
    (5, 7),
    (100, 80),
    (1000, 1001),
    (10_000, 10_000),
    (10_001, 500),
    (20_000, 15_000),
    (60_000, 45_000),
]


@pytest.mark.parametrize(("n1", "n2"), SIZES)
def test_ks_matches_scipy_on_random_samples(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1 + n2)
    ref, cur = rng.normal(0, 1, n1), rng.normal(0.03, 1.1, n2)
    d, p = es.ks_test(ref, cur)
    expected = stats.ks_2samp(ref, cur)
    assert d == pytest.approx(expected.statistic, rel=RTOL)
    assert _close(p, expected.pvalue)


@pytest.mark.parametrize(("n1", "n2"), SIZES)
def test_ks_matches_scipy_on_tied_data(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1 * 7 + n2)
    ref = rng.integers(0, 6, n1).astype(float)
    cur = rng.integers(0, 7, n2).astype(float)
    d, p = es.ks_test(ref, cur)
    expected = stats.ks_2samp(ref, cur)
    assert d == pytest.approx(expected.statistic, rel=RTOL)
    assert _close(p, expected.pvalue)


def test_ks_matches_scipy_when_the_p_value_is_tiny_on_large_samples() -> None:
    rng = np.random.default_rng(11)
    ref, cur = rng.normal(0, 1, 30_000), rng.normal(0.1, 1, 25_000)
    d, p = es.ks_test(ref, cur)
    expected = stats.ks_2samp(ref, cur)
    assert 0 < p < 1e-10
    assert d == expected.statistic
    assert _close(p, expected.pvalue)


def test_ks_returns_scipys_asymptotic_fallback_without_its_warning() -> None:
    ref, cur = [0.0] * 7, [0.0] * 6 + [1.0]
    with pytest.warns(RuntimeWarning, match="Exact calculation unsuccessful"):
        expected = stats.ks_2samp(ref, cur)
    assert es.ks_test(ref, cur) == (expected.statistic, expected.pvalue)


def _scipy_wasserstein_normed(ref: np.ndarray, cur: np.ndarray) -> float:
    return float(stats.wasserstein_distance(ref, cur)) / max(float(np.std(ref)), 0.001)


@pytest.mark.parametrize(("n1", "n2"), SIZES)
@pytest.mark.parametrize("tied", [False, True])
def test_wasserstein_matches_scipy_to_1e12(n1: int, n2: int, tied: bool) -> None:
    rng = np.random.default_rng(n1 + 3 * n2)
    ref, cur = rng.normal(0, 1, n1), rng.normal(0.2, 2, n2)
    if tied:
        ref, cur = np.round(ref), np.round(cur)
    got = es.wasserstein_normed(ref, cur)
    assert got == pytest.approx(_scipy_wasserstein_normed(ref, cur), rel=1e-12)


def test_ks_and_wasserstein_equals_the_two_separate_functions() -> None:
    rng = np.random.default_rng(5)
    for n1, n2 in [(50, 70), (12_000, 11_000)]:
        ref, cur = rng.normal(size=n1), rng.standard_t(3, size=n2)
        d, p, w = es.ks_and_wasserstein(ref, cur)
        assert (d, p) == es.ks_test(ref, cur)
        assert w == es.wasserstein_normed(ref, cur)


def test_a_constant_reference_is_normalised_by_the_std_floor() -> None:
    ref, cur = np.full(50, 3.0), np.full(40, 3.5)
    assert es.wasserstein_normed(ref, cur) == pytest.approx(0.5 / 0.001, rel=1e-12)
    assert es.wasserstein_normed(ref, cur) == pytest.approx(
        _scipy_wasserstein_normed(ref, cur), rel=1e-12
    )


def test_identical_samples_show_no_drift() -> None:
    values = np.random.default_rng(2).normal(size=20_000)
    d, p, w = es.ks_and_wasserstein(values, values.copy())
    assert (d, p, w) == (0.0, 1.0, 0.0)


def test_ks_and_wasserstein_accept_arrow_input() -> None:
    rng = np.random.default_rng(9)
    ref, cur = rng.normal(size=200), rng.normal(size=150)
    arrow = es.ks_and_wasserstein(pa.array(ref), pa.chunked_array([cur[:50], cur[50:]]))
    assert arrow == es.ks_and_wasserstein(ref, cur)


samples = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)
tied_samples = st.lists(st.integers(min_value=-3, max_value=3).map(float), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(a=st.one_of(samples, tied_samples), b=st.one_of(samples, tied_samples))
def test_the_one_pass_merge_gives_scipys_w1_and_ks_statistic(
    a: list[float], b: list[float]
) -> None:
    w1, d = es._merged_gaps(np.sort(a), np.sort(b))
    assert math.isclose(w1, stats.wasserstein_distance(a, b), rel_tol=1e-12)
    # method="asymp" leaves D unrounded (the exact method snaps it to the lattice 1/lcm); its
    # p-value for one value a side divides by zero, which does not matter here.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        expected = stats.ks_2samp(a, b, method="asymp").statistic
    assert d == expected


@settings(max_examples=150, deadline=None)
@given(a=st.one_of(samples, tied_samples), b=st.one_of(samples, tied_samples))
def test_ks_statistic_and_p_value_lie_in_the_unit_interval(a: list[float], b: list[float]) -> None:
    d, p = es.ks_test(a, b)
    assert 0.0 <= d <= 1.0
    assert 0.0 <= p <= 1.0


@settings(max_examples=150, deadline=None)
@given(a=samples, b=samples)
def test_w1_is_symmetric_once_the_normalisation_is_undone(a: list[float], b: list[float]) -> None:
    forward = es.wasserstein_normed(a, b) * max(float(np.std(a)), 0.001)
    backward = es.wasserstein_normed(b, a) * max(float(np.std(b)), 0.001)
    assert forward >= 0.0
    assert math.isclose(forward, backward, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=100, deadline=None)
@given(a=samples, shift=st.floats(min_value=-1e3, max_value=1e3))
def test_w1_of_a_shifted_copy_is_the_shift(a: list[float], shift: float) -> None:
    ref = np.array(a)
    w1 = es.wasserstein_normed(ref, ref + shift) * max(float(np.std(ref)), 0.001)
    assert math.isclose(w1, abs(shift), rel_tol=1e-6, abs_tol=1e-6)


# ----------------------------------------------------------------------------- binning


def test_numeric_bins_uses_sturges_edges_when_the_reference_has_more_than_20_values() -> None:
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(size=2_000), rng.normal(1, 2, 1_500)
    edges, r, c, keys = es.numeric_bins(ref, cur)
    expected_edges = np.histogram_bin_edges(np.concatenate((ref, cur)), bins="sturges")
    assert edges is not None
    np.testing.assert_array_equal(edges, expected_edges)
    np.testing.assert_array_equal(r, np.histogram(ref, expected_edges)[0] / ref.size)
    np.testing.assert_array_equal(c, np.histogram(cur, expected_edges)[0] / cur.size)
    assert len(edges) - 1 == math.ceil(math.log2(3_500) + 1)
    assert keys == []


def test_numeric_bins_counts_values_when_the_reference_has_at_most_20_values() -> None:
    ref = np.array([float(v) for v in range(20)] * 2 + [0.0])
    cur = np.array([1.0, 1.0, 25.0, 30.0])
    edges, r, c, keys = es.numeric_bins(ref, cur)
    assert edges is None
    assert keys == [float(v) for v in range(20)] + [25.0, 30.0]
    assert r[0] == 3 / 41 and r[1] == 2 / 41 and r[-1] == 0.0
    assert c.tolist() == [0.0, 0.5] + [0.0] * 18 + [0.25, 0.25]


values_on_edges = st.lists(
    st.integers(min_value=0, max_value=60).map(lambda v: v / 4), min_size=1, max_size=200
)


@settings(max_examples=100, deadline=None)
@given(a=values_on_edges, b=values_on_edges)
def test_numeric_bins_histograms_equal_numpys_even_for_values_on_the_edges(
    a: list[float], b: list[float]
) -> None:
    edges, r, c, _ = es.numeric_bins(a, b)
    if edges is None:
        return
    np.testing.assert_array_equal(r, np.histogram(a, edges)[0] / len(a))
    np.testing.assert_array_equal(c, np.histogram(b, edges)[0] / len(b))


# --------------------------------------------------------------------------- share distances


def test_jensenshannon_matches_scipy_spatial() -> None:
    rng = np.random.default_rng(6)
    for size in (2, 3, 12, 40):
        r, c = rng.random(size), rng.random(size)
        r[0] = 0.0
        expected = float(distance.jensenshannon(r, c))
        assert _close(es.jensenshannon(r, c), expected, rel=1e-12)


def test_jensenshannon_is_zero_for_equal_shares_and_sqrt_ln2_for_disjoint_ones() -> None:
    assert es.jensenshannon([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    assert es.jensenshannon([1.0, 0.0], [0.0, 1.0]) == pytest.approx(SQRT_LN2, rel=1e-15)


share_vectors = st.integers(min_value=1, max_value=12).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(min_value=0, max_value=1e3), min_size=k, max_size=k).filter(
            lambda v: sum(v) > 0
        ),
        st.lists(st.floats(min_value=0, max_value=1e3), min_size=k, max_size=k).filter(
            lambda v: sum(v) > 0
        ),
    )
)


@settings(max_examples=200, deadline=None)
@given(pair=share_vectors)
def test_jensenshannon_lies_between_zero_and_sqrt_ln2(
    pair: tuple[list[float], list[float]],
) -> None:
    value = es.jensenshannon(*pair)
    assert 0.0 <= value <= SQRT_LN2 * (1 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(pair=share_vectors)
def test_psi_and_linf_are_never_negative(pair: tuple[list[float], list[float]]) -> None:
    r, c = (np.array(v) / sum(v) for v in pair)
    assert es.psi(r, c) >= 0.0
    assert 0.0 <= es.linf(r, c) <= 1.0


def test_fill_zeroes_follows_evidently() -> None:
    assert es.fill_zeroes([0.0, 0.5, 0.5]).tolist() == [0.0001, 0.5, 0.5]
    assert es.fill_zeroes([0.0, 0.00005, 0.99995]).tolist() == [0.00005 / 10**6, 0.00005, 0.99995]
    assert es.fill_zeroes([0.0, 0.0]).tolist() == [0.0001, 0.0001]
    shares = np.array([0.0, 1.0])
    es.fill_zeroes(shares)
    assert shares.tolist() == [0.0, 1.0]  # the input is left alone


def test_psi_is_evidentlys_sum_over_zero_filled_shares() -> None:
    r, c = np.array([0.0, 0.25, 0.75]), np.array([0.5, 0.5, 0.0])
    rf, cf = es.fill_zeroes(r), es.fill_zeroes(c)
    expected = float(np.sum((rf - cf) * np.log(rf / cf)))
    assert es.psi(r, c) == expected
    assert es.psi([0.3, 0.7], [0.3, 0.7]) == 0.0


def test_linf_is_the_largest_share_difference() -> None:
    assert es.linf([0.2, 0.3, 0.5], [0.5, 0.3, 0.2]) == pytest.approx(0.3)


def test_share_vectors_that_do_not_line_up_are_refused() -> None:
    for function in (es.jensenshannon, es.psi, es.linf):
        with pytest.raises(InvalidInputError, match="line up"):
            function([0.5, 0.5], [1.0])
        with pytest.raises(InvalidInputError, match="non-negative"):
            function([1.5, -0.5], [0.5, 0.5])


# ---------------------------------------------------------------------- category counts


def test_category_counts_skip_missing_values_for_numpy_arrow_and_lists() -> None:
    assert es.category_counts(np.array(["x", "y", "x"])) == {"x": 2, "y": 1}
    assert es.category_counts(["x", None, "y"]) == {"x": 1, "y": 1}
    assert es.category_counts(pa.array(["x", None, "x"])) == {"x": 2}
    assert es.category_counts(pa.array(["x", None, "y", "x"]).dictionary_encode()) == {
        "x": 2,
        "y": 1,
    }
    chunked = pa.chunked_array([pa.array(["x", None]), pa.array(["y", "x"])])
    assert es.category_counts(chunked) == {"x": 2, "y": 1}
    assert es.category_counts(np.array([True, False, True])) == {True: 2, False: 1}


def test_category_counts_of_floats_drop_nan_and_infinities_and_merge_signed_zeros() -> None:
    values = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0])
    assert es.category_counts(values) == {0.0: 2, 1.0: 1}
    assert es.category_counts(pa.array([1.0, math.nan, None, math.inf])) == {1.0: 1}


def test_category_counts_fall_back_to_python_for_mixed_objects() -> None:
    mixed = np.array(["a", 1, None, math.nan, math.inf, "a"], dtype=object)
    assert es.category_counts(mixed) == {"a": 2, 1: 1}


def test_align_sorts_the_union_of_keys_and_fills_missing_counts_with_zero() -> None:
    keys, r, c = es.align({"b": 2, "a": 1, "gone": 0}, {"c": 3, "a": 0})
    assert keys == ["a", "b", "c"]
    assert r.tolist() == [1, 2, 0]
    assert c.tolist() == [0, 0, 3]


def test_align_orders_incomparable_keys_numbers_first_then_by_type() -> None:
    keys, r, c = es.align({"b": 1, 2: 1}, {1.5: 2, "a": 1})
    assert keys == [1.5, 2, "a", "b"]
    assert r.tolist() == [0, 1, 0, 1] and c.tolist() == [2, 0, 1, 0]


# ------------------------------------------------------------------------ chi-square and Z


def test_chisquare_matches_scipy_on_random_counts() -> None:
    rng = np.random.default_rng(8)
    for k in (2, 3, 7, 30):
        r, c = rng.integers(1, 500, k), rng.integers(0, 500, k)
        stat, p = es.chisquare_test(r, c)
        expected = stats.chisquare(c, r * (c.sum() / r.sum()))
        assert _close(stat, expected.statistic)
        assert _close(p, expected.pvalue)


def test_chisquare_with_a_category_only_in_current_gives_infinite_statistic_like_scipy() -> None:
    keys, r, c = es.align({"x": 10, "y": 5}, {"x": 3, "y": 4, "z": 2})
    assert keys == ["x", "y", "z"]
    with pytest.warns(RuntimeWarning, match="divide by zero"):  # scipy warns; we do not
        expected = stats.chisquare(c, r * (c.sum() / r.sum()))
    assert (expected.statistic, expected.pvalue) == (math.inf, 0.0)
    assert es.chisquare_test(r, c) == (math.inf, 0.0)


def test_chisquare_with_a_category_only_in_reference_is_finite() -> None:
    _, r, c = es.align({"x": 10, "y": 5, "z": 5}, {"x": 3, "y": 4})
    stat, p = es.chisquare_test(r, c)
    expected = stats.chisquare(c, r * (c.sum() / r.sum()))
    assert _close(stat, expected.statistic) and _close(p, expected.pvalue)


def test_chisquare_with_one_shared_category_reports_no_drift() -> None:
    # scipy's df = 0 gives nan here (or 0.0 when f_exp rounds off n_cur); we say "no drift".
    assert es.chisquare_test([3], [7]) == (0.0, 1.0)
    assert es.chisquare_test([3, 0], [7, 0]) == (0.0, 1.0)


def _evidently_z(ref: list[str], cur: list[str]) -> float:
    """z_stattest.py, written out: indicator "value != sorted(keys)[0]", pooled z, norm.cdf."""
    first = sorted(set(ref) | set(cur))[0]
    a = [0 if v == first else 1 for v in ref]
    b = [0 if v == first else 1 for v in cur]
    n1, n2 = len(a), len(b)
    p1, p2 = float(sum(a)) / n1, float(sum(b)) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(z))))


@pytest.mark.parametrize("seed", range(5))
def test_z_matches_evidentlys_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.choice(["p", "q"], 300, p=[0.5, 0.5]).tolist()
    cur = rng.choice(["p", "q"], 250, p=[0.45, 0.55]).tolist()
    z, p = es.z_test(*_counts(ref, cur))
    expected = _evidently_z(ref, cur)
    assert math.isclose(p, expected, rel_tol=RTOL, abs_tol=1e-15)
    assert p == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)


def test_z_with_the_same_single_value_on_both_sides_has_p_one() -> None:
    assert es.z_test(*_counts(["p", "p"], ["p"])) == (0.0, 1.0)


def test_z_with_different_single_values_on_each_side_is_decisive() -> None:
    z, p = es.z_test(*_counts(["p"] * 40, ["q"] * 30))
    assert z == pytest.approx(-math.sqrt(70), rel=1e-12)  # P = 3/7 and p1 - p2 = -1
    # Evidently's 2 * (1 - norm.cdf(8.37)) rounds to 0.0; 2 * ndtr(-8.37) keeps the tail.
    assert _evidently_z(["p"] * 40, ["q"] * 30) == 0.0
    assert p == pytest.approx(2 * stats.norm.sf(math.sqrt(70)), rel=1e-12)
    assert 0 < p < 4e-16


def test_counts_with_an_empty_side_or_that_do_not_line_up_are_refused() -> None:
    for function in (es.chisquare_test, es.z_test):
        with pytest.raises(InvalidInputError, match="the current side has no values"):
            function([3, 4], [0, 0])
        with pytest.raises(InvalidInputError, match="the reference side has no values"):
            function([], [])
        with pytest.raises(InvalidInputError, match="line up"):
            function([3, 4], [1])


# ------------------------------------------------------------------------------- imports


def test_only_the_ks_p_value_imports_scipy_stats() -> None:
    script = """
import sys
import numpy as np
from loopml.data import _exact_stats as es
rng = np.random.default_rng(0)
a, b = rng.normal(size=3000), rng.normal(size=2000)
es.wasserstein_normed(a, b)
es.jensenshannon(*es.numeric_bins(a, b)[1:3])
es.psi(*es.numeric_bins(a, b)[1:3])
_, r, c = es.align(es.category_counts(["x", "y", "z"]), es.category_counts(["x", "z"]))
es.chisquare_test(r, c); es.z_test(r[:2], c[:2]); es.linf(r / 3, c / 2)
assert "scipy.stats" not in sys.modules, "scipy.stats imported"
assert "scipy.spatial" not in sys.modules, "scipy.spatial imported"
es.ks_test(a, b)
assert "scipy.stats" in sys.modules
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
