"""Profiles merge: profile(A).merge(profile(B)) equals profile(A + B), and they survive bytes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopml
from loopml import InvalidInputError
from loopml.data._profile import ColumnProfile, Profile, ProfileBuilder, profile

RANKS = [0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0]

# -- helpers ---------------------------------------------------------------------------------


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _assert_same_column(merged: ColumnProfile, whole: ColumnProfile) -> None:
    """Everything that must agree exactly (moments up to rounding, sketches while exact)."""
    name = whole.name
    assert (merged.name, merged.type, merged.family) == (whole.name, whole.type, whole.family)
    assert (merged.rows, merged.missing, merged.present) == (
        whole.rows,
        whole.missing,
        whole.present,
    )
    assert merged.counts == whole.counts, name
    assert merged.exact_counts == whole.exact_counts
    if whole.moments is None:
        assert merged.moments is None
    else:
        m, w = merged.moments, whole.moments
        assert m is not None
        assert (m.count, m.missing, m.pos_inf, m.neg_inf) == (
            w.count,
            w.missing,
            w.pos_inf,
            w.neg_inf,
        )
        assert (m.minimum, m.maximum) == (w.minimum, w.maximum)
        assert _close(m.mean, w.mean), (m.mean, w.mean)
        assert _close(m.variance, w.variance), (m.variance, w.variance)
    if whole.distinct_sketch is None:
        assert merged.distinct_sketch is None
    else:
        assert merged.distinct_sketch == whole.distinct_sketch
    if whole.quantiles is None:
        assert merged.quantiles is None
    else:
        assert merged.quantiles is not None
        assert merged.quantiles.count == whole.quantiles.count
        if whole.quantiles.count:
            assert whole.quantiles.is_exact and merged.quantiles.is_exact
            assert merged.quantiles.quantiles(RANKS) == whole.quantiles.quantiles(RANKS)


def _summary_without_floating_rounding(column: ColumnProfile) -> dict[str, object]:
    return {k: v for k, v in column.summary().items() if k not in ("mean", "std")}


def _assert_same_profile(merged: Profile, whole: Profile) -> None:
    assert merged.rows == whole.rows
    assert merged.column_names == whole.column_names
    assert merged.spec == whole.spec
    for name in whole.column_names:
        _assert_same_column(merged[name], whole[name])
        assert _summary_without_floating_rounding(merged[name]) == (
            _summary_without_floating_rounding(whole[name])
        )
        for key in ("mean", "std"):
            assert _close(merged[name].summary().get(key), whole[name].summary().get(key))


finite_or_not = st.one_of(
    # -0.0 becomes 0.0 here: test_minus_zero_is_counted_as_zero covers it on its own
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: x + 0.0),
    st.just(math.nan),
    st.just(math.inf),
    st.just(-math.inf),
)
integers = st.one_of(st.integers(-5, 5), st.integers(-(10**12), 10**12))
texts = st.one_of(st.none(), st.text(alphabet="abc", max_size=3), st.text(max_size=8))


@st.composite
def frames_and_split(draw: st.DrawFn, max_rows: int = 300) -> tuple[pd.DataFrame, int]:
    """A frame of float (NaN, inf), int, text (nulls) and bool columns, and a split point."""
    n = draw(st.integers(0, max_rows))
    frame = pd.DataFrame(
        {
            "f": pd.Series(draw(st.lists(finite_or_not, min_size=n, max_size=n)), dtype="float64"),
            "i": pd.Series(draw(st.lists(integers, min_size=n, max_size=n)), dtype="int64"),
            "s": pd.Series(draw(st.lists(texts, min_size=n, max_size=n)), dtype="str"),
            "b": pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype="bool"),
        }
    )
    return frame, draw(st.integers(0, n))


def _skewed_words(n: int, distinct: int, seed: int) -> list[str]:
    ranks = np.random.default_rng(seed).zipf(1.3, n) % distinct
    return [f"w{r}" for r in ranks]


# -- the core property -----------------------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(data=frames_and_split())
def test_merging_the_profiles_of_two_parts_equals_the_profile_of_the_whole(
    data: tuple[pd.DataFrame, int],
) -> None:
    # At most 300 rows: below k = 800 the KLL sketches are exact, so quantiles agree exactly.
    frame, split = data
    merged = profile(frame.iloc[:split]).merge(profile(frame.iloc[split:]))
    _assert_same_profile(merged, profile(frame))


@settings(max_examples=80, deadline=None)
@given(data=frames_and_split(max_rows=120), cap=st.integers(1, 12))
def test_the_property_holds_when_the_parts_or_the_whole_pass_the_cap(
    data: tuple[pd.DataFrame, int], cap: int
) -> None:
    frame, split = data
    merged = profile(frame.iloc[:split], cap=cap).merge(profile(frame.iloc[split:], cap=cap))
    whole = profile(frame, cap=cap)
    for name in ("f", "i", "b"):
        _assert_same_column(merged[name], whole[name])
    text, expected = merged["s"], whole["s"]
    assert (text.rows, text.missing, text.counts) == (
        expected.rows,
        expected.missing,
        expected.counts,
    )
    if expected.counts is None:
        # Fewer than 768 distinct values: the frequent-items sketch still counts exactly.
        assert dict(text.top(1_000)) == dict(expected.top(1_000))
        assert text.distinct == pytest.approx(expected.distinct, rel=0.02, abs=1)


@settings(max_examples=40, deadline=None)
@given(data=frames_and_split(max_rows=200), second=st.integers(0, 200))
def test_merging_is_associative_and_commutative(
    data: tuple[pd.DataFrame, int], second: int
) -> None:
    frame, first = data
    second = first + second % (len(frame) - first + 1)
    a, b, c = (
        profile(part)
        for part in (frame.iloc[:first], frame.iloc[first:second], frame.iloc[second:])
    )
    _assert_same_profile(a.merge(b).merge(c), a.merge(b.merge(c)))
    _assert_same_profile(a.merge(b), b.merge(a))
    _assert_same_profile(c.merge(a).merge(b), profile(frame))


def test_merging_leaves_both_profiles_unchanged() -> None:
    first = profile(pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]}))
    second = profile(pd.DataFrame({"x": [3.0], "s": ["a"]}))
    before = (first.summary(), second.summary())
    merged = first.merge(second)
    assert (first.summary(), second.summary()) == before
    assert merged.rows == 3 and merged["s"].counts == {"a": 2, "b": 1}


def test_a_large_merge_stays_within_twice_the_documented_rank_error() -> None:
    rng = np.random.default_rng(11)
    first, second = rng.normal(0, 1, 500_000), rng.normal(0.5, 2, 500_000)
    merged = profile(pd.DataFrame({"x": first})).merge(profile(pd.DataFrame({"x": second})))
    whole = profile(pd.DataFrame({"x": np.concatenate([first, second])}))
    column = merged["x"]
    assert column.rows == 1_000_000 and column.quantiles is not None
    assert not column.quantiles.is_exact
    every = np.sort(np.concatenate([first, second]))
    grid = np.quantile(every, np.linspace(0.01, 0.99, 99))
    estimated = np.array(column.quantiles.cdf(list(grid))[:-1])
    exact = np.searchsorted(every, grid, side="right") / every.size
    assert np.abs(estimated - exact).max() <= 2 * column.quantiles.rank_error
    m = column.moments
    assert m is not None and m.count == 1_000_000
    assert (m.minimum, m.maximum) == (every[0], every[-1])
    assert math.isclose(m.mean, float(every.mean()), rel_tol=1e-9)
    assert m.variance is not None
    assert math.isclose(m.variance, float(every.var(ddof=1)), rel_tol=1e-9)
    assert column.distinct_sketch == whole["x"].distinct_sketch
    assert column.counts is None and whole["x"].counts is None
    assert column.distinct == pytest.approx(1_000_000, rel=3 * 1.04 / 128)


# -- the cap ---------------------------------------------------------------------------------


def test_a_text_column_past_the_cap_switches_to_sketches() -> None:
    words = _skewed_words(200_000, 20_000, seed=1)
    column = profile(pd.DataFrame({"w": words}))["w"]  # cap 1,000
    assert column.counts is None and not column.exact_counts
    assert column.frequent is not None and column.text_distinct is not None
    assert column.distinct == pytest.approx(len(set(words)), rel=0.05)
    expected = Counter(words).most_common(5)
    top = column.top(5)
    assert [word for word, _ in top] == [word for word, _ in expected]
    sketch = column.frequent
    for (word, estimate), (_, count) in zip(top, expected, strict=True):
        assert sketch.get_lower_bound(word) <= count <= sketch.get_upper_bound(word)
        assert abs(estimate - count) <= sketch.epsilon * len(words)
    summary = column.summary()
    assert summary["distinct_exact"] is False
    assert [word for word, _ in summary["top"]] == [word for word, _ in expected]


def test_a_text_column_that_passes_the_cap_part_way_through_keeps_every_value() -> None:
    # The first batch is under the cap; the second pushes it over: the counts so far must be
    # carried into the sketches.
    words = ["early"] * 5_000 + [f"late{i}" for i in range(3_000)]
    table = pa.table({"w": pa.array(words, pa.large_string())})
    builder = ProfileBuilder(table.schema)
    for batch in table.to_batches(max_chunksize=4_000):
        builder.update(batch)
    column = builder.result()["w"]
    assert column.counts is None
    assert column.top(1) == [("early", 5_000)]
    assert column.distinct == pytest.approx(3_001, rel=0.05)


def test_merging_two_profiles_under_the_cap_whose_union_passes_it_switches() -> None:
    first = pd.DataFrame(
        {"s": [f"s{i}" for i in range(60)] + ["hot"] * 50, "x": [i % 60 for i in range(110)]}
    )
    second = pd.DataFrame(
        {
            "s": [f"s{i}" for i in range(40, 100)] + ["hot"] * 30,
            "x": [40 + i % 60 for i in range(90)],
        }
    )
    left, right = profile(first, cap=80), profile(second, cap=80)
    for column in ("s", "x"):
        assert left[column].exact_counts and right[column].exact_counts
    merged = left.merge(right)
    text = merged["s"]
    assert text.counts is None and text.frequent is not None
    assert text.distinct == pytest.approx(101, rel=0.05)
    assert text.top(1) == [("hot", 80)]
    assert dict(text.top(200))["s50"] == 2
    numbers = merged["x"]
    assert numbers.counts is None and numbers.distinct == pytest.approx(100, abs=1)
    _assert_same_column(numbers, profile(pd.concat([first, second]), cap=80)["x"])


def test_a_number_column_past_the_cap_drops_exact_counts() -> None:
    under = profile(pd.DataFrame({"x": [1, 2, 3] * 4}), cap=3)["x"]
    assert under.counts == {1: 4, 2: 4, 3: 4}
    assert under.summary()["top"] == [[1, 4], [2, 4], [3, 4]]
    over = profile(pd.DataFrame({"x": list(range(11))}), cap=10)["x"]
    assert over.counts is None and not over.exact_counts
    assert over.top() == []
    summary = over.summary()
    assert summary["distinct"] == 11 and summary["distinct_exact"] is False
    assert "top" not in summary


def test_minus_zero_is_counted_as_zero() -> None:
    # As in the distinct sketch, -0.0 and 0.0 are one value. If the counts keep the sign of
    # whichever zero came first, the top values (ties ordered by their text) of a merge and of
    # the whole data come out in different orders.
    column = profile(pd.DataFrame({"x": [-0.0, -0.0, 0.0, 1.0]}))["x"]
    assert column.counts == {0.0: 3, 1.0: 1}
    assert [math.copysign(1.0, key) for key in column.counts] == [1.0, 1.0]
    assert repr(column.summary()["top"]) == "[[0.0, 3], [1.0, 1]]"
    merged = profile(pd.DataFrame({"x": [-0.0, -1.0]})).merge(
        profile(pd.DataFrame({"x": [0.0, -1.0]}))
    )["x"]
    assert repr(merged.summary()["top"]) == "[[-1.0, 2], [0.0, 2]]"


def test_a_boolean_column_always_keeps_its_counts() -> None:
    column = profile(pd.DataFrame({"b": [True, False, True]}), cap=1)["b"]
    assert column.counts == {True: 2, False: 1}
    assert column.summary()["top"] == [[True, 2], [False, 1]]


# -- bytes -----------------------------------------------------------------------------------


def _hot_and_unique(n: int) -> list[str]:
    """Five frequent words (200, 150, 120, 100, 80 times), then distinct ones: past the cap."""
    hot = [f"hot{i}" for i, count in enumerate((200, 150, 120, 100, 80)) for _ in range(count)]
    return (hot + [f"u{i}" for i in range(n)])[:n]


def _rich_frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 3_000
    return pd.DataFrame(
        {
            "f": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "inf": np.tile([1.0, np.inf, -np.inf, 2.5], n // 4),
            "i": rng.integers(0, 20, n),
            "wide": rng.integers(0, 10**9, n),
            "s": pd.Series(rng.choice(["a", "b", None], n), dtype="str"),
            "many": _hot_and_unique(n),
            "b": rng.random(n) < 0.3,
            "t": pd.date_range("2024-01-01", periods=n, freq="h").astype("datetime64[us]"),
            "d": [dt.date(2024, 1, 1) + dt.timedelta(days=i % 40) for i in range(n)],
            "none": [None] * n,
        }
    )


def test_a_profile_survives_bytes_with_the_same_summary() -> None:
    original = profile(_rich_frame())
    data = original.to_bytes()
    again = Profile.from_bytes(data)
    assert again.summary() == original.summary()
    assert (again.rows, again.spec, again.source) == (original.rows, original.spec, original.source)
    assert again.column_names == original.column_names
    for name in original.column_names:
        assert again[name].counts == original[name].counts
        assert again[name].distinct_sketch == original[name].distinct_sketch
    assert again["many"].counts is None and again["wide"].counts is None  # both past the cap
    json.loads(data)  # plain JSON


def test_the_top_values_of_text_past_the_cap_do_not_change_through_bytes() -> None:
    # Every value once (an id-like column): the top values are all ties, and the summary must
    # still list the same ones after a round trip.
    original = profile(pd.DataFrame({"key": [f"k{i:05d}" for i in range(2_000)]}))
    assert original["key"].counts is None
    again = Profile.from_bytes(original.to_bytes())
    assert again["key"].top(5) == original["key"].top(5)
    assert again.summary() == original.summary()


def test_a_profile_read_back_merges_like_the_original() -> None:
    frame = _rich_frame().iloc[:700]  # at most k = 800 values: the sketches are exact
    original = profile(frame.iloc[:300])
    rest = profile(frame.iloc[300:])
    again = Profile.from_bytes(original.to_bytes())
    _assert_same_profile(again.merge(rest), original.merge(rest))


def test_a_binary_column_survives_bytes() -> None:
    frame = pd.DataFrame({"raw": [b"\xfe", b"\xff", b"\xff", b"a", None]})
    original = profile(frame)
    again = Profile.from_bytes(original.to_bytes())
    assert again["raw"].distinct == original["raw"].distinct == 3
    assert again.summary() == original.summary()
    assert again.merge(original)["raw"].distinct == 3


def test_another_format_version_is_refused_with_the_reason() -> None:
    document = json.loads(profile(pd.DataFrame({"x": [1.0]})).to_bytes())
    document["format"] = 2
    with pytest.raises(InvalidInputError) as info:
        Profile.from_bytes(json.dumps(document).encode())
    message = str(info.value)
    assert "format 2" in message and "format 1" in message and "upgrade loopml" in message
    # It is a profile, from a newer loopml: the message must not say it is not one.
    assert "not a loopml profile" not in message


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\xff garbage", b"{not json", b"{}", b"[1, 2]", b"42", b'"text"', b"null"],
)
def test_garbage_bytes_are_not_a_profile(data: bytes) -> None:
    with pytest.raises(InvalidInputError, match="profile"):
        Profile.from_bytes(data)


def test_a_corrupt_sketch_inside_a_profile_is_refused() -> None:
    document = json.loads(profile(pd.DataFrame({"x": [1.0, 2.0]})).to_bytes())
    document["columns"][0]["kll"] = base64.b64encode(b"not a kll sketch").decode()
    with pytest.raises(InvalidInputError, match="not a loopml profile"):
        Profile.from_bytes(json.dumps(document).encode())
    document = json.loads(profile(pd.DataFrame({"x": [1.0, 2.0]})).to_bytes())
    document["columns"][0]["hll"] = base64.b64encode(b"\x0e123").decode()
    with pytest.raises(InvalidInputError, match="not a loopml profile"):
        Profile.from_bytes(json.dumps(document).encode())


# -- merging what does not merge -------------------------------------------------------------


def test_profiles_of_different_columns_do_not_merge() -> None:
    ab = profile(pd.DataFrame({"a": [1], "b": [2]}))
    with pytest.raises(InvalidInputError, match="only on one side: c"):
        ab.merge(profile(pd.DataFrame({"a": [1], "b": [2], "c": [3]})))
    with pytest.raises(InvalidInputError, match="order"):
        ab.merge(profile(pd.DataFrame({"b": [2], "a": [1]})))
    with pytest.raises(InvalidInputError, match=r"column 'a' \(int64\).*columns differ"):
        ab.merge(profile(pd.DataFrame({"a": ["text"], "b": [2]})))
    with pytest.raises(InvalidInputError, match="only merge a Profile"):
        ab.merge({"a": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize("settings_", [{"k": 400}, {"p": 12}, {"cap": 10}])
def test_profiles_made_with_different_settings_do_not_merge(settings_: dict[str, int]) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    other = profile(frame, **settings_)
    assert other.spec != profile(frame).spec
    with pytest.raises(InvalidInputError, match="different settings"):
        profile(frame).merge(other)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("us")),
            pa.array([dt.date(2024, 1, 2)], pa.date32()),
        ),
        (
            pa.array([1_000_000], pa.duration("us")),
            pa.array([1_000], pa.duration("ms")),
        ),
        (
            pa.array([1_000_000], pa.time64("us")),
            pa.array([1_000], pa.time32("ms")),
        ),
    ],
    ids=["timestamp-and-date", "microsecond-and-millisecond-durations", "times"],
)
def test_temporal_columns_in_different_units_do_not_merge(
    first: pa.Array, second: pa.Array
) -> None:
    # Temporal values are profiled as integer ticks of their unit: mixing microseconds with
    # days (or milliseconds) would give a meaningless min, max, mean and quantiles.
    left = profile(pa.table({"when": first}))
    right = profile(pa.table({"when": second}))
    assert left["when"].type != right["when"].type
    with pytest.raises(InvalidInputError, match="when"):
        left.merge(right)


# -- columns, types and edge cases -----------------------------------------------------------


def test_columns_selects_and_orders_the_profiled_columns() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "x"], "c": [0.5, 1.5, None]})
    chosen = profile(frame, columns=["c", "a"])
    assert chosen.column_names == ["c", "a"]
    assert chosen.rows == 3
    full = profile(frame)
    _assert_same_column(chosen["a"], full["a"])
    _assert_same_column(chosen["c"], full["c"])
    assert "b" not in chosen and "a" in chosen


def test_an_unknown_column_is_named_with_the_columns_there_are() -> None:
    frame = pd.DataFrame({"a": [1], "b": [2]})
    with pytest.raises(InvalidInputError, match=r"no column\(s\) 'zz'.*columns: a, b"):
        profile(frame, columns=["a", "zz"])
    with pytest.raises(InvalidInputError, match="no column 'zz'; columns: a, b"):
        profile(frame)["zz"]


def test_dates_and_times_are_profiled_as_ticks_of_their_unit() -> None:
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2024-01-01", "2024-01-03", None]).astype("datetime64[us]"),
            "tz": pd.to_datetime(["2024-01-01T01:00+01:00", "2024-01-03T01:00+01:00", None]),
            "day": [dt.date(1970, 1, 2), dt.date(1970, 1, 11), None],
            "clock": [dt.time(0, 0, 1), dt.time(1, 0, 0), None],
        }
    )
    result = profile(frame)
    jan1 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp() * 1e6
    jan3 = dt.datetime(2024, 1, 3, tzinfo=dt.UTC).timestamp() * 1e6
    expected = {
        "ts": ("timestamp[us]", jan1, jan3),
        "tz": ("timestamp[us, tz=UTC]", jan1, jan3),
        "day": ("date32[day]", 1.0, 10.0),
        "clock": ("time64[us]", 1e6, 3600e6),
    }
    for name, (type_, low, high) in expected.items():
        column = result[name]
        assert (column.type, column.family) == (type_, "temporal")
        assert (column.rows, column.missing) == (3, 1)
        assert column.moments is not None
        assert (column.moments.minimum, column.moments.maximum) == (low, high)
        summary = column.summary()
        assert (summary["min"], summary["max"], summary["median"]) == (low, high, low)
        assert column.counts == {low: 1, high: 1}


@pytest.mark.parametrize(
    ("values", "ticks"),
    [
        (
            pa.array([1_704_067_200_000_000_001, 1_704_153_600_000_000_000], pa.timestamp("ns")),
            [1_704_067_200_000_000_001, 1_704_153_600_000_000_000],
        ),
        (
            pa.array([2**60, 2**60 + 1, 7], pa.int64()),
            [2**60, 2**60 + 1, 7],
        ),
        (
            pa.array([200 * 86_400 * 10**9, 10**9], pa.duration("ns")),
            [200 * 86_400 * 10**9, 10**9],
        ),
    ],
    ids=["nanosecond-timestamps", "integers-past-2**53", "nanosecond-durations-over-104-days"],
)
def test_values_past_two_to_the_53_are_profiled(values: pa.Array, ticks: list[int]) -> None:
    # Nanosecond timestamps (kept when they have sub-microsecond digits), long nanosecond
    # durations and large integer ids are beyond 2**53: float64 rounds them, it must not fail.
    column = profile(pa.table({"v": values}))["v"]
    assert column.rows == len(ticks) and column.missing == 0
    assert column.moments is not None
    assert column.moments.minimum == float(min(ticks))
    assert column.moments.maximum == float(max(ticks))
    assert column.exact_counts and len(column.counts or {}) == len(set(ticks))


def test_boolean_columns_are_counted() -> None:
    column = profile(pd.DataFrame({"b": pd.Series([True, None, False, True], dtype="boolean")}))[
        "b"
    ]
    assert (column.family, column.rows, column.missing) == ("boolean", 4, 1)
    assert column.counts == {True: 2, False: 1}
    assert column.moments is None and column.quantiles is None
    summary = column.summary()
    assert summary["distinct"] == 2 and summary["top"] == [[True, 2], [False, 1]]


def test_an_all_missing_column_has_counts_but_no_statistics() -> None:
    result = profile(pd.DataFrame({"none": [None, None, None], "nan": [np.nan] * 3}))
    none, nan = result["none"], result["nan"]
    assert (none.family, none.rows, none.missing, none.distinct) == ("null", 3, 3, 0)
    assert (nan.family, nan.rows, nan.missing, nan.distinct) == ("number", 3, 3, 0)
    assert nan.moments is not None and nan.moments.count == 0
    for column in (none, nan):
        summary = column.summary()
        assert "mean" not in summary and "median" not in summary
        assert summary["missing"] == 3
    again = Profile.from_bytes(result.to_bytes())
    assert again.summary() == result.summary()


def test_an_empty_frame_has_a_profile_with_zero_rows() -> None:
    frame = pd.DataFrame({"x": pd.Series([], dtype="float64"), "s": pd.Series([], dtype="str")})
    result = profile(frame)
    assert result.rows == 0 and result.column_names == ["x", "s"]
    assert [(c["rows"], c["missing"], c["distinct"]) for c in result.summary()] == [
        (0, 0, 0),
        (0, 0, 0),
    ]
    assert Profile.from_bytes(result.to_bytes()).summary() == result.summary()
    assert result.merge(profile(pd.DataFrame({"x": [1.0], "s": ["a"]})))["s"].counts == {"a": 1}
    nothing = profile(pd.DataFrame())
    assert nothing.rows == 0 and nothing.column_names == []


def test_the_summary_holds_the_headline_numbers() -> None:
    frame = pd.DataFrame(
        {
            "x": np.arange(1, 101, dtype=np.float64),
            "s": ["a"] * 50 + ["b"] * 30 + ["c"] * 15 + [None] * 5,
        }
    )
    x, s = profile(frame).summary()
    assert x["column"] == "x" and x["type"] == "double"
    assert (x["rows"], x["missing"], x["distinct"], x["distinct_exact"]) == (100, 0, 100, True)
    assert x["mean"] == 50.5 and x["infinite"] == 0
    assert x["std"] == pytest.approx(float(np.std(np.arange(1, 101), ddof=1)))
    assert (x["min"], x["max"]) == (1.0, 100.0)
    assert (x["p5"], x["p25"], x["median"], x["p75"], x["p95"]) == (5.0, 25.0, 50.0, 75.0, 95.0)
    assert s == {
        "column": "s",
        "type": "large_string",
        "rows": 100,
        "missing": 5,
        "distinct": 3,
        "distinct_exact": True,
        "top": [["a", 50], ["b", 30], ["c", 15]],
    }
    json.dumps(profile(_rich_frame()).summary())  # JSON-able


def test_a_profile_reads_files_and_names_its_source(project: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, None], "s": ["a", "b", "a"]})
    frame.to_parquet(project / "data.parquet", index=False)
    frame.to_csv(project / "data.csv", index=False)
    from_parquet = profile(str(project / "data.parquet"))
    from_csv = profile(project / "data.csv")
    _assert_same_profile(from_parquet, profile(frame))
    _assert_same_profile(from_csv, profile(frame))
    assert "data.parquet" in from_parquet.source
    assert "data.parquet" in repr(from_parquet) and "3 rows" in repr(from_parquet)
    assert loopml.profile is profile and loopml.Profile is Profile


# -- bounded memory --------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import resource, sys
    import pyarrow as pa
    pa.set_cpu_count(2)
    pa.set_io_thread_count(2)
    import pyarrow.parquet as pq
    from loopml.data._profile import profile

    big, tiny, extra_mb, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    profile(tiny)  # warm up: every import, the thread pools
    pq.read_table(tiny)

    def peak():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmPeak"):
                    return int(line.split()[1]) << 10

    limit = peak() + (extra_mb << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if mode == "profile":
        print(profile(big).rows)
    else:
        print(pq.read_table(big).num_rows)
    """
)


@pytest.mark.slow
def test_profiling_a_parquet_file_bigger_than_the_memory_cap_streams(tmp_path: Path) -> None:
    # 5M rows x 5 float64 columns = 200 MB of data; the child may use 160 MB more address
    # space than it needs after imports, so it cannot hold the file's data, let alone a table.
    rows = 5_000_000
    big, tiny = tmp_path / "big.parquet", tmp_path / "tiny.parquet"
    rng = np.random.default_rng(0)
    pq.write_table(pa.table({f"c{i}": rng.standard_normal(rows) for i in range(5)}), big)
    pq.write_table(pa.table({"c": [1.0, 2.0]}), tiny)
    # The system allocator and two malloc arenas: address space then tracks what is used
    # (mimalloc and per-thread arenas reserve far more than they touch).
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_ARENA_MAX": "2"}

    def run(mode: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", _CHILD, str(big), str(tiny), "160", mode],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )

    try:
        streamed = run("profile")
        assert streamed.returncode == 0, streamed.stderr[-2000:]
        assert int(streamed.stdout.split()[-1]) == rows
        # The control: loading the whole file under the same cap runs out of memory.
        loaded = run("read")
        assert loaded.returncode != 0
        assert "MemoryError" in loaded.stderr or "alloc" in loaded.stderr, loaded.stderr[-2000:]
    finally:
        big.unlink()


# -- registered datasets ---------------------------------------------------------------------


def test_registering_a_dataset_stores_its_profile(
    workspace_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _rich_frame()
    version = loopml.datasets.register(frame, "x")
    store = loopml.workspace().store
    digest = store.get_profile("x", 1, profile(frame).spec)
    assert isinstance(digest, str) and digest
    stored = version.profile()
    expected = profile(frame)
    assert stored.rows == expected.rows == len(frame)
    assert stored.column_names == expected.column_names
    for name in expected.column_names:
        column, want = stored[name], expected[name]
        assert (column.rows, column.missing, column.counts) == (
            want.rows,
            want.missing,
            want.counts,
        )
        assert column.distinct_sketch == want.distinct_sketch
        if want.moments is not None:
            assert column.moments is not None
            assert (column.moments.count, column.moments.minimum, column.moments.maximum) == (
                want.moments.count,
                want.moments.minimum,
                want.moments.maximum,
            )
            assert _close(column.moments.mean, want.moments.mean)
            assert _close(column.moments.variance, want.moments.variance)
    assert stored.source == "x v1"

    # A second call reads the stored profile: nothing is read or profiled again.
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the profile was computed again")

    monkeypatch.setattr(loopml.datasets.DatasetVersion, "to_arrow", refuse)
    monkeypatch.setattr("loopml.data._profile.profile", refuse)
    monkeypatch.setattr("loopml.data._profile._profile_source", refuse)
    again = loopml.datasets.get("x").profile()
    assert again.summary() == stored.summary()
    assert store.get_profile("x", 1, stored.spec) == digest
    # profile(version) is the stored profile too (`profile` was bound before the patches)
    assert profile(loopml.datasets.get("x")).summary() == stored.summary()


def test_a_dataset_streams_its_batches(workspace_env: str) -> None:
    frame = pd.DataFrame({"a": range(10), "b": [str(i) for i in range(10)]})
    version = loopml.datasets.register(frame, "small")
    table = pa.Table.from_batches(list(version.batches()))
    assert table.equals(version.to_arrow())
    assert table.num_rows == 10


def test_registering_nanosecond_timestamps_and_large_ids_works(workspace_env: str) -> None:
    table = pa.table(
        {
            "at": pa.array(
                [1_704_067_200_000_000_001, 1_704_067_200_000_000_002], pa.timestamp("ns")
            ),
            "id": pa.array([2**62, 2**62 + 1], pa.int64()),
        }
    )
    version = loopml.datasets.register(table, "precise")
    assert version.rows == 2
    assert version.profile()["id"].rows == 2
