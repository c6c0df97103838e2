"""Open Inference Protocol tensors: JSON and the binary extension, both ways, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from loopml.serving._v2_codec import (
    DATATYPES,
    ProtocolError,
    datatype_of,
    decode_request,
    encode_response,
)


def _json(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_a_json_request_decodes_to_arrays_of_its_shape_and_type() -> None:
    body = _json(
        {
            "id": "r1",
            "inputs": [
                {"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6]},
                {"name": "k", "shape": [2], "datatype": "BYTES", "data": ["a", "bé"]},
                {"name": "f", "shape": [2, 1], "datatype": "BOOL", "data": [[True], [False]]},
            ],
            "outputs": [{"name": "label"}],
        }
    )
    request = decode_request(body)
    assert request.id == "r1" and [o["name"] for o in request.outputs] == ["label"]
    x, k, f = (t.array for t in request.inputs)
    assert x.dtype == np.float32 and x.shape == (2, 3) and x[1, 2] == 6
    assert list(k) == [b"a", "bé".encode()]
    assert f.dtype == bool and f.shape == (2, 1)


def _binary_request(arrays: dict[str, np.ndarray]) -> tuple[bytes, int]:
    inputs, blobs = [], []
    for name, array in arrays.items():
        datatype = datatype_of(array)
        if datatype == "BYTES":
            blob = b"".join(len(v).to_bytes(4, "little") + v for v in array.ravel())
        else:
            blob = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        inputs.append(
            {
                "name": name,
                "shape": list(array.shape),
                "datatype": datatype,
                "parameters": {"binary_data_size": len(blob)},
            }
        )
        blobs.append(blob)
    header = _json({"inputs": inputs})
    return header + b"".join(blobs), len(header)


@given(
    hnp.arrays(
        dtype=st.sampled_from(["<f4", "<f8", "<i8", "<i4", "<u1", "?"]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    )
)
def test_binary_tensors_decode_to_the_same_arrays(array: np.ndarray) -> None:
    body, length = _binary_request({"x": array})
    [tensor] = decode_request(body, length).inputs
    np.testing.assert_array_equal(tensor.array, array)
    assert tensor.array.dtype == array.dtype and tensor.datatype == datatype_of(array)


def test_binary_bytes_elements_are_length_prefixed() -> None:
    array = np.array([b"", b"abc", "é".encode()], dtype=object)
    body, length = _binary_request({"s": array})
    assert list(decode_request(body, length).inputs[0].array) == [b"", b"abc", "é".encode()]


def test_a_response_is_json_or_json_then_binary_outputs() -> None:
    outputs = {"label": np.array([0, 1]), "proba": np.array([[0.9, 0.1], [0.2, 0.8]])}
    body, length = encode_response("fraud", "3", "r1", outputs)
    doc = json.loads(body)
    assert length is None and doc["model_version"] == "3" and doc["id"] == "r1"
    assert doc["outputs"][0] == {"name": "label", "shape": [2], "datatype": "INT64", "data": [0, 1]}
    body, length = encode_response("fraud", "3", None, outputs, binary={"proba"})
    assert length is not None
    header = json.loads(body[:length])
    proba = header["outputs"][1]
    assert proba["parameters"]["binary_data_size"] == 32 and "data" not in proba
    np.testing.assert_array_equal(
        np.frombuffer(body[length:], dtype="<f8").reshape(2, 2), outputs["proba"]
    )


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"inputs": []}, "non-empty 'inputs'"),
        ({"inputs": [{"name": "x", "shape": [2], "datatype": "FP99", "data": [1, 2]}]}, "FP99"),
        ({"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [1, 2]}]}, "holds 3"),
        ({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]}, "shape"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ["a"]}]}, "numbers"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [999]}]}, "fit"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": [1.5]}]}, "whole"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": [1]}]}, "true"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}, "no 'data'"),
        ({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]}, "'name'"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}] * 2}, "twice"),
        ({"id": 5, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}, "id"),
        (
            {
                "inputs": [
                    {
                        "name": "x",
                        "shape": [1],
                        "datatype": "FP32",
                        "parameters": {"binary_data_size": 4},
                    }
                ]
            },
            "Inference-Header-Content-Length",
        ),
        ([1, 2], "JSON object"),
    ],
)
def test_malformed_requests_are_refused_with_the_problem_named(doc: object, words: str) -> None:
    with pytest.raises(ProtocolError, match=words):
        decode_request(_json(doc))


def test_broken_json_and_binary_lengths_are_refused() -> None:
    with pytest.raises(ProtocolError, match="not valid JSON"):
        decode_request(b'{"inputs": [')
    body, length = _binary_request({"x": np.zeros(3, dtype="<f4")})
    with pytest.raises(ProtocolError, match="runs past the end"):
        decode_request(body[:-1], length)
    with pytest.raises(ProtocolError, match="after the last binary input"):
        decode_request(body + b"x", length)
    with pytest.raises(ProtocolError, match="body has"):
        decode_request(body, len(body) + 5)


def test_every_protocol_datatype_has_a_dtype() -> None:
    assert set(DATATYPES) == {
        "BOOL",
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "FP16",
        "FP32",
        "FP64",
        "BYTES",
    }
