"""validate(): anomalies with counts, a few examples and a severity, over streamed batches."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd
from rich.console import Console

from loopml._errors import InvalidInputError
from loopml.data._inputs import open_data
from loopml.data._schema import ColumnSchema, Schema, infer_schema
from loopml.data._validate import MAX_EXAMPLES, Anomaly, ValidationResult, validate


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "amount": [10.0, 20.0, None, 40.0, 50.0, 60.0],
            "country": ["DE", "FR", "US", "DE", "FR", "US"],
            "age": [20, 30, 40, 50, 60, 70],
        }
    )


@pytest.fixture
def schema(frame: pd.DataFrame) -> Schema:
    return infer_schema(frame, roles={"id": "id"}, name="people", max_categories=5)


def _one(result: ValidationResult, kind: str, column: str | None = None) -> Anomaly:
    found = [a for a in result.anomalies if a.kind == kind and a.column == column]
    assert len(found) == 1, result.anomalies
    return found[0]


def test_data_matching_its_schema_has_no_anomalies(frame: pd.DataFrame, schema: Schema) -> None:
    result = validate(frame, schema)
    assert result.anomalies == [] and result.ok
    assert (result.rows, result.columns, result.schema_name) == (6, 4, "people")


def test_a_missing_column_is_an_error(frame: pd.DataFrame, schema: Schema) -> None:
    result = validate(frame.drop(columns="age"), schema)
    anomaly = _one(result, "missing_column", "age")
    assert (anomaly.severity, anomaly.count) == ("error", 1)
    assert "delete it from the schema" in anomaly.message
    assert not result.ok


def test_an_extra_column_is_a_warning_unless_extra_columns_are_allowed(
    frame: pd.DataFrame, schema: Schema
) -> None:
    result = validate(frame.assign(note="x"), schema)
    assert _one(result, "extra_column", "note").severity == "warning"
    assert result.ok
    schema.allow_extra_columns = True
    assert validate(frame.assign(note="x"), schema).anomalies == []


def test_a_wrong_type_is_reported_once_and_the_columns_other_checks_are_skipped(
    frame: pd.DataFrame, schema: Schema
) -> None:
    result = validate(frame.assign(age=[f"x{i}" for i in range(6)]), schema)
    assert [(a.kind, a.column, a.count) for a in result.anomalies] == [("wrong_type", "age", 1)]
    assert "large_string, the schema says int64" in result.anomalies[0].message
    assert result.anomalies[0].severity == "error"


def test_values_out_of_range_are_counted_with_example_rows(
    frame: pd.DataFrame, schema: Schema
) -> None:
    result = validate(frame.assign(age=[20, -1, 40, 500, 60, 70]), schema)
    anomaly = _one(result, "out_of_range", "age")
    assert (anomaly.count, anomaly.severity) == (2, "warning")
    assert anomaly.examples == [{"row": 1, "value": -1}, {"row": 3, "value": 500}]
    assert "[20, 70]" in anomaly.message
    assert result.ok  # warnings only


def test_infinities_in_a_numeric_column_with_a_range_are_out_of_range(
    frame: pd.DataFrame, schema: Schema
) -> None:
    amounts = [10.0, math.inf, None, -math.inf, float("nan"), 60.0]
    result = validate(frame.assign(amount=amounts), schema)
    anomaly = _one(result, "out_of_range", "amount")
    assert anomaly.count == 2
    assert anomaly.examples == [{"row": 1, "value": math.inf}, {"row": 3, "value": -math.inf}]
    nulls = _one(result, "null_rate", "amount")  # NaN is missing: 2 of 6 > 0.22
    assert nulls.count == 2
    assert nulls.examples == [{"row": 2, "value": None}, {"row": 4, "value": None}]


def test_unseen_categories_are_a_warning_with_their_values(
    frame: pd.DataFrame, schema: Schema
) -> None:
    result = validate(frame.assign(country=["DE", "XX", "US", "YY", "XX", "US"]), schema)
    anomaly = _one(result, "unseen_category", "country")
    assert (anomaly.count, anomaly.severity) == (3, "warning")
    assert [e["value"] for e in anomaly.examples] == ["XX", "YY", "XX"]


def test_a_null_rate_above_the_limit_is_a_warning(frame: pd.DataFrame, schema: Schema) -> None:
    assert schema.column("amount").max_null_rate == 0.22  # 1/6 + 0.05, rounded up
    result = validate(frame.assign(amount=[None, None, 3.0, 4.0, 5.0, 6.0]), schema)
    anomaly = _one(result, "null_rate", "amount")
    assert (anomaly.count, anomaly.severity) == (2, "warning")
    assert "null rate 0.333 (2 of 6 rows) is above max_null_rate 0.22" in anomaly.message


def test_a_missing_value_in_a_never_null_column_is_an_error(
    frame: pd.DataFrame, schema: Schema
) -> None:
    result = validate(frame.assign(country=["DE", None, "US", None, "FR", "US"]), schema)
    anomaly = _one(result, "not_nullable", "country")
    assert (anomaly.count, anomaly.severity) == (2, "error")
    assert anomaly.examples == [{"row": 1, "value": None}, {"row": 3, "value": None}]
    assert not [a for a in result.anomalies if a.kind == "unseen_category"]  # nulls are not values


def test_duplicate_ids_are_an_error_naming_every_repeated_row(
    frame: pd.DataFrame, schema: Schema
) -> None:
    ids = pd.array([1, 2, 1, 4, 4, None], dtype="Int64")  # a missing id is no duplicate
    result = validate(frame.assign(id=ids), schema)
    anomaly = _one(result, "duplicate_id", "id")
    assert (anomaly.count, anomaly.severity) == (4, "error")
    assert "4 rows share 2 values" in anomaly.message
    assert [e["row"] for e in anomaly.examples] == [0, 2, 3, 4]


def test_duplicates_are_found_across_batches() -> None:
    data = pd.DataFrame({"id": [*range(1000), 5, 999], "x": np.arange(1002.0)})
    schema = infer_schema(data.iloc[:1000], roles={"id": "id"})
    result = validate(open_data(data, batch_rows=100), schema)
    anomaly = _one(result, "duplicate_id", "id")
    assert anomaly.count == 4
    assert anomaly.examples == [
        {"row": 5, "value": 5},
        {"row": 999, "value": 999},
        {"row": 1000, "value": 5},
        {"row": 1001, "value": 999},
    ]


def test_a_unique_column_that_is_not_an_id_reports_duplicate_values() -> None:
    schema = Schema([ColumnSchema("email", "large_string", checks=[{"check": "unique"}])])
    result = validate(pd.DataFrame({"email": ["a@x", "b@x", "a@x"]}), schema)
    assert _one(result, "duplicate_value", "email").count == 2


def test_counts_and_example_rows_add_up_over_many_batches() -> None:
    data = pd.DataFrame({"x": np.arange(1000.0)})
    schema = Schema([ColumnSchema("x", "double", nullable=False, min=0.0, max=100.0)])
    result = validate(open_data(data, batch_rows=100), schema)
    anomaly = _one(result, "out_of_range", "x")
    assert anomaly.count == 899
    assert anomaly.examples == [{"row": r, "value": float(r)} for r in range(101, 106)]
    assert result.rows == 1000


def test_examples_are_capped_however_many_values_fail() -> None:
    data = pd.DataFrame({"x": np.full(50_000, -1.0), "s": ["zz"] * 50_000})
    schema = Schema(
        [
            ColumnSchema("x", "double", min=0.0, nullable=False),
            ColumnSchema("s", "large_string", categories=["a"]),
        ]
    )
    result = validate(data, schema)
    for anomaly in result.anomalies:
        assert anomaly.count == 50_000 and len(anomaly.examples) == MAX_EXAMPLES


@pytest.mark.parametrize(
    ("check", "values", "failing"),
    [
        ({"check": "ge", "value": 0}, [-1, 0, 5], [0]),
        ({"check": "gt", "value": 0}, [-1, 0, 5], [0, 1]),
        ({"check": "le", "value": 0}, [-1, 0, 5], [2]),
        ({"check": "lt", "value": 0}, [-1, 0, 5], [1, 2]),
        ({"check": "between", "value": [0, 4]}, [-1, 0, 5], [0, 2]),
        ({"check": "isin", "value": [0, 5]}, [-1, 0, 5], [0]),
        ({"check": "notin", "value": [0, 5]}, [-1, 0, 5], [1, 2]),
        ({"check": "str_matches", "value": "^[a-z]+$"}, ["abc", "Abc", "ab1"], [1, 2]),
        ({"check": "str_length", "value": [2, 3]}, ["a", "abc", "abcd"], [0, 2]),
        ({"check": "str_length", "value": [None, 1]}, ["a", "abc", "abcd"], [1, 2]),
    ],
)
def test_declarative_checks_from_the_yaml_fail_the_values_they_reject(
    check: dict[str, Any], values: list[Any], failing: list[int]
) -> None:
    kind = "large_string" if isinstance(values[0], str) else "int64"
    schema = Schema([ColumnSchema("v", kind, checks=[check])])
    result = validate(pl.DataFrame({"v": [*values, None]}), schema)
    anomaly = _one(result, "custom_check", "v")
    assert anomaly.severity == "error"
    assert anomaly.count == len(failing)
    assert [e["row"] for e in anomaly.examples] == failing
    assert check["check"] in anomaly.message


def test_timestamps_are_checked_against_their_iso_range() -> None:
    times = pd.to_datetime(["2024-01-01", "2024-03-01", "2025-01-01"], utc=True)
    schema = infer_schema(pd.DataFrame({"t": times[:2]}))
    result = validate(pd.DataFrame({"t": times}), schema)
    anomaly = _one(result, "out_of_range", "t")
    assert anomaly.count == 1 and anomaly.examples[0]["row"] == 2
    assert anomaly.examples[0]["value"] == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def test_python_checks_take_a_polars_frame_and_return_a_series_or_an_expr(
    frame: pd.DataFrame, schema: Schema
) -> None:
    result = validate(
        frame,
        schema,
        checks={
            "cheap": lambda df: df["amount"] < 45,  # a Series; the null amount counts as valid
            "young": lambda df: pl.col("age") < 45,  # an Expr
        },
    )
    by_name = {a.message.rsplit(" ", 1)[-1]: a for a in result.anomalies}
    cheap, young = by_name["cheap"], by_name["young"]
    assert (cheap.kind, cheap.column, cheap.severity, cheap.count) == (
        "custom_check",
        None,
        "error",
        2,
    )
    assert cheap.examples[0] == {
        "row": 4,
        "value": {"id": 5, "amount": 50.0, "country": "FR", "age": 60},
    }
    assert young.count == 3 and [e["row"] for e in young.examples] == [3, 4, 5]


def test_a_python_check_that_raises_or_returns_no_booleans_is_named_in_the_error(
    frame: pd.DataFrame, schema: Schema
) -> None:
    def broken(df: pl.DataFrame) -> pl.Series:
        raise KeyError("no_such_column")

    with pytest.raises(InvalidInputError, match=r"check 'broken' failed to run.*KeyError"):
        validate(frame, schema, checks={"broken": broken})
    with pytest.raises(InvalidInputError, match=r"check 'sum'.*one boolean per row"):
        validate(frame, schema, checks={"sum": lambda df: df["age"] * 2})
    with pytest.raises(InvalidInputError, match="not a function"):
        validate(frame, schema, checks={"x": 3})  # type: ignore[dict-item]


def test_severities_can_be_overridden_per_column_and_per_check(frame: pd.DataFrame) -> None:
    text = """
version: 1
columns:
  age:
    type: int64
    min: 0
    max: 50
    checks:
      - {check: lt, value: 40, severity: warning}
    severity: {out_of_range: error}
"""
    result = validate(frame[["age"]], Schema.from_yaml(text))
    assert _one(result, "out_of_range", "age").severity == "error"
    assert _one(result, "custom_check", "age").severity == "warning"
    assert [a.kind for a in result.errors] == ["out_of_range"]
    assert [a.kind for a in result.warnings] == ["custom_check"]
    assert not result.ok


def test_errors_come_first_and_raise_for_errors_summarises_them(
    frame: pd.DataFrame, schema: Schema
) -> None:
    bad = frame.drop(columns="age").assign(note=1, id=[1, 1, 2, 3, 4, 5])
    result = validate(bad, schema)
    assert [a.severity for a in result.anomalies] == ["error", "error", "warning"]
    with pytest.raises(InvalidInputError) as caught:
        result.raise_for_errors()
    message = str(caught.value)
    assert message.startswith("the data does not match schema 'people': 2 errors: ")
    assert "missing_column (age)" in message and "duplicate_id (id)" in message
    ok = validate(frame, schema)
    assert ok.raise_for_errors() is ok


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow"])
def test_pandas_polars_and_pyarrow_inputs_give_the_same_anomalies(
    kind: str, frame: pd.DataFrame, schema: Schema
) -> None:
    bad = frame.assign(age=[20, -1, 40, 500, 60, 70], country=["DE", None, "US", "DE", "X", "US"])
    data: Any = {
        "pandas": bad,
        "polars": pl.from_pandas(bad),
        "pyarrow": pa.Table.from_pandas(bad, preserve_index=False),
    }[kind]
    result = validate(data, schema)
    assert [(a.kind, a.column, a.count) for a in result.anomalies] == [
        ("not_nullable", "country", 1),  # errors first, then in the schema's column order
        ("unseen_category", "country", 1),
        ("out_of_range", "age", 2),
    ]


def test_a_csv_file_validates_against_a_schema_file(tmp_path: Path, schema: Schema) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text("id,amount,country,age\n1,10.0,DE,20\n2,,FR,99\n")
    schema.save(tmp_path / "people.yaml")
    result = validate(str(csv), tmp_path / "people.yaml")
    assert [(a.kind, a.column) for a in result.anomalies] == [
        ("null_rate", "amount"),
        ("out_of_range", "age"),
    ]
    assert result.rows == 2


def test_empty_data_is_a_warning_not_an_error(frame: pd.DataFrame, schema: Schema) -> None:
    result = validate(frame.iloc[:0], schema)
    assert [(a.kind, a.severity, a.count) for a in result.anomalies] == [("empty", "warning", 0)]
    assert result.ok and result.rows == 0


def test_an_all_missing_column_matches_any_type_and_meets_the_null_checks() -> None:
    schema = Schema(
        [
            ColumnSchema("a", "double", max_null_rate=0.5, min=0.0),
            ColumnSchema("b", "int64", nullable=False),
        ]
    )
    result = validate(pd.DataFrame({"a": [None, None], "b": [None, None]}), schema)
    assert [(a.kind, a.column, a.count) for a in result.anomalies] == [
        ("not_nullable", "b", 2),
        ("null_rate", "a", 2),
    ]
    inferred = infer_schema(pd.DataFrame({"a": [None, None]}))
    assert validate(pd.DataFrame({"a": [None, None, None]}), inferred).anomalies == []


def test_the_result_converts_to_strict_json(frame: pd.DataFrame, schema: Schema) -> None:
    bad = frame.assign(amount=[math.inf, 20.0, 30.0, 40.0, 50.0, 60.0])
    result = validate(bad, schema)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["ok"] is True and data["warnings"] == 1 and data["schema"] == "people"
    assert data["anomalies"][0]["examples"] == [{"row": 0, "value": "inf"}]


def test_the_rich_table_shows_severity_kind_column_count_and_examples(
    frame: pd.DataFrame, schema: Schema
) -> None:
    result = validate(frame.drop(columns="age").assign(id=[1, 1, 2, 3, 4, 5]), schema)
    console = Console(record=True, width=160)
    console.print(result)
    text = console.export_text()
    assert "6 rows, 3 columns validated against schema 'people': 2 errors, 0 warnings" in text
    assert "missing_column" in text and "duplicate_id" in text
    assert "row 0: 1, row 1: 1" in text
    console.print(validate(frame, schema))
    assert "no anomalies" in console.export_text()


def test_a_schema_must_be_a_schema_or_a_path(frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match="must be a Schema or the path"):
        validate(frame, {"columns": {}})  # type: ignore[arg-type]


_columns = [
    hpd.column("i", dtype=int, elements=st.integers(-(2**40), 2**40)),
    hpd.column("f", elements=st.one_of(st.floats(allow_nan=True), st.none()), dtype=object),
    hpd.column("s", elements=st.one_of(st.text(max_size=4), st.none()), dtype=object),
    hpd.column("b", dtype=bool),
    hpd.column(
        "t",
        elements=st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)),
        dtype="datetime64[us]",
    ),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hpd.data_frames(_columns), batch_rows=st.integers(1, 7), cap=st.integers(0, 5))
def test_data_always_validates_against_its_own_inferred_schema(
    data: pd.DataFrame, batch_rows: int, cap: int
) -> None:
    data["f"] = data["f"].astype("float64")
    source = open_data(data, batch_rows=batch_rows)
    schema = infer_schema(source, max_categories=cap, roles={"i": "id"})
    schema = Schema.from_yaml(schema.to_yaml())  # and through its YAML
    result = validate(source, schema)
    expected = [] if len(data) else [("empty", "warning")]
    assert [(a.kind, a.severity) for a in result.anomalies] == expected


def test_anomalies_follow_the_schemas_column_order_whatever_the_datas_order(
    frame: pd.DataFrame, schema: Schema
) -> None:
    bad = frame.assign(age=[20, 30, 40, 50, 60, 999], country=["DE", "XX"] * 3)
    result = validate(bad[list(reversed(frame.columns))], schema)
    assert [a.column for a in result.anomalies] == ["country", "age"]
