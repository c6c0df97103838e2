"""The fast input path (``serving._check``): a check compiled from a numeric signature turns a
request straight into the model's float64 matrix, and must give exactly what the general path
(``frame_from_v2`` / ``decode_invocation`` -> ``enforce`` -> the model) gives, or step aside
(None) so the general path can explain what is wrong.

Real scikit-learn models on real data, logged and loaded through the registry once per module.
"""

from __future__ import annotations

import asyncio
import math
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import loopml
from loopml.models._loader import LoadedModel
from loopml.models._signature import ColumnSpec, Signature, enforce, infer_signature
from loopml.serving._app import (
    HTTPError,
    ServedModel,
    Server,
    create_server,
    frame_from_v2,
    load,
    predict_outputs,
)
from loopml.serving._batch import Batcher
from loopml.serving._check import FastInput, compile_fast, without_feature_names
from loopml.serving._mlflow_codec import decode_invocation
from loopml.serving._v2_codec import ProtocolError, Tensor, decode_request

BY_NAME = ["mean radius", "mean texture", "worst area"]


def frame_only_scaling(data: Any) -> Any:
    """A first step that halves a frame but lets a bare matrix through untouched: a model
    whose fast (matrix) and general (frame) predictions differ."""
    return data / 2.0 if isinstance(data, pd.DataFrame) else data


@dataclass
class Models:
    """Real models logged once per module, loaded as the server loads them."""

    cancer_x: pd.DataFrame  # breast cancer: 30 float64 columns
    patients_x: pd.DataFrame  # diabetes, raw: age and sex int64, the rest float64
    cancer: ServedModel  # StandardScaler + LogisticRegression
    patients: ServedModel  # StandardScaler + LogisticRegression on int and float columns
    tensor: ServedModel  # fitted and logged on a bare ndarray: a tensor signature
    fast_server: Server  # cancer, fast path
    general_server: Server  # cancer, the same version forced onto the general path
    by_name_server: Server  # a ColumnTransformer that selects columns by name


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    folder = tmp_path_factory.mktemp("registry")
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    raw, target = load_diabetes(scaled=False, return_X_y=True, as_frame=True)
    patients = raw.assign(age=raw["age"].astype("int64"), sex=raw["sex"].astype("int64"))
    high = (target > target.median()).astype("int64")
    cancer_model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    patients_model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        patients, high
    )
    tensor_model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        x.to_numpy(), y
    )
    by_name_model = make_pipeline(
        ColumnTransformer([("scale", StandardScaler(), BY_NAME)]), LogisticRegression()
    ).fit(x, y)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        for name in ("LOOPML_URI", "LOOPML_ARTIFACTS", "LOOPML_DEBUG"):
            mp.delenv(name, raising=False)
        loopml.init(folder)
        loopml.log_model(cancer_model, "cancer", input_example=x.head(20))
        loopml.log_model(patients_model, "patients", input_example=patients.head(20))
        loopml.log_model(tensor_model, "tensor", input_example=x.head(20).to_numpy())
        loopml.log_model(by_name_model, "by_name", input_example=x.head(20))
        cancer, patients_served, tensor = (
            load(f"models:/{name}/1") for name in ("cancer", "patients", "tensor")
        )
        fast_server = create_server(["models:/cancer/1"], prediction_log="off")
        general_server = create_server(["models:/cancer/1"], prediction_log="off")
        by_name_server = create_server(["models:/by_name/1"], prediction_log="off")
    general_server.latest["cancer"].fast = None  # the same model, forced onto the general path
    return Models(
        x,
        patients,
        cancer,
        patients_served,
        tensor,
        fast_server,
        general_server,
        by_name_server,
    )


# -- helpers ------------------------------------------------------------------------------------
def v2(*inputs: dict[str, Any]) -> list[Tensor]:
    """The tensors of a V2 JSON request, decoded as the server decodes them."""
    return decode_request(orjson.dumps({"inputs": list(inputs)})).inputs


def two_d(frame: pd.DataFrame, datatype: str = "FP64", name: str = "rows") -> dict[str, Any]:
    values = frame.to_numpy()
    values = np.rint(values).astype("int64") if datatype == "INT64" else values.astype(float)
    return {"name": name, "shape": list(frame.shape), "datatype": datatype, "data": values.tolist()}


def column(
    frame: pd.DataFrame, name: str, datatype: str = "FP64", shape_2d: bool = False
) -> dict[str, Any]:
    values = frame[name].to_numpy()
    values = np.rint(values).astype("int64") if datatype == "INT64" else values.astype(float)
    shape = [len(frame), 1] if shape_2d else [len(frame)]
    return {"name": name, "shape": shape, "datatype": datatype, "data": values.tolist()}


def split(frame: pd.DataFrame, columns: list[str] | None = None) -> dict[str, Any]:
    """MLflow's ``dataframe_split`` as a client writes it (ints in int columns)."""
    columns = list(frame.columns) if columns is None else columns
    return {
        "dataframe_split": {"columns": columns, "data": frame[columns].to_dict("split")["data"]}
    }


def fast_outputs(served: ServedModel, matrix: Any) -> dict[str, Any]:
    """What the server's fast path answers: the checked matrix, through a batcher."""
    assert matrix is not None, "the fast path refused an input it should take"
    assert matrix.dtype == np.float64 and matrix.shape[1] == len(served.columns)
    batcher = Batcher(served.fast_model, name=served.name, proba=True)
    try:
        return asyncio.run(batcher.predict(matrix, "predict_proba" in served.outputs))
    finally:
        batcher.close()


def assert_same(fast: dict[str, Any], general: dict[str, Any]) -> None:
    """The same outputs, bit for bit."""
    assert fast.keys() == general.keys()
    for name in fast:
        assert fast[name].dtype == general[name].dtype, name
        assert fast[name].shape == general[name].shape, name
        assert np.array_equal(fast[name], general[name]), name


def general_v2(served: ServedModel, tensors: list[Tensor]) -> dict[str, Any]:
    """What the server's general path answers for V2 ``tensors``."""
    return predict_outputs(served, frame_from_v2(served, tensors), served.outputs)


def _general_frame(doc: Any) -> Any:
    """The frame the general path makes of an MLflow invocation (``doc``: the parsed body)."""
    return decode_invocation(b"", "application/json", doc)[0]  # the body matters for CSV only


def general_split(served: ServedModel, doc: Any) -> dict[str, Any]:
    """What the server's general path answers for an MLflow invocation ``doc``."""
    return predict_outputs(served, _general_frame(doc), served.outputs)


def serve(server: Server, requests: list[tuple[str, Any]]) -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://loopml") as client:
            return [
                await client.post(
                    path, content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
                )
                for path, body in requests
            ]

    return asyncio.run(main())


# -- which models get the fast path -------------------------------------------------------------
def test_a_model_with_numeric_inputs_gets_the_fast_path_on_a_copy_without_feature_names(
    models: Models,
) -> None:
    for served in (models.cancer, models.patients):
        assert served.fast is not None and served.fast_model is not None
        assert served.fast.columns == served.columns
        assert served.fast_model is not served.loaded.model
        assert not hasattr(served.fast_model, "feature_names_in_")
        assert hasattr(served.loaded.model, "feature_names_in_")  # the original keeps them
    assert models.patients.fast.integer == [
        name in ("age", "sex") for name in models.patients.columns
    ]


@pytest.mark.parametrize(
    "signature",
    [
        Signature((ColumnSpec("amount", "float64"), ColumnSpec("city", "string"))),
        Signature((ColumnSpec("amount", "float64"), ColumnSpec("fraud", "bool"))),
        Signature((ColumnSpec("amount", "float64"), ColumnSpec("city", "category"))),
        Signature((ColumnSpec("amount", "float64"), ColumnSpec("at", "datetime64[ns]"))),
        Signature((ColumnSpec("input", "float64", shape=(-1, 30)),), kind="tensor"),
        None,
    ],
    ids=["string", "bool", "category", "datetime", "tensor", "no signature"],
)
def test_a_signature_with_any_non_numeric_input_does_not_compile(signature: Any) -> None:
    assert FastInput.compile(signature) is None


def test_a_model_with_a_text_column_or_a_tensor_signature_keeps_the_general_path(
    models: Models,
) -> None:
    text = models.cancer_x.head(5).assign(city=["Lyon", "Oslo", "Lima", "Pune", "Kobe"])
    assert FastInput.compile(infer_signature(text)) is None
    assert models.tensor.loaded.signature.kind == "tensor"
    assert models.tensor.ready and models.tensor.fast is None


# -- the fast path gives exactly what the general path gives ------------------------------------
def _cancer_requests(x: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    names = list(x.columns)
    shuffled = list(np.random.default_rng(7).permutation(names))
    return {
        "one 2-D input": [two_d(x)],
        "one input per column": [column(x, n) for n in names],
        "one input per column, shuffled": [column(x, n) for n in shuffled],
        "one [n, 1] input per column": [column(x, n, shape_2d=True) for n in reversed(names)],
        "int inputs into float columns": [column(x, n, "INT64") for n in names],
        "one 2-D int input into float columns": [two_d(x, "INT64")],
    }


@pytest.mark.parametrize(
    "layout",
    [
        "one 2-D input",
        "one input per column",
        "one input per column, shuffled",
        "one [n, 1] input per column",
        "int inputs into float columns",
        "one 2-D int input into float columns",
    ],
)
@pytest.mark.parametrize("rows", [1, 37])
def test_the_fast_path_predicts_exactly_what_the_general_path_predicts_for_v2_inputs(
    models: Models, layout: str, rows: int
) -> None:
    x = models.cancer_x.iloc[100 : 100 + rows]
    tensors = v2(*_cancer_requests(x)[layout])
    served = models.cancer

    fast = fast_outputs(served, served.fast.from_v2(tensors))

    assert_same(fast, general_v2(served, tensors))
    assert set(fast) == {"predict", "predict_proba"}


def test_integral_floats_into_int_columns_and_ints_into_float_columns_take_the_fast_path(
    models: Models,
) -> None:
    served, x = models.patients, models.patients_x.iloc[50:80]
    ints = {"age", "sex"}
    cases = {
        "all as one FP64 matrix": [two_d(x)],
        "ints as INT64, floats as FP64": [
            column(x, n, "INT64" if n in ints else "FP64") for n in x.columns
        ],
        "ints as FP64 [n, 1], reversed": [column(x, n, shape_2d=True) for n in x.columns[::-1]],
        "everything rounded, as INT64": [column(x, n, "INT64") for n in x.columns],
    }
    for case, inputs in cases.items():
        tensors = v2(*inputs)
        matrix = served.fast.from_v2(tensors)
        assert matrix is not None, case
        assert_same(fast_outputs(served, matrix), general_v2(served, tensors))


@pytest.mark.parametrize("order", ["signature order", "permuted"])
def test_the_fast_path_predicts_exactly_what_the_general_path_predicts_for_dataframe_split(
    models: Models, order: str
) -> None:
    for served, x in ((models.cancer, models.cancer_x), (models.patients, models.patients_x)):
        names = list(x.columns)
        if order == "permuted":
            names = list(np.random.default_rng(3).permutation(names))
        doc = split(x.iloc[200:260], names)

        fast = fast_outputs(served, served.fast.from_split(doc))

        assert_same(fast, general_split(served, doc))


# -- anything else takes the general path -------------------------------------------------------
def _bad_v2(x: pd.DataFrame) -> dict[str, list[Tensor]]:
    names = list(x.columns)
    matrix = x.to_numpy()
    per_column = [Tensor(n, [len(x)], "FP64", x[n].to_numpy()) for n in names]

    def with_column(at: int, array: Any, datatype: str) -> list[Tensor]:
        tensors = list(per_column)
        tensors[at] = Tensor(names[at], list(array.shape), datatype, array)
        return tensors

    def with_value(value: float) -> list[Tensor]:
        bad = matrix.copy()
        bad[1, 4] = value
        return [Tensor("rows", list(bad.shape), "FP64", bad)]

    words = np.array([b"1.5"] * len(x), dtype=object)
    return {
        "a missing column": per_column[1:],
        "an extra column": [*per_column, Tensor("extra", [len(x)], "FP64", np.zeros(len(x)))],
        "a duplicate column": [per_column[0], *per_column[:-1]],
        "an unknown name in place of a column": [
            *per_column[:-1],
            Tensor("nope", [len(x)], "FP64", np.zeros(len(x))),
        ],
        "a matrix one column short": [Tensor("rows", [len(x), 29], "FP64", matrix[:, :29])],
        "a matrix one column wide": [
            Tensor("rows", [len(x), 31], "FP64", np.hstack([matrix, matrix[:, :1]]))
        ],
        "a 3-D matrix": [Tensor("rows", [len(x), 30, 1], "FP64", matrix[:, :, None])],
        "a 1-D matrix": [Tensor("rows", [30], "FP64", matrix[0])],
        "columns of different lengths": with_column(3, x[names[3]].to_numpy()[:-1], "FP64"),
        "a [n, 2] column": with_column(3, np.zeros((len(x), 2)), "FP64"),
        "a BYTES column": with_column(0, words, "BYTES"),
        "a BYTES matrix": [
            Tensor("rows", [len(x), 30], "BYTES", np.full((len(x), 30), b"1", dtype=object))
        ],
        "a BOOL column": with_column(2, np.ones(len(x), dtype=bool), "BOOL"),
        "a BOOL matrix": [Tensor("rows", [len(x), 30], "BOOL", matrix > 1)],
        "a NaN": with_value(math.nan),
        "an infinity": with_value(math.inf),
        "a minus infinity": with_value(-math.inf),
        "no rows": [Tensor("rows", [0, 30], "FP64", np.zeros((0, 30)))],
        "no rows, per column": [Tensor(n, [0], "FP64", np.zeros(0)) for n in names],
    }


BAD_V2 = list(_bad_v2(load_breast_cancer(as_frame=True).data.head(3)))


@pytest.mark.parametrize("case", BAD_V2)
def test_a_v2_input_the_fast_path_does_not_take_exactly_returns_none(
    models: Models, case: str
) -> None:
    tensors = _bad_v2(models.cancer_x.head(3))[case]

    assert models.cancer.fast.from_v2(tensors) is None
    # ... and the general path explains it (or, for BOOL, takes it: true is 1.0 there).
    try:
        general_v2(models.cancer, tensors)
    except (HTTPError, loopml.InvalidInputError) as exc:
        assert str(exc)
    else:
        assert "BOOL" in case


def test_a_fraction_in_an_int_column_returns_none_and_the_general_path_names_the_column(
    models: Models,
) -> None:
    served, x = models.patients, models.patients_x.head(4)
    fraction = x.assign(age=x["age"] + 0.5)

    assert served.fast.from_v2(v2(two_d(fraction))) is None
    assert served.fast.from_split(split(fraction)) is None
    with pytest.raises(loopml.InvalidInputError, match="'age'"):
        general_v2(served, v2(two_d(fraction)))


def _bad_splits(x: pd.DataFrame) -> dict[str, Any]:
    names = list(x.columns)
    data = x.to_numpy().tolist()

    def with_value(value: Any) -> dict[str, Any]:
        rows = [list(row) for row in data]
        rows[1][2] = value
        return {"dataframe_split": {"columns": names, "data": rows}}

    return {
        "not an object": [names, data],
        "another format": {"dataframe_records": x.to_dict(orient="records")},
        "params beside it": {**split(x), "params": {"threshold": 0.5}},
        "an index": {"dataframe_split": {"columns": names, "data": data, "index": [7, 8, 9]}},
        "no columns": {"dataframe_split": {"data": data}},
        "no data": {"dataframe_split": {"columns": names}},
        "no rows": {"dataframe_split": {"columns": names, "data": []}},
        "a missing column": {
            "dataframe_split": {"columns": names[1:], "data": [r[1:] for r in data]}
        },
        "an extra column": {
            "dataframe_split": {"columns": [*names, "extra"], "data": [[*r, 1.0] for r in data]}
        },
        "a renamed column": {"dataframe_split": {"columns": [*names[:-1], "nope"], "data": data}},
        "a duplicate column": {
            "dataframe_split": {"columns": [names[0], *names[:-1]], "data": data}
        },
        "more names than values": {
            "dataframe_split": {"columns": names, "data": [r[:-1] for r in data]}
        },
        "ragged rows": {"dataframe_split": {"columns": names, "data": [data[0], data[1][:-1]]}},
        "a null": with_value(None),
        "a NaN": with_value(math.nan),
        "an infinity": with_value(math.inf),
        "a string": with_value("1.5"),
        "a list in a cell": with_value([1.0]),
        "an object in a cell": with_value({"v": 1.0}),
        "an int beyond 64 bits": with_value(2**70),
        "a flat list of values": {"dataframe_split": {"columns": names, "data": data[0]}},
    }


BAD_SPLITS = list(_bad_splits(load_breast_cancer(as_frame=True).data.head(3)))


@pytest.mark.parametrize("case", BAD_SPLITS)
def test_a_dataframe_split_the_fast_path_does_not_take_exactly_returns_none(
    models: Models, case: str
) -> None:
    doc = _bad_splits(models.cancer_x.head(3))[case]

    assert models.cancer.fast.from_split(doc) is None


# -- properties ---------------------------------------------------------------------------------
NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6)
#: Whole numbers stay within 2**62: a float of 2**63 is taken by the fast path as an int64 and
#: refused by the general path (see test_a_whole_float_just_beyond_int64_is_refused_by_both_paths).
LIMIT = 2**62
#: The values a column of each type holds.
VALUES: dict[str, Any] = {
    "float64": st.floats(allow_nan=False, allow_infinity=False),
    "float32": st.floats(allow_nan=False, allow_infinity=False, width=32),
    "int64": st.integers(-LIMIT, LIMIT),
    "int32": st.integers(-(2**31), 2**31 - 1),
    "uint8": st.integers(0, 255),
}


def _served_for(signature: Signature) -> ServedModel:
    inputs = [spec.to_dict() for spec in signature.inputs]
    return ServedModel(name="m", version="1", loaded=None, inputs=inputs)


def _expected(signature: Signature, general_frame: Any) -> Any:
    return enforce(signature, general_frame)[list(signature.names)].to_numpy(np.float64)


def _agrees(matrix: Any, general: Any) -> None:
    """``matrix`` (the fast path's answer, or None) agrees with ``general()`` (the general
    path's matrix): the fast path takes nothing the general path refuses, and what it takes
    it takes as the general path does."""
    try:
        expected = general()
    except (HTTPError, ProtocolError, loopml.InvalidInputError):
        assert matrix is None, "the fast path took what the general path refuses"
        return
    if matrix is not None:
        assert np.array_equal(matrix, expected)


@st.composite
def numeric_frames(draw: st.DrawFn) -> tuple[Signature, pd.DataFrame, list[Any]]:
    """A signature of numeric columns, a frame for it (1-20 rows, finite values), and the rows
    as a client sends them (ints in int columns, floats in float columns)."""
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    types = [draw(st.sampled_from(list(VALUES))) for _ in names]
    rows = draw(st.integers(1, 20))
    columns = {
        n: draw(st.lists(VALUES[t], min_size=rows, max_size=rows))
        for n, t in zip(names, types, strict=True)
    }
    signature = Signature(tuple(ColumnSpec(n, t) for n, t in zip(names, types, strict=True)))
    frame = pd.DataFrame(
        {n: pd.Series(columns[n], dtype=t) for n, t in zip(names, types, strict=True)}
    )
    data = [[columns[n][i] for n in names] for i in range(rows)]
    return signature, frame, data


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(numeric_frames(), st.randoms(use_true_random=False))
def test_the_fast_matrix_of_any_numeric_frame_is_what_enforce_makes_of_it(
    drawn: tuple[Signature, pd.DataFrame, list[Any]], random: Any
) -> None:
    signature, frame, data = drawn
    fast = FastInput.compile(signature)
    assert fast is not None
    names = list(signature.names)
    order = list(range(len(names)))
    random.shuffle(order)
    doc = {
        "dataframe_split": {
            "columns": [names[i] for i in order],
            "data": [[row[i] for i in order] for row in data],
        }
    }
    datatypes = {"float64": "FP64", "float32": "FP32", "int64": "INT64", "int32": "INT32"}
    tensors = v2(
        *(
            {
                "name": names[i],
                "shape": [len(frame)],
                "datatype": datatypes.get(signature.inputs[i].type, "UINT8"),
                "data": frame[names[i]].tolist(),
            }
            for i in order
        )
    )
    one_matrix = v2(
        {
            "name": "rows",
            "shape": list(frame.shape),
            "datatype": "FP64",
            "data": frame.to_numpy(np.float64).tolist(),
        }
    )
    expected = _expected(signature, frame)

    assert np.array_equal(fast.from_split(doc), expected)
    assert np.array_equal(fast.from_v2(tensors), expected)
    assert np.array_equal(fast.from_v2(one_matrix), expected)
    # ... and the general path makes the same of the same requests.
    assert np.array_equal(_expected(signature, _general_frame(doc)), expected)
    served = _served_for(signature)
    assert np.array_equal(_expected(signature, frame_from_v2(served, tensors)), expected)
    assert np.array_equal(_expected(signature, frame_from_v2(served, one_matrix)), expected)


#: The signature of the malformed-input properties: each kind of numeric column.
FIXED_TYPES = {"a": "float64", "b": "int64", "c": "float32", "d": "uint8"}
FIXED = Signature(tuple(ColumnSpec(n, t) for n, t in FIXED_TYPES.items()))
#: What a client may put in a cell that a column may not take as it is.
BAD_CELLS = st.sampled_from(
    [
        *(math.nan, math.inf, -math.inf, None, True, False, "1.5", "", [1.0], {"v": 1}),
        *(0.5, -1, 256, 1e30, -1e300, 2**64, 3.5e38),
    ]
)
#: How a near-valid input is spoilt (most are left alone, so that the fast path is exercised).
MUTATIONS = st.sampled_from(
    ["none"] * 6
    + ["drop", "extra", "duplicate", "rename", "ragged", "no rows", "3-D", "container", "key"]
)


def _good(name: str, draw: st.DrawFn) -> Any:
    """A value column ``name`` of FIXED takes (whole numbers as ints or floats)."""
    value = draw(VALUES[FIXED_TYPES.get(name, "float64")])
    return float(value) if isinstance(value, int) and draw(st.booleans()) else value


def _cell(name: str, draw: st.DrawFn) -> Any:
    return draw(BAD_CELLS) if draw(st.integers(0, 24)) == 0 else _good(name, draw)


@st.composite
def splits(draw: st.DrawFn) -> Any:
    """Near-valid ``dataframe_split`` documents for FIXED, some spoilt in one way."""
    names = list(draw(st.permutations(list(FIXED_TYPES))))
    mutation = draw(MUTATIONS)
    rows = 0 if mutation == "no rows" else draw(st.integers(1, 5))
    data = [[_cell(name, draw) for name in names] for _ in range(rows)]
    if mutation == "drop":
        names.pop()
        data = [row[:-1] for row in data]
    elif mutation == "extra":
        names.append(draw(st.sampled_from(["e", "a", "A", ""])))
        data = [[*row, _good("e", draw)] for row in data]
    elif mutation == "duplicate":
        names[draw(st.integers(0, 3))] = names[draw(st.integers(0, 3))]
    elif mutation == "rename":
        names[draw(st.integers(0, 3))] = draw(st.sampled_from(["e", "A", "a ", "", 1, None]))
    elif mutation == "ragged":
        data[-1] = data[-1][: draw(st.integers(0, 3))]
    elif mutation == "3-D":
        data = [[[value] for value in row] for row in data]
    inner: dict[str, Any] = {"columns": names, "data": data}
    if mutation == "key":
        inner[draw(st.sampled_from(["index", "dtypes"]))] = list(range(rows))
    doc: Any = {"dataframe_split": inner}
    if mutation == "container":
        doc = draw(
            st.sampled_from(
                [
                    {**doc, "params": {}},
                    {"dataframe_split": data},
                    {"dataframe_split": {"columns": "abcd", "data": data}},
                    {"dataframe_split": {"columns": names, "data": tuple(data)}},
                    data,
                    None,
                ]
            )
        )
    return doc


def _general_matrix_of_split(doc: Any) -> Any:
    return _expected(FIXED, _general_frame(doc))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(splits())
def test_a_malformed_dataframe_split_never_raises_in_the_fast_path(doc: Any) -> None:
    fast = FastInput.compile(FIXED)
    assert fast is not None

    matrix = fast.from_split(doc)  # never raises: None, or what the general path makes of it

    event("fast path" if matrix is not None else "general path")
    _agrees(matrix, lambda: _general_matrix_of_split(doc))


def _objects(values: list[bytes]) -> Any:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


FLOAT32_MAX = float(np.finfo(np.float32).max)
_V2_TYPES = {"f8": "FP64", "f4": "FP32", "i8": "INT64", "i4": "INT32", "u1": "UINT8"}


def _column_array(name: str, rows: int, draw: st.DrawFn) -> tuple[Any, str]:
    """A column as a client may send it: a numeric type that holds its values (else FP64),
    rarely a NaN, an infinity, a value out of range, BOOL or BYTES."""
    rare = draw(st.integers(0, 24))
    if rare == 0:
        return np.ones(rows, dtype=bool), "BOOL"
    if rare == 1:
        return _objects([b"1"] * rows), "BYTES"
    values = [float(_good(name, draw)) for _ in range(rows)]
    if rare == 2 and rows:
        values[0] = draw(st.sampled_from([math.nan, math.inf, -math.inf, 0.5, -1.0, 1e300]))
    kind = draw(st.sampled_from(["f8", "f8", "i8", "i4", "u1", "f4"]))
    if all(math.isfinite(v) for v in values):
        if kind in ("i8", "i4", "u1"):
            info = np.iinfo(kind)
            if all(v.is_integer() and info.min <= v <= info.max for v in values):
                return np.asarray([int(v) for v in values], dtype=kind), _V2_TYPES[kind]
        elif kind == "f4" and all(abs(v) <= FLOAT32_MAX for v in values):
            return np.asarray(values, dtype="f4"), "FP32"
    return np.asarray(values, dtype=np.float64), "FP64"


@st.composite
def tensor_lists(draw: st.DrawFn) -> list[Tensor]:
    """Near-valid V2 inputs for FIXED (one 2-D input, or one per column), some spoilt."""
    names = list(draw(st.permutations(list(FIXED_TYPES))))
    mutation = draw(MUTATIONS)
    rows = 0 if mutation == "no rows" else draw(st.integers(1, 5))
    if draw(st.booleans()):  # one 2-D input
        matrix = np.asarray(
            [[float(_good(n, draw)) for n in FIXED_TYPES] for _ in range(rows)], dtype=np.float64
        ).reshape(rows, len(FIXED_TYPES))
        if mutation == "drop":
            matrix = matrix[:, :-1]
        elif mutation == "extra":
            matrix = np.hstack([matrix, matrix[:, :1]])
        elif mutation == "3-D":
            matrix = matrix[:, :, None]
        elif mutation == "ragged":
            matrix = matrix.ravel()
        elif rows and draw(st.integers(0, 4)) == 0:
            bad = draw(st.sampled_from([math.nan, math.inf, 0.5, -1.0, 256.0, 1e30, 1e300]))
            matrix[0, draw(st.integers(0, 3))] = bad
        name = draw(st.sampled_from(["rows", "input", "e"]))
        return [Tensor(name, list(matrix.shape), "FP64", matrix)]
    tensors = []
    for name in names:
        array, datatype = _column_array(name, rows, draw)
        if draw(st.booleans()):
            array = array.reshape(-1, 1)
        tensors.append(Tensor(name, list(array.shape), datatype, array))
    if mutation == "drop":
        tensors.pop()
    elif mutation == "extra":
        tensors.append(Tensor("e", [rows], "FP64", np.zeros(rows)))
    elif mutation in ("duplicate", "rename"):
        at = draw(st.integers(0, 3))
        other = tensors[(at + 1) % 4].name if mutation == "duplicate" else "A"
        tensors[at] = Tensor(other, tensors[at].shape, tensors[at].datatype, tensors[at].array)
    elif mutation == "ragged":
        at = draw(st.integers(0, 3))
        tensors[at] = Tensor(tensors[at].name, [rows + 1], "FP64", np.zeros(rows + 1))
    elif mutation == "3-D":
        at = draw(st.integers(0, 3))
        array = tensors[at].array.reshape(-1, 1, 1)
        tensors[at] = Tensor(tensors[at].name, list(array.shape), tensors[at].datatype, array)
    return tensors


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(tensor_lists())
def test_malformed_v2_tensors_never_raise_in_the_fast_path(tensors: list[Tensor]) -> None:
    fast = FastInput.compile(FIXED)
    assert fast is not None

    matrix = fast.from_v2(tensors)  # never raises: None, or what the general path makes of it

    event("fast path" if matrix is not None else "general path")
    _agrees(matrix, lambda: _expected(FIXED, frame_from_v2(_served_for(FIXED), tensors)))


# -- column types and names ---------------------------------------------------------------------
def test_column_names_that_only_print_like_the_signature_names_take_the_general_path() -> None:
    signature = Signature((ColumnSpec("1", "float64"), ColumnSpec("2", "float64")))
    fast = FastInput.compile(signature)
    assert fast is not None

    for columns in ([1, 2], [2, 1], ["2", 1], [1.0, "2"]):
        doc = {"dataframe_split": {"columns": columns, "data": [[1.0, 2.0]]}}
        assert fast.from_split(doc) is None, columns
        with pytest.raises(loopml.InvalidInputError, match="missing column"):
            enforce(signature, _general_frame(doc))


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("int8", 1000.0),
        ("int8", -129.0),
        ("uint8", -1.0),
        ("uint8", 256.0),
        ("int32", 2.0**31),
        ("int64", 1e30),
        ("float32", 1e300),
        ("float32", -3.5e38),
        ("float16", 65520.0),
    ],
)
def test_a_value_outside_the_column_type_is_refused_by_both_paths(type_: str, value: float) -> None:
    signature = Signature((ColumnSpec("a", type_), ColumnSpec("b", "float64")))
    fast = FastInput.compile(signature)
    assert fast is not None
    doc = {"dataframe_split": {"columns": ["a", "b"], "data": [[value, 1.0]]}}
    matrix = v2({"name": "rows", "shape": [1, 2], "datatype": "FP64", "data": [[value, 1.0]]})

    assert fast.from_split(doc) is None
    assert fast.from_v2(matrix) is None
    with pytest.raises(loopml.InvalidInputError, match="'a'"):
        enforce(signature, _general_frame(doc))


# float(iinfo("int64").max) rounds up to 2**63, a value the column cannot hold.
@pytest.mark.parametrize(("type_", "value"), [("int64", 2.0**63), ("uint64", 2.0**64)])
def test_a_whole_float_just_beyond_int64_is_refused_by_both_paths(type_: str, value: float) -> None:
    signature = Signature((ColumnSpec("a", type_), ColumnSpec("b", "float64")))
    fast = FastInput.compile(signature)
    assert fast is not None
    doc = {"dataframe_split": {"columns": ["a", "b"], "data": [[value, 1.0]]}}
    with pytest.raises(loopml.InvalidInputError, match="'a'"):
        enforce(signature, _general_frame(doc))

    assert fast.from_split(doc) is None


def test_a_float32_column_gets_float32_values_on_both_paths() -> None:
    signature = Signature((ColumnSpec("a", "float32"), ColumnSpec("b", "float16")))
    fast = FastInput.compile(signature)
    assert fast is not None
    doc = {"dataframe_split": {"columns": ["a", "b"], "data": [[0.1, 0.1], [1 / 3, 1e-8]]}}
    general = enforce(signature, _general_frame(doc)).to_numpy(np.float64)
    assert general[0, 0] == float(np.float32(0.1)) != 0.1  # rounded to float32

    rows = v2(
        {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [[0.1, 0.1], [1 / 3, 1e-8]]}
    )

    assert np.array_equal(fast.from_split(doc), general)
    assert np.array_equal(fast.from_v2(rows), general)


# -- without_feature_names and compile_fast -----------------------------------------------------
def test_without_feature_names_lets_a_frame_fitted_pipeline_predict_a_bare_matrix_silently() -> (
    None
):
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = Pipeline(
        [("scale", StandardScaler()), ("classify", LogisticRegression(max_iter=1000))]
    ).fit(x, y)
    matrix = x.to_numpy()

    bare = without_feature_names(model)

    assert bare is not model
    for estimator in (bare, bare["scale"], bare["classify"]):
        assert not hasattr(estimator, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as pytest runs, but said here
        assert np.array_equal(bare.predict(matrix), model.predict(x))
        assert np.array_equal(bare.predict_proba(matrix), model.predict_proba(x))
    for estimator in (model, model["scale"]):  # the original is untouched
        assert list(estimator.feature_names_in_) == list(x.columns)
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(matrix)


def test_compile_fast_refuses_a_model_whose_matrix_predictions_differ_from_its_frame_ones() -> None:
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(
        FunctionTransformer(frame_only_scaling), StandardScaler(), LogisticRegression(max_iter=1000)
    ).fit(x, y)
    example = x.head(20)
    signature = infer_signature(example)
    loaded = LoadedModel(model, "halves", 1, "sklearn", signature, input_example=example)
    plain = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    same = LoadedModel(plain, "plain", 1, "sklearn", signature, input_example=example)

    bare = without_feature_names(model)
    assert not np.allclose(bare.predict_proba(example.to_numpy()), model.predict_proba(example))

    assert compile_fast(loaded) is None
    assert compile_fast(same) is not None
    assert compile_fast(LoadedModel(plain, "plain", 1, "sklearn", signature)) is None  # no example


def test_a_model_that_needs_its_frame_keeps_the_general_path_and_is_answered_correctly(
    models: Models,
) -> None:
    x = models.cancer_x.iloc[300:340]
    served = models.by_name_server.latest["by_name"]
    assert FastInput.compile(served.loaded.signature) is not None  # numeric, yet...
    assert served.ready and served.fast is None  # ... a bare matrix cannot be selected by name
    expected = served.loaded.predict(x).tolist()
    proba = served.loaded.predict_proba(x)

    v2_2d, v2_columns, mlflow = serve(
        models.by_name_server,
        [
            (
                "/v2/models/by_name/infer",
                {"inputs": [two_d(x)], "outputs": [{"name": "predict"}, {"name": "predict_proba"}]},
            ),
            ("/v2/models/by_name/infer", {"inputs": [column(x, n) for n in x.columns[::-1]]}),
            ("/invocations", split(x)),
        ],
    )

    for response in (v2_2d, v2_columns, mlflow):
        assert response.status_code == 200, response.text
    outputs = {o["name"]: o["data"] for o in v2_2d.json()["outputs"]}
    assert outputs["predict"] == expected
    # (to the last bits: a frame from JSON and a slice of the training frame differ in layout)
    np.testing.assert_allclose(np.reshape(outputs["predict_proba"], (-1, 2)), proba, rtol=1e-12)
    assert v2_columns.json()["outputs"][0]["data"] == expected
    assert mlflow.json() == {"predictions": expected}
    assert models.by_name_server.batchers == {}  # nothing went through the fast path


def test_the_fast_and_the_general_path_answer_byte_identical_responses(models: Models) -> None:
    x = models.cancer_x
    both = [{"name": "predict"}, {"name": "predict_proba"}]
    requests: list[tuple[str, Any]] = [
        ("/v2/models/cancer/infer", {"id": "one", "inputs": [two_d(x.iloc[[5]])]}),
        ("/v2/models/cancer/infer", {"id": "p", "inputs": [two_d(x.iloc[[6]])], "outputs": both}),
        (
            "/v2/models/cancer/infer",
            {
                "id": "c",
                "inputs": [column(x.iloc[[7]], n, "INT64") for n in x.columns[::-1]],
                "outputs": both[::-1],
            },
        ),
        ("/v2/models/cancer/infer", {"id": "m", "inputs": [two_d(x.iloc[:64])], "outputs": both}),
        (
            "/v2/models/cancer/infer",
            {
                "id": "n",
                "inputs": [column(x.iloc[64:90], n, shape_2d=True) for n in x.columns],
                "outputs": both[::-1],
            },
        ),
        (
            "/v2/models/cancer/infer",
            {
                "id": "b",
                "inputs": [two_d(x.iloc[90:99])],
                "outputs": [{"name": "predict", "parameters": {"binary_data": True}}],
            },
        ),
        ("/invocations", split(x.iloc[100:140])),
        ("/invocations", split(x.iloc[140:150], list(x.columns[::-1]))),
    ]

    fast = serve(models.fast_server, requests)
    general = serve(models.general_server, requests)

    assert len(models.fast_server.batchers) == 1  # the fast server batched ...
    assert models.general_server.batchers == {}  # ... the general one never did
    for (path, body), quick, slow in zip(requests, fast, general, strict=True):
        assert quick.status_code == slow.status_code == 200, (path, quick.text, slow.text)
        assert quick.content == slow.content, (path, body.get("id"))
