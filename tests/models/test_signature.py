"""Signatures: inferred from an input example, enforced on what callers pass to ``predict``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd

from loopml._errors import InvalidInputError
from loopml.models._signature import (
    ColumnSpec,
    Signature,
    SignatureError,
    describe,
    enforce,
    infer_signature,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [12.5, 80.0, 3.25],
            "hour": [8, 13, 23],
            "merchant_risk": np.array([0.1, 0.5, 0.9], dtype="float32"),
            "is_online": [True, False, True],
            "country": ["FR", "DE", "FR"],
        }
    )


def _row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "amount": 10.0,
        "hour": 9,
        "merchant_risk": 0.5,
        "is_online": True,
        "country": "FR",
    }
    row.update(changes)
    return row


@pytest.fixture
def sig() -> Signature:
    return infer_signature(_frame())


def _types(signature: Signature) -> dict[str, str]:
    return {s.name: s.type for s in signature.inputs}


# ---------------------------------------------------------------- inference


def test_a_pandas_frame_gives_one_spec_per_column_with_its_type() -> None:
    frame = _frame().assign(
        segment=pd.Categorical(["a", "b", "a"]),
        seen_at=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]).astype("datetime64[ns]"),
        small=np.array([1, 2, 3], dtype="int16"),
    )
    signature = infer_signature(frame)
    assert signature.kind == "columns"
    assert signature.names == tuple(frame.columns)
    assert _types(signature) == {
        "amount": "float64",
        "hour": "int64",
        "merchant_risk": "float32",
        "is_online": "bool",
        "country": "string",
        "segment": "category",
        "seen_at": "datetime64[ns]",
        "small": "int16",
    }
    assert not any(s.nullable for s in signature.inputs)
    assert all(s.shape is None for s in signature.inputs)


def test_a_column_with_nulls_in_the_example_is_nullable() -> None:
    frame = pd.DataFrame(
        {"amount": [1.0, None], "country": ["FR", None], "count": pd.array([1, None], "Int64")}
    )
    signature = infer_signature(frame)
    assert [(s.type, s.nullable) for s in signature.inputs] == [
        ("float64", True),
        ("string", True),
        ("int64", True),
    ]


def test_an_object_column_of_python_values_gets_the_type_of_its_values() -> None:
    frame = pd.DataFrame(
        {
            "text": pd.Series(["a", "b"], dtype=object),
            "ints": pd.Series([1, 2], dtype=object),
            "flags": pd.Series([True, None], dtype=object),
        }
    )
    assert [(s.type, s.nullable) for s in infer_signature(frame).inputs] == [
        ("string", False),
        ("int64", False),
        ("bool", True),
    ]


def test_a_polars_frame_is_inferred_like_pandas_and_int_columns_with_nulls_stay_ints() -> None:
    frame = pl.DataFrame(
        {"hour": [1, None, 3], "amount": [1.0, 2.0, 3.0], "country": ["FR", None, "DE"]}
    )
    signature = infer_signature(frame)
    assert [(s.name, s.type, s.nullable) for s in signature.inputs] == [
        ("hour", "int64", True),
        ("amount", "float64", False),
        ("country", "string", True),
    ]


def test_a_dict_of_lists_is_read_as_columns() -> None:
    signature = infer_signature({"amount": [1.5, 2.5], "hour": np.array([1, 2], dtype="int32")})
    assert signature.kind == "columns"
    assert _types(signature) == {"amount": "float64", "hour": "int32"}


def test_a_list_of_records_is_read_as_a_frame() -> None:
    signature = infer_signature(
        [{"amount": 1.5, "country": "FR"}, {"amount": 2.0, "country": "DE"}]
    )
    assert _types(signature) == {"amount": "float64", "country": "string"}


def test_a_2d_array_gives_a_tensor_signature_with_the_feature_count() -> None:
    signature = infer_signature(np.zeros((4, 30), dtype="float32"))
    assert signature.kind == "tensor"
    assert signature.inputs == (ColumnSpec("input", "float32", False, (-1, 30)),)


def test_a_1d_array_gives_a_tensor_of_any_length() -> None:
    signature = infer_signature(np.array([1.0, np.nan, 3.0]))
    assert signature.inputs == (ColumnSpec("input", "float64", True, (-1,)),)


def test_a_list_of_texts_gives_a_string_tensor() -> None:
    signature = infer_signature(["good product", "never again"])
    assert signature.inputs == (ColumnSpec("input", "string", False, (-1,)),)


def test_an_int_array_with_nulls_is_refused_as_an_example() -> None:
    with pytest.raises(InvalidInputError, match=r"int64 values and nulls.*np\.nan"):
        infer_signature(np.array([[1, None]], dtype=object))


def test_predictions_fill_the_outputs() -> None:
    frame = _frame()
    labels = infer_signature(frame, predictions=np.array([0, 1, 0]))
    assert labels.outputs == (ColumnSpec("prediction", "int64"),)
    proba = infer_signature(frame, predictions=np.full((3, 2), 0.5))
    assert proba.outputs == (ColumnSpec("prediction", "float64", False, (-1, 2)),)
    both = infer_signature(
        frame, predictions={"label": ["yes", "no", "yes"], "probabilities": np.full((3, 2), 0.5)}
    )
    assert both.outputs == (
        ColumnSpec("label", "string"),
        ColumnSpec("probabilities", "float64", False, (-1, 2)),
    )
    framed = infer_signature(frame, predictions=pd.DataFrame({"score": [0.1, 0.2, 0.3]}))
    assert framed.outputs == (ColumnSpec("score", "float64"),)


def test_predictions_with_a_different_row_count_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"predictions has 2 rows but the example has 3"):
        infer_signature(_frame(), predictions=np.array([0, 1]))


def test_classes_from_numpy_are_stored_as_plain_python_values() -> None:
    signature = infer_signature(_frame(), classes=np.array([0, 1]))
    assert signature.classes == (0, 1)
    assert all(type(c) is int for c in signature.classes)


@pytest.mark.parametrize(
    "example",
    [
        pd.DataFrame({"amount": pd.Series([], dtype="float64")}),
        pl.DataFrame({"amount": pl.Series([], dtype=pl.Float64)}),
        np.zeros((0, 3)),
        [],
        {},
    ],
    ids=["pandas", "polars", "ndarray", "list", "dict"],
)
def test_an_empty_example_is_refused(example: object) -> None:
    with pytest.raises(InvalidInputError, match=r"empty|no rows"):
        infer_signature(example)


@pytest.mark.parametrize("example", [{1, 2}, "amount", 3.5, object()])
def test_an_unsupported_example_type_is_refused_naming_what_is_accepted(example: object) -> None:
    with pytest.raises(InvalidInputError, match=r"pandas or polars DataFrame, a dict of columns"):
        infer_signature(example)


def test_a_polars_lazyframe_must_be_collected_first() -> None:
    with pytest.raises(InvalidInputError, match=r"collect\(\)"):
        infer_signature(pl.DataFrame({"a": [1]}).lazy())


def test_a_column_mixing_numbers_and_text_is_refused_naming_it() -> None:
    frame = pd.DataFrame({"code": pd.Series([1, "A"], dtype=object)})
    with pytest.raises(InvalidInputError, match=r"column 'code' mixes kinds of values"):
        infer_signature(frame)


def test_a_column_holding_only_nulls_is_refused_naming_it() -> None:
    frame = pd.DataFrame({"note": pd.Series([None, None], dtype=object)})
    with pytest.raises(InvalidInputError, match=r"column 'note' holds only nulls"):
        infer_signature(frame)


def test_a_column_of_an_unsupported_type_is_refused_naming_it() -> None:
    frame = pd.DataFrame({"wait": pd.to_timedelta([1, 2], unit="s")})
    with pytest.raises(InvalidInputError, match=r"column 'wait' has type timedelta64"):
        infer_signature(frame)


def test_column_names_that_are_not_strings_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"not strings.*df\.columns"):
        infer_signature(pd.DataFrame(np.zeros((2, 2))))


def test_importing_the_module_does_not_import_pandas() -> None:
    code = (
        "import sys, loopml.models; before = 'pandas' in sys.modules; "
        "import loopml.models._signature as s; "
        "s.Signature((s.ColumnSpec('a', 'float64'),)); "
        "print(before, 'pandas' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    before, after = result.stdout.split()
    assert after == before


# ---------------------------------------------------------------- to_dict / from_dict


def test_a_columns_signature_round_trips_through_json_and_yaml() -> None:
    frame = _frame().assign(amount=[1.0, None, 2.0])
    signature = infer_signature(frame, predictions=np.array([0, 1, 0]), classes=[0, 1])
    d = signature.to_dict()
    assert Signature.from_dict(d) == signature
    assert Signature.from_dict(json.loads(json.dumps(d))) == signature
    assert Signature.from_dict(yaml.safe_load(yaml.safe_dump(d))) == signature
    assert d["inputs"][0] == {"name": "amount", "type": "float64", "nullable": True, "shape": None}


def test_a_tensor_signature_round_trips_with_its_shape() -> None:
    signature = infer_signature(
        np.zeros((2, 30)), predictions=np.full((2, 3), 0.3), classes=["a", "b", "c"]
    )
    d = signature.to_dict()
    assert d["inputs"][0]["shape"] == [-1, 30]
    assert Signature.from_dict(yaml.safe_load(yaml.safe_dump(d))) == signature


def test_from_dict_fills_defaults_for_optional_fields() -> None:
    signature = Signature.from_dict({"inputs": [{"name": "a", "type": "int64"}]})
    assert signature == Signature((ColumnSpec("a", "int64"),))


def _spec(**fields: object) -> dict[str, object]:
    return {"name": "a", "type": "float64", **fields}


@pytest.mark.parametrize(
    ("d", "message"),
    [
        ([_spec()], r"signature: must be a mapping"),
        ({"inputs": [_spec()], "colour": 1}, r"unknown field\(s\) 'colour'"),
        ({"inputs": [_spec()], "kind": "matrix"}, r"signature\.kind"),
        ({"outputs": []}, r"signature\.inputs: missing"),
        ({"inputs": "a"}, r"signature\.inputs: must be a list"),
        ({"inputs": []}, r"signature\.inputs: a signature needs at least one input"),
        ({"inputs": ["a"]}, r"signature\.inputs\[0\]: must be a mapping"),
        ({"inputs": [{"type": "int64"}]}, r"signature\.inputs\[0\]\.name: missing"),
        ({"inputs": [_spec(), _spec(type="float")]}, r"signature\.inputs\[1\]\.type: 'float'"),
        ({"inputs": [_spec(nullable="yes")]}, r"signature\.inputs\[0\]\.nullable"),
        ({"inputs": [_spec(shape=[-1, 0])]}, r"signature\.inputs\[0\]\.shape"),
        ({"inputs": [_spec(dtype="x")]}, r"signature\.inputs\[0\]: unknown field\(s\) 'dtype'"),
        ({"inputs": [_spec(), _spec()]}, r"signature\.inputs: duplicate names 'a'"),
        ({"inputs": [_spec()], "outputs": [{"name": ""}]}, r"signature\.outputs\[0\]\.type"),
        ({"inputs": [_spec()], "classes": "ab"}, r"signature\.classes: must be a list"),
        ({"inputs": [_spec()], "classes": [[1]]}, r"signature\.classes: each class"),
        ({"inputs": [_spec(shape=[-1, 3])]}, r"only a tensor signature"),
        ({"inputs": [_spec(), _spec(name="b")], "kind": "tensor"}, r"exactly one input"),
    ],
)
def test_a_malformed_dict_is_refused_naming_the_field(d: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Signature.from_dict(d)


def test_a_column_spec_with_an_unknown_type_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"'double' is not a known type"):
        ColumnSpec("amount", "double")


def test_describe_gives_one_line_per_column() -> None:
    signature = Signature(
        (ColumnSpec("amount", "float64"), ColumnSpec("hour", "int64", nullable=True)),
        outputs=(ColumnSpec("label", "int64"),),
        classes=(0, 1),
    )
    assert describe(signature).splitlines() == [
        "amount: float64",
        "hour: int64 (nullable)",
        "output label: int64",
        "classes: 0, 1",
    ]
    tensor = infer_signature(np.zeros((2, 30), dtype="float32"))
    assert describe(tensor) == "input: float32, shape (-1, 30)"


# ---------------------------------------------------------------- enforce: columns


def test_a_matching_frame_comes_back_equal(sig: Signature) -> None:
    frame = _frame()
    pd.testing.assert_frame_equal(enforce(sig, frame), frame)


def test_the_callers_frame_is_never_modified(sig: Signature) -> None:
    frame = _frame()[["hour", "amount", "merchant_risk", "is_online", "country"]]
    frame = frame.assign(hour=frame["hour"].astype("int32"), amount=[1, 2, 3])
    before = frame.copy(deep=True)
    out = enforce(sig, frame)
    assert isinstance(out, pd.DataFrame)
    out.iloc[0, 0] = -1.0
    pd.testing.assert_frame_equal(frame, before)
    for name in frame.columns:
        assert not np.shares_memory(out[name].to_numpy(), frame[name].to_numpy())


def test_a_missing_column_is_named_in_the_error(sig: Signature) -> None:
    frame = _frame().drop(columns=["hour", "country"])
    with pytest.raises(SignatureError, match=r"missing column\(s\) 'hour', 'country'") as e:
        enforce(sig, frame)
    assert "hour: int64" in str(e.value)


def test_a_renamed_column_is_reported_as_missing_with_the_new_name(sig: Signature) -> None:
    frame = _frame().rename(columns={"hour": "hour_of_day"})
    with pytest.raises(SignatureError, match=r"'hour'.*'hour_of_day' instead"):
        enforce(sig, frame)


def test_an_extra_column_is_an_error_naming_allow_extra(sig: Signature) -> None:
    with pytest.raises(SignatureError, match=r"unexpected column\(s\) 'note'.*allow_extra=True"):
        enforce(sig, _frame().assign(note="x"))


def test_allow_extra_drops_the_extra_columns(sig: Signature) -> None:
    out = enforce(sig, _frame().assign(note="x"), allow_extra=True)
    assert list(out.columns) == list(sig.names)


def test_columns_are_reordered_to_the_signature_order(sig: Signature) -> None:
    frame = _frame()
    out = enforce(sig, frame[list(reversed(frame.columns))])
    pd.testing.assert_frame_equal(out, frame)


def test_the_index_of_the_callers_frame_is_kept(sig: Signature) -> None:
    frame = _frame().set_axis([10, 20, 30])
    out = enforce(sig, frame)
    assert list(out.index) == [10, 20, 30]


def test_ints_and_bools_become_floats() -> None:
    signature = Signature((ColumnSpec("a", "float64"), ColumnSpec("b", "float32")))
    out = enforce(signature, {"a": [1, 2], "b": [True, False]})
    assert out["a"].dtype == "float64" and out["a"].tolist() == [1.0, 2.0]
    assert out["b"].dtype == "float32" and out["b"].tolist() == [1.0, 0.0]


def test_float32_and_float64_convert_both_ways() -> None:
    signature = Signature((ColumnSpec("a", "float64"), ColumnSpec("b", "float32")))
    out = enforce(
        signature, {"a": np.array([0.5], dtype="float32"), "b": np.array([0.25], dtype="float64")}
    )
    assert (out["a"].dtype, out["b"].dtype) == ("float64", "float32")
    assert out["a"].tolist() == [0.5] and out["b"].tolist() == [0.25]


def test_a_float64_too_large_for_float32_is_refused() -> None:
    signature = Signature((ColumnSpec("b", "float32"),))
    with pytest.raises(SignatureError, match=r"column 'b' \(float32\).*too large.*1e\+300"):
        enforce(signature, {"b": [1e300]})


def test_bools_become_ints() -> None:
    out = enforce(Signature((ColumnSpec("a", "int64"),)), {"a": [True, False]})
    assert out["a"].dtype == "int64" and out["a"].tolist() == [1, 0]


def test_int64_becomes_int32_when_the_values_fit() -> None:
    signature = Signature((ColumnSpec("a", "int32"),))
    out = enforce(signature, {"a": np.array([-5, 2**31 - 1], dtype="int64")})
    assert out["a"].dtype == "int32" and out["a"].tolist() == [-5, 2**31 - 1]
    back = enforce(Signature((ColumnSpec("a", "int64"),)), {"a": np.array([7], dtype="int32")})
    assert back["a"].dtype == "int64"


def test_an_int_that_does_not_fit_is_refused_naming_the_value() -> None:
    signature = Signature((ColumnSpec("a", "int32"),))
    with pytest.raises(SignatureError, match=r"column 'a' \(int32\).*outside.*such as 2147483648"):
        enforce(signature, {"a": [1, 2**31]})
    with pytest.raises(SignatureError, match=r"column 'u' \(uint8\).*such as -1"):
        enforce(Signature((ColumnSpec("u", "uint8"),)), {"u": [-1, 3]})


def test_a_float_becomes_an_int_when_every_value_is_whole() -> None:
    out = enforce(Signature((ColumnSpec("hour", "int64"),)), {"hour": [8.0, 13.0]})
    assert out["hour"].dtype == "int64" and out["hour"].tolist() == [8, 13]


def test_a_float_with_a_fraction_is_refused_naming_the_column_and_a_bad_value() -> None:
    with pytest.raises(SignatureError, match=r"column 'hour' \(int64\).*not whole.*such as 8\.5"):
        enforce(Signature((ColumnSpec("hour", "int64"),)), {"hour": [7.0, 8.5]})


def test_a_float_too_large_for_the_int_type_is_refused() -> None:
    with pytest.raises(SignatureError, match=r"outside the int8 range"):
        enforce(Signature((ColumnSpec("a", "int8"),)), {"a": [128.0]})


def test_numbers_in_strings_are_not_converted(sig: Signature) -> None:
    with pytest.raises(SignatureError, match=r"column 'amount' \(float64\) got strings.*'12\.5'"):
        enforce(sig, _row(amount="12.5"))
    with pytest.raises(SignatureError, match=r"column 'hour' \(int64\) got strings"):
        enforce(sig, _row(hour="9"))


def test_ints_are_not_read_as_bools(sig: Signature) -> None:
    with pytest.raises(SignatureError, match=r"column 'is_online' \(bool\).*True/False"):
        enforce(sig, _row(is_online=1))


def test_nulls_in_a_non_nullable_column_are_refused_with_their_count(sig: Signature) -> None:
    frame = _frame().assign(amount=[1.0, None, np.nan])
    with pytest.raises(SignatureError, match=r"column 'amount' \(float64\) has 2 null value\(s\)"):
        enforce(sig, frame)


def test_nulls_in_a_nullable_column_are_kept() -> None:
    signature = Signature(
        (
            ColumnSpec("a", "float64", nullable=True),
            ColumnSpec("n", "int64", nullable=True),
            ColumnSpec("b", "bool", nullable=True),
            ColumnSpec("s", "string", nullable=True),
        )
    )
    out = enforce(
        signature, {"a": [1.0, None], "n": [1.0, None], "b": [True, None], "s": ["x", None]}
    )
    assert np.isnan(out["a"].iloc[1])
    assert str(out["n"].dtype) == "Int64" and out["n"].iloc[0] == 1 and out["n"].isna().iloc[1]
    assert str(out["b"].dtype) == "boolean" and out["b"].isna().iloc[1]
    assert out["s"].isna().tolist() == [False, True]


def test_an_infinite_value_in_a_float_column_is_refused(sig: Signature) -> None:
    with pytest.raises(SignatureError, match=r"column 'amount' \(float64\) has 1 non-finite"):
        enforce(sig, _row(amount=float("inf")))


def test_a_number_in_a_string_column_is_refused(sig: Signature) -> None:
    with pytest.raises(SignatureError, match=r"column 'country' \(string\) got .* such as 33"):
        enforce(sig, _row(country=33))


def test_a_category_column_takes_strings_or_a_categorical() -> None:
    signature = Signature((ColumnSpec("segment", "category"),))
    out = enforce(signature, {"segment": ["a", "b"]})
    assert isinstance(out["segment"].dtype, pd.CategoricalDtype)
    assert out["segment"].tolist() == ["a", "b"]
    given_cat = pd.DataFrame({"segment": pd.Categorical(["b"], categories=["a", "b"])})
    out = enforce(signature, given_cat)
    assert list(out["segment"].cat.categories) == ["a", "b"]
    with pytest.raises(SignatureError, match=r"column 'segment' \(category\) got"):
        enforce(signature, {"segment": [1]})


def test_a_categorical_of_strings_is_accepted_by_a_string_column(sig: Signature) -> None:
    out = enforce(sig, _frame().assign(country=pd.Categorical(["FR", "DE", "FR"])))
    assert out["country"].tolist() == ["FR", "DE", "FR"]
    assert not isinstance(out["country"].dtype, pd.CategoricalDtype)


def test_a_datetime_column_takes_datetimes_and_iso_strings() -> None:
    signature = Signature((ColumnSpec("seen_at", "datetime64[ns]"),))
    out = enforce(signature, {"seen_at": ["2024-05-01T13:45:00", "2024-05-02"]})
    assert out["seen_at"].dtype == "datetime64[ns]"
    assert out["seen_at"].iloc[0] == pd.Timestamp("2024-05-01 13:45")
    out = enforce(signature, {"seen_at": pd.to_datetime(["2024-05-01"]).astype("datetime64[s]")})
    assert out["seen_at"].dtype == "datetime64[ns]"


def test_an_unparseable_time_is_refused_naming_the_value() -> None:
    signature = Signature((ColumnSpec("seen_at", "datetime64[ns]"),))
    with pytest.raises(SignatureError, match=r"column 'seen_at'.*not ISO 8601.*'yesterday'"):
        enforce(signature, {"seen_at": ["2024-05-01", "yesterday"]})
    with pytest.raises(SignatureError, match=r"column 'seen_at'.*numbers are not read as times"):
        enforce(signature, {"seen_at": [1714570000]})


def test_a_time_zone_mismatch_is_refused() -> None:
    naive = Signature((ColumnSpec("t", "datetime64[ns]"),))
    with pytest.raises(SignatureError, match=r"time zone .* naive"):
        enforce(naive, {"t": ["2024-05-01T10:00:00+02:00"]})
    aware = Signature((ColumnSpec("t", "datetime64[ns, UTC]"),))
    out = enforce(aware, {"t": ["2024-05-01T10:00:00+02:00"]})
    assert out["t"].iloc[0] == pd.Timestamp("2024-05-01T08:00:00", tz="UTC")
    with pytest.raises(SignatureError, match=r"naive times"):
        enforce(aware, {"t": pd.to_datetime(["2024-05-01"])})


def test_every_wrong_column_is_named_in_one_error(sig: Signature) -> None:
    with pytest.raises(SignatureError) as e:
        enforce(sig, _row(amount="x", hour=1.5))
    assert "column 'amount'" in str(e.value) and "column 'hour'" in str(e.value)


def test_a_signature_error_is_an_invalid_input_error() -> None:
    assert issubclass(SignatureError, InvalidInputError)
    assert issubclass(SignatureError, ValueError)


def test_a_dict_of_scalars_is_one_row(sig: Signature) -> None:
    out = enforce(sig, _row())
    assert len(out) == 1
    assert out.dtypes.astype(str).tolist() == ["float64", "int64", "float32", "bool", "str"]


def test_records_and_polars_frames_are_accepted(sig: Signature) -> None:
    expected = _frame()
    records = expected.to_dict("records")
    pd.testing.assert_frame_equal(enforce(sig, records), expected)
    pd.testing.assert_frame_equal(enforce(sig, pl.from_pandas(expected)), expected)


def test_rows_without_names_are_read_by_position(sig: Signature) -> None:
    out = enforce(sig, [[1, 2.0, 0.5, False, "FR"]])
    assert out.iloc[0].tolist() == [1.0, 2, 0.5, False, "FR"]
    numbers = Signature((ColumnSpec("a", "float64"), ColumnSpec("b", "int64")))
    out = enforce(numbers, np.array([[1.5, 2.0], [3.0, 4.0]]))
    assert out["b"].dtype == "int64" and out["b"].tolist() == [2, 4]


def test_rows_of_the_wrong_width_are_refused_naming_the_column_order(sig: Signature) -> None:
    with pytest.raises(SignatureError, match=r"5 columns, in this order: 'amount', 'hour'"):
        enforce(sig, [[1.0, 2]])
    with pytest.raises(SignatureError, match=r"shape \(2, 3\).*\(rows, 5\)"):
        enforce(sig, np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.zeros(5), r"shape \(5,\)"),
        (pd.Series([1.0, 2.0]), r"pandas Series"),
        ("amount", r"unsupported type"),
        (pl.DataFrame({"a": [1]}).lazy(), r"collect\(\)"),
    ],
    ids=["1d-array", "series", "string", "lazyframe"],
)
def test_data_of_the_wrong_form_is_refused(sig: Signature, data: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        enforce(sig, data)


def test_data_without_rows_is_refused(sig: Signature) -> None:
    with pytest.raises(SignatureError, match=r"no rows"):
        enforce(sig, _frame().iloc[:0])


# ---------------------------------------------------------------- enforce: tensors


@pytest.fixture
def tensor() -> Signature:
    return infer_signature(np.zeros((3, 4)))


def test_a_tensor_of_the_right_shape_comes_back_as_a_new_array(tensor: Signature) -> None:
    data = np.arange(8, dtype="float64").reshape(2, 4)
    out = enforce(tensor, data)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, data)
    assert not np.shares_memory(out, data)


def test_a_tensor_with_the_wrong_feature_count_names_expected_and_got_shapes(
    tensor: Signature,
) -> None:
    with pytest.raises(
        SignatureError, match=r"shape \(2, 5\) but the model takes shape \(rows, 4\)"
    ):
        enforce(tensor, np.zeros((2, 5)))
    with pytest.raises(SignatureError, match=r"shape \(2, 2, 2\)"):
        enforce(tensor, np.zeros((2, 2, 2)))


def test_a_1d_array_is_one_row_of_a_tensor(tensor: Signature) -> None:
    out = enforce(tensor, [1, 2, 3, 4])
    assert isinstance(out, np.ndarray)
    assert out.shape == (1, 4) and out.dtype == "float64"


def test_tensor_values_are_coerced_by_the_same_rules() -> None:
    ints = infer_signature(np.zeros((2, 2), dtype="int64"))
    out = enforce(ints, np.array([[1.0, 2.0]]))
    assert isinstance(out, np.ndarray) and out.dtype == "int64"
    with pytest.raises(SignatureError, match=r"the input array \(int64\).*not whole.*0\.5"):
        enforce(ints, np.array([[1.0, 0.5]]))
    with pytest.raises(SignatureError, match=r"the input array \(int64\) got strings"):
        enforce(ints, [["1", "2"]])
    with pytest.raises(SignatureError, match=r"has 1 null value"):
        enforce(infer_signature(np.zeros((2, 2))), np.array([[1.0, np.nan]]))


def test_a_frame_passed_to_a_tensor_model_is_read_as_an_array(tensor: Signature) -> None:
    out = enforce(tensor, pd.DataFrame(np.ones((2, 4))))
    assert isinstance(out, np.ndarray) and out.shape == (2, 4)


def test_named_columns_passed_to_a_tensor_model_are_refused(tensor: Signature) -> None:
    with pytest.raises(SignatureError, match=r"not named columns"):
        enforce(tensor, {"a": [1.0]})


def test_a_string_tensor_comes_back_as_an_object_array() -> None:
    signature = infer_signature(["good", "bad"])
    out = enforce(signature, np.array(["fine"]))
    assert isinstance(out, np.ndarray)
    assert out.dtype == object and out.tolist() == ["fine"]


# ---------------------------------------------------------------- property


@st.composite
def _frames(draw: st.DrawFn) -> pd.DataFrame:
    dtypes = draw(
        st.lists(
            st.sampled_from(["int64", "int32", "int8", "uint8", "float64", "float32", "bool"]),
            min_size=1,
            max_size=6,
        )
    )
    columns = []
    for i, dtype in enumerate(dtypes):
        elements = None
        if dtype.startswith("float"):
            width = 32 if dtype == "float32" else 64
            elements = st.floats(allow_infinity=False, allow_nan=True, width=width)
        columns.append(hpd.column(f"c{i}", dtype=np.dtype(dtype), elements=elements))
    return draw(hpd.data_frames(columns=columns, index=hpd.range_indexes(min_size=1, max_size=20)))


@settings(max_examples=60, deadline=None)
@given(frame=_frames(), data=st.data())
def test_enforcing_a_frame_against_its_own_signature_gives_it_back(
    frame: pd.DataFrame, data: st.DataObject
) -> None:
    signature = infer_signature(frame)
    pd.testing.assert_frame_equal(enforce(signature, frame), frame)
    shuffled = data.draw(st.permutations(list(frame.columns)))
    pd.testing.assert_frame_equal(enforce(signature, frame[shuffled]), frame)


def test_a_frame_that_already_conforms_takes_the_fast_path_and_comes_back_equal() -> None:
    import pandas as pd

    from loopml.models._signature import _already_conforming

    frame = pd.DataFrame({f"c{i}": [float(i), 2.0 * i] for i in range(30)})
    frame["n"] = pd.Series([1, 2], dtype="int64")
    signature = infer_signature(frame)
    shuffled = frame[list(reversed(frame.columns))]
    fast = _already_conforming(signature, shuffled)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, frame)
    assert fast is not shuffled
    # Anything unusual goes the full way, which names the problem.
    with_nan = frame.copy()
    with_nan.loc[0, "c3"] = float("nan")
    assert _already_conforming(signature, with_nan) is None
    assert _already_conforming(signature, frame.astype({"n": "float64"})) is None
    assert enforce(signature, frame).equals(frame)
