"""The Open Inference Protocol (KServe V2) tensors: JSON and the binary tensor extension.

A request body is JSON (``{"id", "parameters", "inputs": [{"name", "shape", "datatype",
"data"}], "outputs": [{"name", "parameters": {"binary_data": true}}]}``), or, with the
``Inference-Header-Content-Length: N`` header, N bytes of such JSON followed by the raw tensors
of the inputs whose ``parameters.binary_data_size`` says how many bytes they take, in input
order. Raw tensors are row-major, little-endian; a ``BYTES`` element is a 4-byte little-endian
length followed by its bytes. Responses mirror that: JSON outputs, or binary ones after the
JSON header when the client asked (``binary_data``, or ``binary_data_output`` for all).

Every malformed request raises :class:`ProtocolError` with a message that names the input and
the problem; the server turns it into a 400 ``{"error": ...}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: V2 datatype -> numpy dtype (little-endian). BYTES is an object array of bytes.
DATATYPES = {
    "BOOL": "bool",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
    "BYTES": "object",
}
MAX_ELEMENTS = 50_000_000


class ProtocolError(ValueError):
    """A request that breaks the protocol (the server answers 400 with the message)."""


@dataclass
class Tensor:
    name: str
    shape: list[int]
    datatype: str
    array: Any  # numpy array of ``shape``
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class Request:
    id: str | None
    inputs: list[Tensor]
    outputs: list[dict[str, Any]]
    parameters: dict[str, Any]


def _loads(data: bytes) -> Any:
    import orjson

    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"the request body is not valid JSON: {exc}") from None


def _shape(name: str, value: Any) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value
    ):
        raise ProtocolError(f"input {name!r}: shape must be a list of non-negative integers")
    return list(value)


def _count(shape: list[int]) -> int:
    count = math.prod(shape) if shape else 1
    if count > MAX_ELEMENTS:
        raise ProtocolError(f"a tensor of shape {shape} is larger than {MAX_ELEMENTS:,} elements")
    return count


def _flatten(value: Any) -> list[Any]:
    """Row-major flattening of nested lists (the JSON ``data`` may be nested or flat)."""
    if not isinstance(value, list):
        return [value]
    out: list[Any] = []
    stack = [iter(value)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _numbers(datatype: str, shape: list[int], data: Any) -> Any:
    """``data`` as an array of ``datatype`` when it is plainly numbers that fit (numpy parses
    the lists in C); None when anything is unusual, for the checking path to explain."""
    import numpy as np

    try:
        array = np.asarray(data)
    except (ValueError, TypeError):
        return None
    kind = array.dtype.kind
    if kind not in "fiu" or array.size != _count(shape):
        return None
    values = data if array.ndim == 1 else _flatten(data)
    if any(v is True or v is False for v in values):  # JSON true/false hide as 1/0 in numpy
        return None
    target = np.dtype(DATATYPES[datatype])
    if target.kind == "f":
        out = array.astype(target)
        if target.itemsize < 8 and not np.isfinite(out).all():
            return None  # too big for FP32/FP16: the checking path says so
        return out.reshape(shape)
    info = np.iinfo(target)
    if kind == "f" and (
        not np.array_equal(array, np.trunc(array)) or (array.size and np.abs(array).max() >= 2**53)
    ):
        return None  # fractions, or floats too big to be exact integers
    if array.size and (array.min() < info.min or array.max() > info.max):
        return None
    return array.astype(target).reshape(shape)


def _from_json(name: str, datatype: str, shape: list[int], data: Any) -> Any:
    import numpy as np

    if datatype not in ("BYTES", "BOOL"):
        quick = _numbers(datatype, shape, data)
        if quick is not None:
            return quick
    flat = _flatten(data)
    if len(flat) != _count(shape):
        raise ProtocolError(
            f"input {name!r}: shape {shape} holds {_count(shape)} elements but data has {len(flat)}"
        )
    if datatype == "BYTES":
        items = [v.encode() if isinstance(v, str) else v for v in flat]
        if not all(isinstance(v, bytes) for v in items):
            raise ProtocolError(f"input {name!r}: BYTES data must be strings")
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(shape)
    if datatype == "BOOL":
        if not all(isinstance(v, bool) for v in flat):
            raise ProtocolError(f"input {name!r}: BOOL data must be true or false")
        return np.asarray(flat, dtype=bool).reshape(shape)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
        bad = next(v for v in flat if not (isinstance(v, int | float) and not isinstance(v, bool)))
        raise ProtocolError(f"input {name!r}: {datatype} data must be numbers, not {bad!r}")
    try:
        with np.errstate(over="raise", invalid="raise"):
            array = np.asarray(flat, dtype=DATATYPES[datatype])
    except (OverflowError, ValueError, FloatingPointError) as exc:
        raise ProtocolError(f"input {name!r}: a value does not fit {datatype} ({exc})") from None
    if datatype.startswith("FP") and not all(
        math.isfinite(v) == math.isfinite(float(a))
        for v, a in zip(flat, array.ravel(), strict=True)
    ):
        raise ProtocolError(f"input {name!r}: a value does not fit {datatype}")
    if datatype.startswith(("INT", "UINT")) and any(
        isinstance(v, float) and not float(v).is_integer() for v in flat
    ):
        raise ProtocolError(f"input {name!r}: {datatype} data must be whole numbers")
    return array.reshape(shape)


def _from_binary(name: str, datatype: str, shape: list[int], raw: bytes) -> Any:
    import numpy as np

    count = _count(shape)
    if datatype == "BYTES":
        items, offset = [], 0
        while offset < len(raw):
            if offset + 4 > len(raw):
                raise ProtocolError(f"input {name!r}: a BYTES element's length is cut off")
            size = int.from_bytes(raw[offset : offset + 4], "little")
            offset += 4
            if offset + size > len(raw):
                raise ProtocolError(f"input {name!r}: a BYTES element is cut off")
            items.append(raw[offset : offset + size])
            offset += size
        if len(items) != count:
            raise ProtocolError(
                f"input {name!r}: shape {shape} holds {count} elements but the binary data "
                f"has {len(items)}"
            )
        array = np.empty(count, dtype=object)
        array[:] = items
        return array.reshape(shape)
    dtype = np.dtype(DATATYPES[datatype])
    if len(raw) != count * dtype.itemsize:
        raise ProtocolError(
            f"input {name!r}: shape {shape} of {datatype} takes {count * dtype.itemsize} bytes "
            f"but binary_data_size is {len(raw)}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def decode_request(body: bytes, header_length: int | None = None) -> Request:
    """Parse a V2 infer request (JSON, or JSON + binary tensors when ``header_length``)."""
    if header_length is None:
        header, binary = body, b""
    else:
        if header_length < 0 or header_length > len(body):
            raise ProtocolError(
                f"Inference-Header-Content-Length is {header_length} but the body has "
                f"{len(body)} bytes"
            )
        header, binary = body[:header_length], body[header_length:]
    doc = _loads(header)
    if not isinstance(doc, dict):
        raise ProtocolError("the request must be a JSON object with an 'inputs' list")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ProtocolError("the request needs a non-empty 'inputs' list")
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError("'id' must be a string")
    parameters = doc.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ProtocolError("'parameters' must be an object")
    outputs = doc.get("outputs") or []
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise ProtocolError("'outputs' must be a list of objects with a 'name'")
    tensors, offset, names = [], 0, set()
    for item in inputs:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProtocolError("each input needs a 'name'")
        name = item["name"]
        if name in names:
            raise ProtocolError(f"input {name!r} appears twice")
        names.add(name)
        datatype = item.get("datatype")
        if datatype not in DATATYPES:
            raise ProtocolError(
                f"input {name!r}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}"
            )
        shape = _shape(name, item.get("shape"))
        params = item.get("parameters") or {}
        if not isinstance(params, dict):
            raise ProtocolError(f"input {name!r}: 'parameters' must be an object")
        size = params.get("binary_data_size")
        if size is not None:
            if header_length is None:
                raise ProtocolError(
                    f"input {name!r} has binary_data_size but the request has no "
                    "Inference-Header-Content-Length header"
                )
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ProtocolError(f"input {name!r}: binary_data_size must be a byte count")
            if offset + size > len(binary):
                raise ProtocolError(
                    f"input {name!r}: binary_data_size {size} runs past the end of the body"
                )
            array = _from_binary(name, datatype, shape, binary[offset : offset + size])
            offset += size
        else:
            if "data" not in item:
                raise ProtocolError(f"input {name!r} has no 'data'")
            array = _from_json(name, datatype, shape, item["data"])
        tensors.append(Tensor(name, shape, datatype, array, params))
    if offset != len(binary):
        raise ProtocolError(
            f"the body has {len(binary) - offset} bytes after the last binary input"
        )
    return Request(request_id, tensors, outputs, parameters)


def datatype_of(array: Any) -> str:
    """The V2 datatype of a numpy array."""
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "b":
        return "BOOL"
    if kind in "iu":
        return f"{'U' if kind == 'u' else ''}INT{size * 8}"
    if kind == "f":
        return f"FP{size * 8}"
    return "BYTES"


def _binary(array: Any, datatype: str) -> bytes:
    import numpy as np

    if datatype == "BYTES":
        parts = []
        for item in array.ravel():
            data = item if isinstance(item, bytes) else str(item).encode()
            parts.append(len(data).to_bytes(4, "little") + data)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=np.dtype(DATATYPES[datatype])).tobytes()


def _json_data(array: Any, datatype: str) -> list[Any]:
    if datatype == "BYTES":
        return [
            (v.decode(errors="replace") if isinstance(v, bytes) else str(v))
            for v in array.ravel().tolist()
        ]
    values: list[Any] = array.ravel().tolist()
    return values


def encode_response(
    model_name: str,
    model_version: str | None,
    request_id: str | None,
    outputs: dict[str, Any],
    *,
    binary: set[str] | frozenset[str] = frozenset(),
    parameters: dict[str, Any] | None = None,
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header length when some output is binary."""
    import numpy as np
    import orjson

    entries, blobs = [], []
    for name, value in outputs.items():
        array = np.asarray(value)
        datatype = datatype_of(array)
        entry: dict[str, Any] = {"name": name, "shape": list(array.shape), "datatype": datatype}
        if name in binary:
            blob = _binary(array, datatype)
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = _json_data(array, datatype)
        entries.append(entry)
    doc: dict[str, Any] = {"model_name": model_name, "outputs": entries}
    if model_version is not None:
        doc["model_version"] = model_version
    if request_id is not None:
        doc["id"] = request_id
    if parameters:
        doc["parameters"] = parameters
    header = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return header, None
    return header + b"".join(blobs), len(header)
