"""Materializers: how a step's inputs and outputs become bytes in the artifact store, and back.

Each value is stored as one content-addressed blob and identified by a *content hash*, which
is what cache keys use: for tables (pandas, polars, pyarrow) the dataset content id of
:mod:`loopml.data._content_id` (the same data has the same hash whatever wrote it); for
everything else the sha256 of the stored bytes. Built in, in the order they are tried:

=============  ===========================================  ================================
name           values                                       stored as
=============  ===========================================  ================================
``dataset``    :class:`loopml.datasets.DatasetVersion`      a reference (no bytes copied)
``pandas``     ``pandas.DataFrame``                         Parquet (index kept)
``polars``     ``polars.DataFrame``                         Parquet
``arrow``      ``pyarrow.Table``                            Parquet
``numpy``      ``numpy.ndarray`` (not object dtype)         ``.npy`` (no pickle)
``path``       ``pathlib.Path`` of a file or folder         the bytes, or a tar of the folder
``bytes``      ``bytes``                                    the bytes
``json``       None, bool, int, float, str, lists/dicts     canonical JSON
``pickle``     anything else (models, ...)                  pickle
=============  ===========================================  ================================

``pickle`` loads run code from the artifact store, so only artifacts your own pipelines wrote
belong there; model bundles with safe formats are loopml's models phase. Add your own with
:func:`register_materializer` (tried before the built-ins).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml._errors import InvalidInputError


@dataclass(frozen=True)
class Materializer:
    """How to store one kind of value: ``save`` to bytes, ``load`` back, ``accepts`` a value."""

    name: str
    accepts: Callable[[Any], bool]
    save: Callable[[Any], bytes]
    load: Callable[[bytes], Any]
    content_hash: Callable[[Any, bytes], str] | None = None  # default: sha256 of the bytes

    def hash(self, value: Any, data: bytes) -> str:
        if self.content_hash is not None:
            return self.content_hash(value, data)
        return "sha256:" + hashlib.sha256(data).hexdigest()


def _module(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def _table_hash(value: Any, _: bytes) -> str:
    """The dataset content id, plus what it leaves out that a step can see.

    The content id ignores column order and an unnamed pandas index; a step reading
    ``df.iloc[:, 0]`` or ``df.index`` sees both, so they count here. pandas and polars
    frames of the same data still hash the same.
    """
    from loopml.data._content_id import content_id

    names = value.column_names if _module(value) == "pyarrow" else value.columns
    record: dict[str, Any] = {"id": content_id(value), "columns": [str(c) for c in names]}
    if _module(value) == "pandas":
        index = value.index
        if not (type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1):
            import pandas as pd

            hashed = pd.util.hash_pandas_object(index, index=False).to_numpy().tobytes()
            record["index"] = hashlib.sha256(hashed).hexdigest()
    return "sha256:" + hashlib.sha256(canonical_json(record)).hexdigest()


def _parquet_bytes(table: Any) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _save_pandas(frame: Any) -> bytes:
    import pyarrow as pa

    return _parquet_bytes(pa.Table.from_pandas(frame))


def _load_pandas(data: bytes) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pandas()


def _save_polars(frame: Any) -> bytes:
    return _parquet_bytes(frame.to_arrow())


def _load_polars(data: bytes) -> Any:
    import polars as pl

    return pl.read_parquet(io.BytesIO(data))


def _load_arrow(data: bytes) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data))


def _is_numpy(value: Any) -> bool:
    return _module(value) == "numpy" and type(value).__name__ == "ndarray" and value.dtype != object


def _save_numpy(array: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _load_numpy(data: bytes) -> Any:
    import numpy as np

    return np.load(io.BytesIO(data), allow_pickle=False)


def _save_path(path: Path) -> bytes:
    import tarfile

    if path.is_file():
        name = path.name.encode()
        return b"F" + len(name).to_bytes(2, "big") + name + path.read_bytes()
    if not path.is_dir():
        raise InvalidInputError(f"the step returned {path}, which does not exist")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for item in sorted(path.rglob("*")):
            info = tar.gettarinfo(str(item), arcname=str(item.relative_to(path)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if item.is_file():
                with item.open("rb") as handle:
                    tar.addfile(info, handle)
            elif item.is_dir():
                tar.addfile(info)
    return b"D" + buffer.getvalue()


def _load_path(data: bytes) -> Path:
    import tarfile
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="loopml-artifact-"))
    if data[:1] == b"F":
        size = int.from_bytes(data[1:3], "big")
        name = Path(data[3 : 3 + size].decode()).name or "file"  # a bare name, never a path
        target = folder / name
        target.write_bytes(data[3 + size :])
        return target
    with tarfile.open(fileobj=io.BytesIO(data[1:]), mode="r") as tar:
        tar.extractall(folder, filter="data")
    return folder


def _json_able(value: Any, depth: int = 0) -> bool:
    if depth > 50:
        return False
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):  # not tuples: they would come back as lists
        return all(_json_able(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_able(v, depth + 1) for k, v in value.items())
    return False


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _save_pickle(value: Any) -> bytes:
    import pickle

    try:
        return pickle.dumps(value, protocol=5)
    except Exception as exc:
        raise InvalidInputError(
            f"cannot store a {type(value).__name__}: it cannot be pickled ({exc}); return "
            "data (a DataFrame, an array, JSON-able values, a file) or add a materializer "
            "with loopml.pipelines.register_materializer"
        ) from exc


def _load_pickle(data: bytes) -> Any:
    import pickle

    return pickle.loads(data)  # noqa: S301 - artifacts written by this workspace's own steps


def _dataset_accepts(value: Any) -> bool:
    return type(value).__name__ == "DatasetVersion" and hasattr(value, "record")


def _dataset_unused(_: Any) -> Any:
    raise AssertionError("dataset references are not stored as bytes")  # pragma: no cover


BUILTIN: list[Materializer] = [
    Materializer("dataset", _dataset_accepts, _dataset_unused, _dataset_unused),
    Materializer(
        "pandas",
        lambda v: _module(v) == "pandas" and type(v).__name__ == "DataFrame",
        _save_pandas,
        _load_pandas,
        _table_hash,
    ),
    Materializer(
        "polars",
        lambda v: _module(v) == "polars" and type(v).__name__ == "DataFrame",
        _save_polars,
        _load_polars,
        _table_hash,
    ),
    Materializer(
        "arrow",
        lambda v: _module(v) == "pyarrow" and type(v).__name__ == "Table",
        _parquet_bytes,
        _load_arrow,
        _table_hash,
    ),
    Materializer("numpy", _is_numpy, _save_numpy, _load_numpy),
    Materializer("path", lambda v: isinstance(v, Path), _save_path, _load_path),
    Materializer("bytes", lambda v: isinstance(v, bytes), bytes, bytes),
    Materializer("json", _json_able, canonical_json, lambda d: json.loads(d)),
    Materializer("pickle", lambda v: True, _save_pickle, _load_pickle),
]
_custom: list[Materializer] = []


def register_materializer(
    name: str,
    accepts: Callable[[Any], bool],
    save: Callable[[Any], bytes],
    load: Callable[[bytes], Any],
    content_hash: Callable[[Any, bytes], str] | None = None,
) -> Materializer:
    """Add a materializer, tried before the built-in ones (latest added first)."""
    if not name or any(m.name == name for m in BUILTIN):
        raise InvalidInputError(f"materializer name {name!r} is empty or taken by a built-in one")
    materializer = Materializer(name, accepts, save, load, content_hash)
    _custom[:] = [m for m in _custom if m.name != name]
    _custom.insert(0, materializer)
    return materializer


def for_value(value: Any) -> Materializer:
    for materializer in (*_custom, *BUILTIN):
        if materializer.accepts(value):
            return materializer
    raise AssertionError("the pickle materializer accepts everything")  # pragma: no cover


def by_name(name: str) -> Materializer:
    for materializer in (*_custom, *BUILTIN):
        if materializer.name == name:
            return materializer
    raise InvalidInputError(
        f"no materializer named {name!r} is registered in this process; register it (e.g. "
        "import the module that calls loopml.pipelines.register_materializer) and retry"
    )


def type_name(value: Any) -> str:
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}"


__all__ = ["Materializer", "by_name", "canonical_json", "for_value", "register_materializer"]
