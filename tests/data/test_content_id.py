"""Content ids: the same data gives the same id whatever library, chunking or column order."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml import InvalidInputError
from loopml.data._canonical import canonical_table
from loopml.data._content_id import content_id


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "amount": [12.5, np.nan, 3.0, 7.25],
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "merchant": ["a", "b", None, "a"],
            "kind": pd.Categorical(["x", "y", "x", "x"]),
            "when": pd.to_datetime(
                ["2026-01-01 10:00", "2026-01-02 00:00", "2026-01-03 00:00", "2026-01-04 00:00"]
            ).tz_localize("Europe/Berlin"),
            "flag": [True, False, True, False],
        }
    )
    return frame


def test_pandas_polars_and_pyarrow_inputs_of_the_same_data_share_one_id() -> None:
    frame = _frame()
    expected = content_id(frame)
    assert content_id(pl.from_pandas(frame)) == expected
    assert content_id(pa.Table.from_pandas(frame, preserve_index=False)) == expected


def test_the_id_does_not_depend_on_column_order_or_chunking() -> None:
    frame = _frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    rechunked = pa.concat_tables([table.slice(0, 1), table.slice(1, 2), table.slice(3)])
    assert content_id(rechunked) == content_id(frame)
    assert content_id(frame[list(reversed(frame.columns))]) == content_id(frame)


def test_the_id_changes_when_one_value_changes() -> None:
    frame = _frame()
    changed = frame.copy()
    changed.loc[2, "amount"] = 3.0000001
    assert content_id(changed) != content_id(frame)


def test_the_id_changes_when_a_column_type_changes() -> None:
    ints = pd.DataFrame({"x": np.array([1, 2, 3], dtype=np.int64)})
    narrow = pd.DataFrame({"x": np.array([1, 2, 3], dtype=np.int32)})
    assert content_id(ints) != content_id(narrow)


def test_null_and_nan_are_the_same_missing_value_but_differ_from_zero() -> None:
    with_nan = pl.DataFrame({"x": [1.0, float("nan")]})
    with_null = pl.DataFrame({"x": [1.0, None]})
    with_zero = pl.DataFrame({"x": [1.0, 0.0]})
    assert content_id(with_nan) == content_id(with_null)
    assert content_id(with_null) != content_id(with_zero)


def test_a_named_index_is_data_and_an_unnamed_one_is_not() -> None:
    frame = pd.DataFrame({"v": [1, 2]})
    shuffled_index = frame.set_axis([10, 20])
    assert content_id(shuffled_index) == content_id(frame)
    named = frame.set_axis(pd.Index([10, 20], name="id"))
    assert content_id(named) == content_id(pd.DataFrame({"id": [10, 20], "v": [1, 2]}))


def test_the_same_instants_in_two_time_zones_share_one_id() -> None:
    instants = pd.to_datetime(["2026-03-01 12:00", "2026-06-01 12:00"]).tz_localize("UTC")
    utc = pd.DataFrame({"t": instants})
    berlin = pd.DataFrame({"t": instants.tz_convert("Europe/Berlin")})
    assert content_id(utc) == content_id(berlin)


def test_an_empty_string_differs_from_a_missing_one() -> None:
    assert content_id(pd.DataFrame({"s": ["", "a"]})) != content_id(
        pd.DataFrame({"s": [None, "a"]})
    )


def test_string_boundaries_matter() -> None:
    assert content_id(pd.DataFrame({"s": ["ab", "c"]})) != content_id(
        pd.DataFrame({"s": ["a", "bc"]})
    )


def test_the_id_algorithm_is_pinned_by_a_golden_value() -> None:
    table = pa.table(
        {
            "i": pa.array([1, None, 3], pa.int64()),
            "f": pa.array([0.5, 1.5, None], pa.float64()),
            "s": pa.array(["a", None, "ccc"], pa.large_string()),
            "b": pa.array([True, None, False]),
        }
    )
    assert content_id(table) == PINNED


# Computed once with ID_VERSION 1; if this changes, ids of stored datasets change: bump the
# version instead.
PINNED = "sha256:b2ea07fd838bdb20edc787f2854255bf145d144c58faca3f0faa26454ec08e90"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column"),
        (pd.DataFrame({0: [1]}), "not a string"),
        (pd.DataFrame({"m": [1, "x", 2.5]}), "column 'm' mixes types"),
        (pa.table({"l": pa.array([[1], [2]])}), "nested"),
        ([1, 2, 3], "cannot read a list"),
    ],
)
def test_unsupported_input_gets_an_error_naming_the_problem(data: object, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        content_id(data)


def test_canonical_form_unifies_types() -> None:
    table = canonical_table(_frame())
    assert table.schema.field("merchant").type == pa.large_string()
    assert table.schema.field("kind").type == pa.large_string()
    assert table.schema.field("when").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("count").type == pa.int64()
    assert table.column_names == list(_frame().columns)
    assert table.schema.metadata is None


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=True, width=64)),
        min_size=1,
        max_size=60,
    ),
    words=st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=1, max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=4),
)
def test_chunking_never_changes_the_id(
    values: list[float | None], words: list[str | None], cuts: list[int]
) -> None:
    n = min(len(values), len(words))
    table = pa.table({"x": pa.array(values[:n], pa.float64()), "w": pa.array(words[:n])})
    bounds = sorted({0, n, *(c % (n + 1) for c in cuts)})
    pieces = [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
    assert content_id(pa.concat_tables(pieces)) == content_id(table)
