"""Schemas: inferred from data in one streaming pass, kept as readable YAML that people edit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from loopml._errors import InvalidInputError
from loopml.data._inputs import open_data
from loopml.data._schema import ColumnSchema, Schema, infer_schema
from loopml.data._validate import validate


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "amount": [10.5, None, 3.0, 99.9, 7.25],
            "country": ["DE", "FR", "NO", "DE", "FR"],
            "fraud": [True, False, False, True, False],
            "at": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"], utc=True
            ),
            "children": [0, 1, 2, 1, 0],
        }
    )


def test_inference_records_types_nullability_ranges_categories_and_roles(
    frame: pd.DataFrame,
) -> None:
    schema = infer_schema(frame, roles={"id": "id", "fraud": "target"}, name="tx")
    assert schema.name == "tx" and schema.names == list(frame.columns)
    assert schema.column("id") == ColumnSchema(
        "id", "int64", role="id", nullable=False, unique=True
    )
    amount = schema.column("amount")
    assert (amount.type, amount.nullable, amount.min, amount.max) == ("double", True, 3.0, 99.9)
    assert amount.categories is None  # no categories for floats
    assert schema.column("country").categories == ["DE", "FR", "NO"]
    assert schema.column("country").min is None  # no range for text
    assert schema.column("fraud") == ColumnSchema(
        "fraud", "bool", role="target", nullable=False, categories=[False, True]
    )
    at = schema.column("at")
    assert at.type == "timestamp[us, tz=UTC]"
    assert (at.min, at.max) == ("2024-01-01T00:00:00+00:00", "2024-05-01T00:00:00+00:00")
    children = schema.column("children")
    assert (children.min, children.max, children.categories) == (None, None, [0, 1, 2])


def test_max_null_rate_is_the_observed_rate_plus_five_points_rounded_up() -> None:
    frame = pd.DataFrame(
        {
            "two_percent": [None if i < 2 else 1.0 for i in range(100)],
            "none_missing": np.arange(100.0),
            "all_missing": [None] * 100,
        }
    )
    schema = infer_schema(frame)
    assert schema.column("two_percent").max_null_rate == 0.07
    third = infer_schema(pd.DataFrame({"x": [None, "a", "b"]})).column("x")
    assert third.max_null_rate == 0.39  # 0.333 + 0.05, rounded up
    assert schema.column("none_missing").nullable is False
    assert schema.column("none_missing").max_null_rate is None
    all_missing = schema.column("all_missing")
    assert (all_missing.type, all_missing.nullable, all_missing.max_null_rate) == (
        "null",
        True,
        1.0,
    )


def test_columns_with_more_distinct_values_than_max_categories_get_no_list() -> None:
    frame = pd.DataFrame({"s": [f"v{i % 6}" for i in range(60)], "i": [i % 6 for i in range(60)]})
    assert infer_schema(frame, max_categories=6).column("s").categories == [
        f"v{i}" for i in range(6)
    ]
    narrow = infer_schema(frame, max_categories=5)
    assert narrow.column("s").categories is None
    assert narrow.column("i").categories is None and narrow.column("i").max == 5
    assert infer_schema(frame, max_categories=0).column("s").categories is None


def test_distinct_values_are_counted_across_batches_not_per_batch() -> None:
    # each batch of 10 rows holds 2 values, the whole column 12
    frame = pd.DataFrame({"s": [f"v{i // 5}" for i in range(60)]})
    assert (
        infer_schema(open_data(frame, batch_rows=10), max_categories=11).column("s").categories
        is None
    )
    assert len(infer_schema(frame, max_categories=12).column("s").categories or []) == 12


def test_inferring_batch_by_batch_gives_the_same_schema_as_all_at_once(
    frame: pd.DataFrame,
) -> None:
    rng = np.random.default_rng(3)
    big = pd.DataFrame(
        {
            "x": rng.normal(size=1000),
            "k": rng.integers(0, 5, 1000),
            "s": rng.choice(["a", "b", "c"], 1000),
            "m": np.where(rng.random(1000) < 0.1, np.nan, 1.0),
        }
    )
    assert infer_schema(open_data(big, batch_rows=37)) == infer_schema(big)


def test_an_id_column_is_unique_only_when_its_values_do_not_repeat() -> None:
    frame = pd.DataFrame({"id": [3, 1, 2], "customer": [7, 7, 8]})
    schema = infer_schema(frame, roles={"id": "id", "customer": "id"})
    assert schema.column("id").unique is True
    assert schema.column("customer").unique is False  # an entity id that repeats
    assert schema.column("id").min is None and schema.column("id").categories is None


def test_timestamp_and_ignored_roles_get_no_value_checks(frame: pd.DataFrame) -> None:
    frame["note"] = ["x", None, "y", "x", "y"]
    schema = infer_schema(frame, roles={"at": "timestamp", "note": "ignored"})
    at, note = schema.column("at"), schema.column("note")
    assert (at.min, at.max, at.categories) == (None, None, None)
    assert (note.categories, note.max_null_rate, note.nullable) == (None, None, True)


def test_naive_timestamps_and_dates_have_iso_ranges() -> None:
    frame = pl.DataFrame(
        {
            "t": [dt.datetime(2024, 1, 2, 3, 4, 5, 6), dt.datetime(2023, 1, 1)],
            "d": [dt.date(2024, 1, 31), dt.date(2020, 2, 29)],
        }
    )
    schema = infer_schema(frame)
    assert schema.column("t").type == "timestamp[us]"
    assert (schema.column("t").min, schema.column("t").max) == (
        "2023-01-01T00:00:00",
        "2024-01-02T03:04:05.000006",
    )
    assert schema.column("d").type == "date32[day]"
    assert (schema.column("d").min, schema.column("d").max) == ("2020-02-29", "2024-01-31")


def test_infinities_are_part_of_the_inferred_range() -> None:
    schema = infer_schema(pd.DataFrame({"x": [1.0, np.inf, -2.0]}))
    assert (schema.column("x").min, schema.column("x").max) == (-2.0, np.inf)
    assert Schema.from_yaml(schema.to_yaml()) == schema  # .inf in YAML


def test_empty_data_gives_types_and_nothing_else() -> None:
    schema = infer_schema(pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": []}))
    a = schema.column("a")
    assert (a.type, a.nullable, a.min, a.categories) == ("int64", True, None, None)


def test_pandas_polars_and_pyarrow_inputs_give_the_same_schema(frame: pd.DataFrame) -> None:
    expected = infer_schema(frame)
    assert infer_schema(pl.from_pandas(frame)) == expected
    assert infer_schema(pa.Table.from_pandas(frame, preserve_index=False)) == expected


def test_a_csv_file_can_be_inferred_from_its_path(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,x\n2,y\n3,\n")
    schema = infer_schema(path)
    assert schema.column("a") == ColumnSchema("a", "int64", nullable=False, categories=[1, 2, 3])
    assert schema.column("b").type == "large_string"


def test_roles_naming_unknown_columns_or_roles_are_refused(frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match=r"'nope'.*does not have"):
        infer_schema(frame, roles={"nope": "id"})
    with pytest.raises(InvalidInputError, match="'label' of column 'fraud' is not a role"):
        infer_schema(frame, roles={"fraud": "label"})
    with pytest.raises(InvalidInputError, match="max_categories"):
        infer_schema(frame, max_categories=-1)


def test_a_dataset_version_gives_its_roles_and_name_and_can_be_validated(
    frame: pd.DataFrame, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import loopml

    monkeypatch.setenv("LOOPML_URI", f"sqlite:///{project / 'store.db'}")
    loopml.init(project)
    version = loopml.datasets.register(frame, "tx", roles={"id": "id", "fraud": "target"})
    schema = infer_schema(version)
    assert schema.name == "tx"
    assert schema.column("id").role == "id" and schema.column("id").unique
    assert schema.column("fraud").role == "target"
    assert infer_schema(version, roles={"fraud": "feature"}).column("fraud").role == "feature"
    assert validate(version, schema).anomalies == []


# -- YAML ----------------------------------------------------------------------------------


def _edited() -> Schema:
    return Schema(
        [
            ColumnSchema("id", "int64", role="id", nullable=False, unique=True),
            ColumnSchema(
                "amount",
                "double",
                max_null_rate=0.1,
                min=0,
                max=1e6,
                checks=[{"check": "between", "value": [0, 5000], "severity": "warning"}],
                severity={"out_of_range": "error"},
            ),
            ColumnSchema(
                "code",
                "large_string",
                categories=["NO", "01", "yes"],
                checks=[
                    {"check": "str_matches", "value": "^[A-Z0-9]+$"},
                    {"check": "str_length", "value": [2, None]},
                    {"check": "notin", "value": ["XX"]},
                    {"check": "unique"},
                ],
            ),
            ColumnSchema("at", "timestamp[us, tz=UTC]", min="2024-01-01T00:00:00+00:00"),
        ],
        name="tx",
        allow_extra_columns=True,
    )


def test_yaml_round_trips_to_an_equal_schema(frame: pd.DataFrame) -> None:
    for schema in (infer_schema(frame, roles={"id": "id"}, name="tx"), _edited()):
        text = schema.to_yaml()
        assert Schema.from_yaml(text) == schema
        assert Schema.from_yaml(text).to_yaml() == text  # stable


def test_the_yaml_is_readable_with_a_header_on_how_to_edit_it(frame: pd.DataFrame) -> None:
    text = infer_schema(frame, roles={"id": "id"}, name="tx").to_yaml()
    assert text.startswith("# loopml data schema")
    assert "delete a key to drop its check" in text
    body = text[text.index("version: 1") :]
    assert body.startswith("version: 1\nname: tx\nallow_extra_columns: false\ncolumns:\n")
    assert "  id:\n    type: int64\n    role: id\n    nullable: false\n    unique: true\n" in body
    assert "categories: [DE, FR, 'NO']" in body  # 'NO' quoted: it is text, not false
    assert "min: '2024-01-01T00:00:00+00:00'" in body


def test_save_and_load_go_through_a_file(tmp_path: Path) -> None:
    path = _edited().save(tmp_path / "tx.schema.yaml")
    assert Schema.load(path) == _edited()
    with pytest.raises(InvalidInputError, match="no such file"):
        Schema.load(tmp_path / "missing.yaml")


def test_hand_written_yaml_with_aliases_and_unquoted_values_is_normalised() -> None:
    text = """
version: 1
columns:
  country:
    type: string
    categories: [DE, NO, 01, yes]
    checks:
      - {check: isin, value: [NO, DE, FR]}
  at:
    type: timestamp[us, tz=UTC]
    min: 2024-01-01
    max: 2024-06-01 12:00:00
  price:
    type: float64
"""
    schema = Schema.from_yaml(text)
    country = schema.column("country")
    assert country.type == "large_string"
    assert country.categories == ["DE", "NO", "01", "yes"]  # as written, not false/1/true
    assert country.checks == [{"check": "isin", "value": ["NO", "DE", "FR"]}]
    assert schema.column("at").min == "2024-01-01T00:00:00+00:00"
    assert schema.column("at").max == "2024-06-01T12:00:00+00:00"
    assert schema.column("price").type == "double"
    assert schema.column("price").role == "feature" and schema.column("price").nullable


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\ncolumns:\n  a:\n    type: int64\n    colour: red\n",
            r"line 5, column 5 \(columns > a > colour\): unknown key 'colour'",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    type: integer\n",
            r"line 4, column 11 \(columns > a > type\): unknown type 'integer'",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    type: int64\n    role: label\n",
            r"line 5, column 11 \(columns > a > role\): role 'label' is not a role",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    type: int64\n    min: 10\n    max: 5\n",
            r"line 5, column 10 \(columns > a > min\): min 10 is above max 5",
        ),
        (
            "version: 1\ncolumns:\n  a: {type: int64}\n  a: {type: double}\n",
            r"line 4, column 3 \(columns > a\): key 'a' appears twice",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    type: int64\n    checks:\n"
            "      - {check: str_matches, value: x}\n",
            r"line 6, column 17 \(columns > a > checks > 0 > check\): str_matches applies to "
            "text",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    type: int64\n    checks:\n      - {check: is_odd}\n",
            r"line 6, column 17 .*unknown check 'is_odd'",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    type: double\n    max_null_rate: 2\n",
            r"line 5.*max_null_rate must be between 0 and 1",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    type: large_string\n    min: a\n",
            r"line 5.*min applies to numbers, dates and times",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    type: timestamp[us]\n    min: yesterday\n",
            r"line 5.*'yesterday' is not an ISO date-time",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    type: large_string\n    checks:\n"
            "      - {check: str_matches, value: '(['}\n",
            r"line 6.*not a valid regular expression",
        ),
        ("version: 2\ncolumns: {}\n", r"line 1, column 10 \(version\): .*version 2 is not"),
        ("version: 1\ncolums: {}\n", r"line 2, column 1 \(colums\): unknown key 'colums'"),
        ("version: 1\ncolumns:\n  - a\n", r"line 3.*columns must be a mapping"),
        ("version: 1\ncolumns:\n  a: {role: id}\n", r"line 3.*needs at least a type"),
        ("columns:\n  a: [type: int64\n", r"line \d+, column \d+: this is not valid YAML"),
    ],
)
def test_mistakes_in_hand_edited_yaml_name_the_line_column_and_key(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Schema.from_yaml(text, source="tx.yaml")
    with pytest.raises(InvalidInputError, match=r"^tx\.yaml: "):
        Schema.from_yaml(text, source="tx.yaml")


def test_loading_a_yaml_never_runs_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f'version: 1\ncolumns: !!python/object/apply:os.system ["touch {marker}"]\n'
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        Schema.from_yaml(text)
    assert not marker.exists()


def test_a_schema_built_in_python_is_checked_like_a_yaml_one() -> None:
    with pytest.raises(InvalidInputError, match=r"column 'a', type: unknown type 'int'"):
        ColumnSchema("a", "int")
    with pytest.raises(InvalidInputError, match=r"column 'a', min: min 3 is above max 1"):
        ColumnSchema("a", "int64", min=3, max=1)
    with pytest.raises(InvalidInputError, match="column 'a' appears twice"):
        Schema([ColumnSchema("a", "int64"), ColumnSchema("a", "double")])
    with pytest.raises(InvalidInputError, match=r"has no column 'b'; its columns: a"):
        Schema([ColumnSchema("a", "int64")]).column("b")
