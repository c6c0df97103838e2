"""MLflow's scoring protocol: every request format to a table, predictions and errors back."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopml.serving._mlflow_codec import (
    FORMATS,
    decode_invocation,
    encode_error,
    encode_predictions,
)
from loopml.serving._v2_codec import ProtocolError

FRAME = pd.DataFrame(
    {"amount": [12.5, 80.0, 3.25], "hour": [1, 23, 7], "country": ["fr", "de", "fr"]}
)


def _decode(doc: Any, content_type: str = "application/json") -> tuple[Any, dict[str, Any]]:
    return decode_invocation(json.dumps(doc).encode(), content_type)


def _same_table(data: Any, expected: pd.DataFrame = FRAME) -> None:
    assert isinstance(data, pd.DataFrame)
    assert list(data.columns) == list(expected.columns)
    assert data.to_dict(orient="list") == expected.to_dict(orient="list")


# -- the formats --------------------------------------------------------------------------------
def test_dataframe_split_keeps_columns_data_and_index() -> None:
    split = FRAME.set_axis([10, 11, 12]).to_dict(orient="split")

    data, params = _decode({"dataframe_split": split})

    _same_table(data)
    assert list(data.index) == [10, 11, 12] and params == {}


def test_dataframe_split_without_columns_numbers_them() -> None:
    data, _ = _decode({"dataframe_split": {"data": [[1.0, 2.0], [3.0, 4.0]]}})

    assert list(data.columns) == [0, 1] and data.shape == (2, 2)


def test_dataframe_records_are_rows_by_name() -> None:
    data, _ = _decode({"dataframe_records": FRAME.to_dict(orient="records")})

    _same_table(data)


def test_instances_and_inputs_take_rows_as_objects_or_columns_as_an_object() -> None:
    records = FRAME.to_dict(orient="records")
    by_column = FRAME.to_dict(orient="list")
    for key in ("instances", "inputs"):
        _same_table(_decode({key: records})[0])
        _same_table(_decode({key: by_column})[0])


def test_instances_as_lists_are_an_array_of_rows() -> None:
    rows = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]

    data, _ = _decode({"instances": rows})

    assert isinstance(data, np.ndarray) and data.shape == (2, 3)
    np.testing.assert_array_equal(data, rows)
    assert _decode({"inputs": [1.0, 2.0]})[0].shape == (2,)


def test_an_object_of_scalars_is_one_row() -> None:
    data, _ = _decode({"inputs": {"amount": 12.5, "hour": 1, "country": "fr"}})

    _same_table(data, FRAME.head(1))


def test_params_come_back_beside_the_data() -> None:
    params = {"threshold": 0.3, "explain": True, "labels": ["a", "b"]}

    data, got = _decode({"dataframe_records": [{"x": 1}], "params": params})

    assert got == params and data.shape == (1, 1)
    assert _decode({"instances": [[1]], "params": None})[1] == {}


def test_csv_is_a_table_with_a_header() -> None:
    body = FRAME.to_csv(index=False).encode()

    for content_type in ("text/csv", "text/csv; charset=utf-8", "Text/CSV"):
        data, params = decode_invocation(body, content_type)
        _same_table(data)
        assert params == {}


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", ""]
)
def test_json_is_read_with_or_without_parameters_in_its_content_type(content_type: str) -> None:
    data, _ = decode_invocation(orjson.dumps({"instances": [[1, 2]]}), content_type)

    assert data.tolist() == [[1, 2]]


# -- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"instances"', "JSON object"),
        (b"{}", "exactly one of dataframe_split, dataframe_records, instances, inputs"),
        (b'{"instances": [[1]], "inputs": [[1]]}', "it has inputs, instances"),
        (b'{"instances": [[1]], "data": [[1]]}', "it has data, instances"),
        (b'{"params": {}}', "exactly one of"),
        (b'{"instances": [[1]], "params": [1]}', "params must be an object"),
        (b'{"dataframe_split": [[1]]}', "dataframe_split needs 'columns' and a 'data' list"),
        (b'{"dataframe_split": {"columns": ["a"]}}', "dataframe_split needs 'columns' and a"),
        (b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}', "every row needs 2"),
        (b'{"dataframe_split": {"columns": ["a"], "data": 5}}', "a 'data' list of rows"),
        (b'{"dataframe_records": {"a": 1}}', "list of row objects"),
        (b'{"dataframe_records": [{"a": 1}, 2]}', "list of row objects"),
        (b'{"instances": []}', "instances must be a non-empty list"),
        (b'{"inputs": 5}', "inputs must be a non-empty list"),
        (b'{"instances": [[1, 2], [3]]}', "instances cannot be read as a table"),
        (b'{"instances": [[1, {"a": 1}]]}', "instances"),
        (b'{"inputs": {"a": [1, 2], "b": [1]}}', "inputs cannot be read as a table"),
    ],
)
def test_bad_json_is_a_protocol_error_naming_the_problem(body: bytes, words: str) -> None:
    with pytest.raises(ProtocolError, match=words.replace("(", r"\(")):
        decode_invocation(body, "application/json")


@pytest.mark.parametrize(
    "body",
    [b"", b'a,b\n"1,2\n', b"\xff\xfe\x00a,b\n1,2\n"],
    ids=["empty", "open-quote", "not-utf8"],
)
def test_unreadable_csv_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError, match="the CSV body cannot be read"):
        decode_invocation(body, "text/csv")


@pytest.mark.parametrize("content_type", ["application/xml", "text/plain", "multipart/form-data"])
def test_other_content_types_are_refused_naming_the_ones_taken(content_type: str) -> None:
    with pytest.raises(ProtocolError, match="send application/json or text/csv") as caught:
        decode_invocation(b"{}", content_type)
    assert repr(content_type) in str(caught.value)


def test_a_dataframe_split_index_that_does_not_match_its_rows_is_refused() -> None:
    doc = {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]], "index": [0, 1, 2]}}

    with pytest.raises(ProtocolError, match="index"):
        _decode(doc)


@pytest.mark.parametrize(
    "split",
    [
        {"columns": [["a"], "b"], "data": [[1, 2]]},
        {"columns": [{"a": 1}, "b"], "data": [[1, 2]]},
        {"columns": [[1], 2], "data": None},
    ],
    ids=["list-name", "object-name", "list-name-no-data"],
)
def test_column_names_that_are_not_strings_or_numbers_are_refused(split: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError, match="column"):
        _decode({"dataframe_split": split})


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4)
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=16,
)
_split = st.fixed_dictionaries(
    {},
    optional={
        "columns": st.lists(st.text(max_size=3) | st.integers(0, 5), max_size=4),
        "data": _json,
        "index": _json,
    },
)


@given(st.dictionaries(st.sampled_from([*FORMATS, "params", "extra"]), _json | _split, max_size=3))
def test_any_json_object_decodes_or_is_a_protocol_error(doc: dict[str, Any]) -> None:
    try:
        data, params = decode_invocation(orjson.dumps(doc), "application/json")
    except ProtocolError as exc:
        assert str(exc)
    else:
        assert isinstance(data, pd.DataFrame | np.ndarray) and isinstance(params, dict)


# -- answers ------------------------------------------------------------------------------------
def test_predictions_of_an_array_are_a_list() -> None:
    assert json.loads(encode_predictions(np.array([0, 1, 1]))) == {"predictions": [0, 1, 1]}
    probabilities = np.array([[0.25, 0.75], [1.0, 0.0]], dtype=np.float32)
    assert json.loads(encode_predictions(probabilities)) == {
        "predictions": [[0.25, 0.75], [1.0, 0.0]]
    }
    assert json.loads(encode_predictions(np.array(["cat", "dog"], dtype=object))) == {
        "predictions": ["cat", "dog"]
    }


def test_predictions_of_a_list_or_a_series_are_a_list() -> None:
    assert json.loads(encode_predictions([1.5, 2.5])) == {"predictions": [1.5, 2.5]}
    assert json.loads(encode_predictions(pd.Series([True, False]))) == {
        "predictions": [True, False]
    }


def test_predictions_of_a_dataframe_are_records() -> None:
    frame = pd.DataFrame({"label": ["a", "b"], "score": [0.5, 0.25]})

    assert json.loads(encode_predictions(frame)) == {
        "predictions": [{"label": "a", "score": 0.5}, {"label": "b", "score": 0.25}]
    }


def test_errors_are_in_mlflows_format() -> None:
    assert json.loads(encode_error("missing column 'x'")) == {
        "error_code": "BAD_REQUEST",
        "message": "missing column 'x'",
    }
    assert json.loads(encode_error("boom", "INTERNAL_ERROR"))["error_code"] == "INTERNAL_ERROR"
