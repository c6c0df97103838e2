"""Real clients against a real ``loopml serve``: NVIDIA's ``tritonclient.http`` (the Open
Inference Protocol with Triton's binary tensor extension) and plain MLflow-style JSON/CSV POSTs.

One server (one worker) serves a logistic regression on the breast-cancer data for the whole
module; every answer is compared with the fitted model's own predictions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from tritonclient.utils import InferenceServerException

import loopml
from tests.serving._helpers import served as served_by

ROWS = 8  # predictions on every 80th row of the data set: both classes, 8 rows


@dataclass
class Served:
    url: str  # host:port, as tritonclient wants it
    x: pd.DataFrame  # ROWS rows of the breast-cancer features
    labels: np.ndarray[Any, Any]  # the fitted model's predict on them
    proba: np.ndarray[Any, Any]  # and its predict_proba
    model: LogisticRegression  # the fitted model itself


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("tritonclient")
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(x, y)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for name in ("LOOPML_URI", "LOOPML_ARTIFACTS", "LOOPML_DEBUG"):
            patch.delenv(name, raising=False)
        workspace = loopml.init(folder)
        try:
            loopml.log_model(model, "cancer", input_example=x.head(5))
        finally:
            workspace.close()  # the server reads the store; this process is done with it
    with served_by(folder, "models:/cancer/1") as (_, url):
        head = x.iloc[::80]
        assert len(head) == ROWS and set(model.predict(head)) == {0, 1}
        yield Served(
            url.removeprefix("http://"),
            head,
            model.predict(head),
            model.predict_proba(head),
            model,
        )


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[triton.InferenceServerClient]:
    with triton.InferenceServerClient(served.url, network_timeout=30) as opened:
        yield opened


def _matrix(served: Served, datatype: str = "FP64", *, binary: bool = True) -> triton.InferInput:
    tensor = triton.InferInput("x", [ROWS, 30], datatype)
    array = served.x.to_numpy(dtype=np.float64 if datatype == "FP64" else np.float32)
    tensor.set_data_from_numpy(array, binary_data=binary)
    return tensor


def _both_outputs(*, binary: bool) -> list[triton.InferRequestedOutput]:
    return [
        triton.InferRequestedOutput("predict", binary_data=binary),
        triton.InferRequestedOutput("predict_proba", binary_data=binary),
    ]


def _assert_predictions(served: Served, result: triton.InferResult, *, proba: bool = True) -> None:
    labels = result.as_numpy("predict")
    assert labels is not None, result.get_response()
    assert labels.shape == (ROWS,)
    np.testing.assert_array_equal(labels, served.labels)
    if proba:
        probabilities = result.as_numpy("predict_proba")
        assert probabilities is not None, result.get_response()
        assert probabilities.shape == (ROWS, 2)
        np.testing.assert_allclose(probabilities, served.proba, rtol=1e-9, atol=1e-12)


def _error(exc: pytest.ExceptionInfo[InferenceServerException]) -> str:
    """The server's message; tritonclient turns a body without ``error`` into this prefix."""
    message = str(exc.value.message())
    assert "exception occurred in the client while decoding" not in message, message
    return message


# -- health and metadata -------------------------------------------------------------------
def test_tritonclient_sees_the_server_live_and_ready_and_reads_its_metadata(
    client: triton.InferenceServerClient,
) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    metadata = client.get_server_metadata()
    assert metadata["name"] == "loopml"
    assert metadata["version"] == loopml.__version__
    assert isinstance(metadata["extensions"], list)


def test_tritonclient_reads_the_model_metadata_and_sees_the_model_ready(
    client: triton.InferenceServerClient, served: Served
) -> None:
    assert client.is_model_ready("cancer")
    assert client.is_model_ready("cancer", model_version="1")
    assert not client.is_model_ready("nope")
    assert not client.is_model_ready("cancer", model_version="9")
    metadata = client.get_model_metadata("cancer")
    assert metadata["name"] == "cancer"
    assert metadata["versions"] == ["1"]
    inputs = metadata["inputs"]
    assert [i["name"] for i in inputs] == list(served.x.columns)
    assert {i["datatype"] for i in inputs} == {"FP64"}
    assert all(i["shape"] == [-1] for i in inputs)
    assert "predict" in [o["name"] for o in metadata["outputs"]]
    assert client.get_model_metadata("cancer", model_version="1")["name"] == "cancer"


# -- inference -------------------------------------------------------------------------------
def test_a_binary_fp64_matrix_gets_binary_labels_and_probabilities_equal_to_the_models(
    client: triton.InferenceServerClient, served: Served
) -> None:
    result = client.infer("cancer", [_matrix(served)], outputs=_both_outputs(binary=True))
    _assert_predictions(served, result)
    response = result.get_response()
    assert response["model_name"] == "cancer" and response["model_version"] == "1"
    for output in response["outputs"]:  # sent as raw tensors, not JSON data
        assert "data" not in output and output["parameters"]["binary_data_size"] > 0


def test_a_json_fp64_matrix_gets_json_labels_and_probabilities_equal_to_the_models(
    client: triton.InferenceServerClient, served: Served
) -> None:
    result = client.infer(
        "cancer", [_matrix(served, binary=False)], outputs=_both_outputs(binary=False)
    )
    _assert_predictions(served, result)
    for output in result.get_response()["outputs"]:
        assert "data" in output and "binary_data_size" not in (output.get("parameters") or {})


def test_naming_no_outputs_gets_the_labels_as_a_binary_tensor(
    client: triton.InferenceServerClient, served: Served
) -> None:
    result = client.infer("cancer", [_matrix(served, "FP32")])
    _assert_predictions(served, result, proba=False)
    outputs = result.get_response()["outputs"]
    assert [o["name"] for o in outputs] == ["predict"]
    assert "binary_data_size" in outputs[0]["parameters"]


@pytest.mark.parametrize("datatype", ["FP64", "FP32"])
def test_one_input_per_column_predicts_like_the_model(
    client: triton.InferenceServerClient, served: Served, datatype: str
) -> None:
    inputs = []
    for i, column in enumerate(served.x.columns):
        tensor = triton.InferInput(column, [ROWS], datatype)
        values = served.x[column].to_numpy(dtype=np.float64 if datatype == "FP64" else np.float32)
        tensor.set_data_from_numpy(values, binary_data=i % 2 == 0)  # binary and JSON mixed
        inputs.append(tensor)
    result = client.infer("cancer", inputs, outputs=_both_outputs(binary=True))
    if datatype == "FP64":
        _assert_predictions(served, result)
    else:  # float32 inputs: labels the same on these rows, probabilities to float32 precision
        np.testing.assert_array_equal(result.as_numpy("predict"), served.labels)
        np.testing.assert_allclose(result.as_numpy("predict_proba"), served.proba, atol=1e-4)


def test_the_request_id_is_echoed(client: triton.InferenceServerClient, served: Served) -> None:
    result = client.infer("cancer", [_matrix(served)], request_id="req-42/é")
    assert result.get_response()["id"] == "req-42/é"
    _assert_predictions(served, result, proba=False)


def test_a_versioned_infer_is_answered_by_that_version(
    client: triton.InferenceServerClient, served: Served
) -> None:
    result = client.infer(
        "cancer", [_matrix(served)], model_version="1", outputs=_both_outputs(binary=True)
    )
    assert result.get_response()["model_version"] == "1"
    _assert_predictions(served, result)


# -- errors ----------------------------------------------------------------------------------
def test_an_unknown_model_is_an_error_naming_the_served_ones(
    client: triton.InferenceServerClient, served: Served
) -> None:
    with pytest.raises(InferenceServerException) as exc:
        client.infer("nope", [_matrix(served)])
    assert exc.value.status() == "404"
    assert "'nope'" in _error(exc) and "cancer" in _error(exc)
    with pytest.raises(InferenceServerException) as exc:
        client.infer("cancer", [_matrix(served)], model_version="9")
    assert exc.value.status() == "404" and "'9'" in _error(exc)
    with pytest.raises(InferenceServerException) as exc:
        client.get_model_metadata("nope")
    assert exc.value.status() == "404" and "'nope'" in _error(exc)


def test_a_matrix_of_the_wrong_width_is_an_error_saying_what_shape_is_expected(
    client: triton.InferenceServerClient, served: Served
) -> None:
    tensor = triton.InferInput("x", [ROWS, 29], "FP64")
    tensor.set_data_from_numpy(served.x.iloc[:, :29].to_numpy())
    with pytest.raises(InferenceServerException) as exc:
        client.infer("cancer", [tensor])
    assert exc.value.status() == "400"
    assert f"[{ROWS}, 29]" in _error(exc) and "[rows, 30]" in _error(exc)


def test_a_missing_column_is_an_error_naming_it(
    client: triton.InferenceServerClient, served: Served
) -> None:
    inputs = []
    for column in served.x.columns[1:]:
        tensor = triton.InferInput(column, [ROWS], "FP64")
        tensor.set_data_from_numpy(served.x[column].to_numpy())
        inputs.append(tensor)
    with pytest.raises(InferenceServerException) as exc:
        client.infer("cancer", inputs)
    assert exc.value.status() == "400"
    assert "missing input(s) mean radius" in _error(exc)


@pytest.mark.parametrize("binary", [True, False])
def test_text_sent_as_bytes_into_a_numeric_column_is_an_error_naming_the_column(
    client: triton.InferenceServerClient, served: Served, binary: bool
) -> None:
    inputs = []
    for column in served.x.columns:
        if column == "mean radius":
            tensor = triton.InferInput(column, [ROWS], "BYTES")
            tensor.set_data_from_numpy(np.array([b"big"] * ROWS, dtype=object), binary_data=binary)
        else:
            tensor = triton.InferInput(column, [ROWS], "FP64")
            tensor.set_data_from_numpy(served.x[column].to_numpy(), binary_data=binary)
        inputs.append(tensor)
    with pytest.raises(InferenceServerException) as exc:
        client.infer("cancer", inputs)
    assert exc.value.status() == "400"
    assert "'mean radius' (float64) got strings such as 'big'" in _error(exc)


def test_a_bytes_matrix_into_numeric_columns_is_an_error_naming_the_expected_type(
    client: triton.InferenceServerClient, served: Served
) -> None:
    tensor = triton.InferInput("x", [ROWS, 30], "BYTES")
    tensor.set_data_from_numpy(served.x.to_numpy().astype(str).astype(np.object_))
    with pytest.raises(InferenceServerException) as exc:
        client.infer("cancer", [tensor])
    assert exc.value.status() == "400"
    assert "'mean radius' (float64)" in _error(exc) and "float64 values" in _error(exc)


def test_an_int64_matrix_is_taken_as_the_float_columns_it_converts_to_exactly(
    client: triton.InferenceServerClient, served: Served
) -> None:
    rounded = served.x.round().astype(np.int64)
    tensor = triton.InferInput("x", [ROWS, 30], "INT64")
    tensor.set_data_from_numpy(rounded.to_numpy())
    result = client.infer("cancer", [tensor], outputs=_both_outputs(binary=True))
    floats = rounded.astype(np.float64)
    np.testing.assert_array_equal(result.as_numpy("predict"), served.model.predict(floats))
    np.testing.assert_allclose(
        result.as_numpy("predict_proba"), served.model.predict_proba(floats), rtol=1e-9
    )


def test_an_unknown_output_name_is_an_error_listing_the_outputs(
    client: triton.InferenceServerClient, served: Served
) -> None:
    with pytest.raises(InferenceServerException) as exc:
        client.infer("cancer", [_matrix(served)], outputs=[triton.InferRequestedOutput("decision")])
    assert exc.value.status() == "400"
    assert "decision" in _error(exc) and "predict_proba" in _error(exc)


# -- MLflow's scoring protocol on the same server ----------------------------------------------
def test_mlflow_style_posts_in_every_format_predict_like_the_model(served: Served) -> None:
    x = served.x
    expected = served.labels.tolist()
    bodies: dict[str, dict[str, Any]] = {
        "dataframe_split": {"dataframe_split": x.to_dict(orient="split")},
        "dataframe_records": {"dataframe_records": x.to_dict(orient="records")},
        "instances (records)": {"instances": x.to_dict(orient="records")},
        "instances (rows)": {"instances": x.to_numpy().tolist()},
        "inputs (columns)": {"inputs": {c: x[c].tolist() for c in x.columns}},
        "inputs (rows)": {"inputs": x.to_numpy().tolist()},
    }
    with httpx.Client(base_url=f"http://{served.url}", timeout=30) as http:
        for name, body in bodies.items():
            response = http.post("/invocations", json=body)
            assert response.status_code == 200, (name, response.text)
            assert response.json() == {"predictions": expected}, name
        csv = http.post(
            "/invocations",
            content=x.to_csv(index=False).encode(),
            headers={"content-type": "text/csv; charset=utf-8"},
        )
        assert csv.status_code == 200, csv.text
        assert csv.json() == {"predictions": expected}
        bad = http.post("/invocations", json={"dataframe_records": [{"nope": 1.0}]})
        assert bad.status_code == 400
        assert bad.json()["error_code"] == "BAD_REQUEST" and bad.json()["message"]
