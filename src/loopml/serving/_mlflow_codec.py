"""MLflow's scoring protocol (``POST /invocations``), so existing MLflow clients keep working.

JSON bodies hold exactly one of ``dataframe_split`` (``{"columns", "data"[, "index"]}``),
``dataframe_records`` (a list of row objects), ``instances`` or ``inputs`` (rows, or columns as
an object), and optionally ``params``; ``text/csv`` bodies are a table with a header. The
answer is ``{"predictions": [...]}``; an error is ``{"error_code": "BAD_REQUEST", "message":
...}`` with status 400, as MLflow's scoring server writes them.
"""

from __future__ import annotations

import io
from typing import Any

from loopml.serving._v2_codec import ProtocolError

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def is_csv(content_type: str) -> bool:
    """Whether an invocation's content type is CSV; any type but JSON or CSV is refused."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/csv":
        return True
    if kind not in ("application/json", ""):
        raise ProtocolError(
            f"content type {content_type!r} is not supported; send application/json or text/csv"
        )
    return False


def parse_json(body: bytes) -> Any:
    import orjson

    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"the request body is not valid JSON: {exc}") from None


def decode_invocation(
    body: bytes, content_type: str, doc: Any = None
) -> tuple[Any, dict[str, Any]]:
    """The model input (a DataFrame or an array) and the ``params`` of an invocation
    (``doc``: the body already parsed as JSON)."""
    import pandas as pd

    if is_csv(content_type):
        try:
            return pd.read_csv(io.BytesIO(body)), {}
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"the CSV body cannot be read: {exc}") from None
    if doc is None:
        doc = parse_json(body)
    if not isinstance(doc, dict):
        raise ProtocolError(f"the request must be a JSON object with one of {', '.join(FORMATS)}")
    found = [key for key in FORMATS if key in doc]
    unknown = sorted(set(doc) - {*FORMATS, "params"})
    if len(found) != 1 or unknown:
        raise ProtocolError(
            f"the request must hold exactly one of {', '.join(FORMATS)} (and optionally "
            f"params); it has {', '.join(sorted(doc)) or 'nothing'}"
        )
    params = doc.get("params") or {}
    if not isinstance(params, dict):
        raise ProtocolError("params must be an object")
    key = found[0]
    value = doc[key]
    try:
        if key == "dataframe_split":
            return _split(value), params
        if key == "dataframe_records":
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                raise ProtocolError("dataframe_records must be a list of row objects")
            return pd.DataFrame.from_records(value), params
        return _instances(key, value), params
    except (ValueError, TypeError) as exc:
        if isinstance(exc, ProtocolError):
            raise
        raise ProtocolError(f"{key} cannot be read as a table: {exc}") from None


def _split(value: Any) -> Any:
    import pandas as pd

    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise ProtocolError("dataframe_split needs 'columns' and a 'data' list of rows")
    data, columns, index = value["data"], value.get("columns"), value.get("index")
    if not all(isinstance(row, list) for row in data):
        raise ProtocolError("dataframe_split 'data' must be a list of rows (lists)")
    if columns is not None:
        if not isinstance(columns, list) or not all(
            isinstance(c, str | int | float) and not isinstance(c, bool) for c in columns
        ):
            raise ProtocolError("dataframe_split 'columns' must be a list of names")
        if any(len(row) != len(columns) for row in data):
            raise ProtocolError(
                f"dataframe_split: every row needs {len(columns)} values, one per column"
            )
    if index is not None and (not isinstance(index, list) or len(index) != len(data)):
        raise ProtocolError(
            f"dataframe_split: 'index' has {len(index) if isinstance(index, list) else '?'} "
            f"entries but 'data' has {len(data)} rows"
        )
    return pd.DataFrame(data, columns=columns, index=index)


def _instances(key: str, value: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(value, dict):
        return pd.DataFrame({k: v if isinstance(v, list) else [v] for k, v in value.items()})
    if not isinstance(value, list) or not value:
        raise ProtocolError(f"{key} must be a non-empty list of rows or an object of columns")
    if all(isinstance(row, dict) for row in value):
        return pd.DataFrame.from_records(value)
    array = np.asarray(value)
    if array.dtype == object:
        raise ProtocolError(f"{key}: rows of different lengths or types")
    return array


def encode_predictions(predictions: Any) -> bytes:
    """``{"predictions": [...]}`` for an array, a list or a DataFrame."""
    import numpy as np
    import orjson

    if hasattr(predictions, "to_dict") and hasattr(predictions, "columns"):
        payload: Any = predictions.to_dict(orient="records")
    else:
        payload = np.asarray(predictions).tolist()
    return orjson.dumps({"predictions": payload}, option=orjson.OPT_SERIALIZE_NUMPY)


def encode_error(message: str, code: str = "BAD_REQUEST") -> bytes:
    import orjson

    return orjson.dumps({"error_code": code, "message": message})
