"""Content ids of tables: the same data gives the same id on any machine.

The id is not the hash of a Parquet file (Parquet bytes change with the writer's version, row
groups and batch sizes). It is a hash over each canonical column's values, streamed chunk by
chunk, so it does not depend on chunking, the library the data came from, its version, or the
column order::

    content_id = "sha256:" + sha256(JSON {"v": 1, "rows": n,
                                         "columns": sorted [(name, column_digest)]})
    column_digest = sha256(JSON [name, canonical type, validity, values, data])

``validity`` hashes one byte per row (1 = present), ``values`` the fixed-width values (nulls as 0;
for strings and binary, the int64 byte lengths), ``data`` the bytes of strings and binary
values. Changing the algorithm must bump ``ID_VERSION``; a golden test pins it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

ID_VERSION = 1


class ColumnHasher:
    """Streams one canonical column's chunks into three sha256 digests."""

    def __init__(self, name: str, arrow_type: pa.DataType) -> None:
        self.name = name
        self.type = arrow_type
        self.rows = 0
        self._validity = hashlib.sha256()
        self._values = hashlib.sha256()
        self._data = hashlib.sha256()

    def update(self, array: pa.Array) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(array)
        self.rows += n
        if array.null_count:
            validity = np.asarray(pc.is_valid(array)).astype(np.uint8)
        else:
            validity = np.ones(n, dtype=np.uint8)
        self._validity.update(validity.tobytes())
        t = array.type
        if pa.types.is_large_string(t) or pa.types.is_large_binary(t):
            if array.null_count:
                array = array.fill_null("" if pa.types.is_large_string(t) else b"")
            offsets = np.frombuffer(array.buffers()[1], dtype="<i8")[
                array.offset : array.offset + n + 1
            ]
            self._values.update(np.diff(offsets).astype("<i8").tobytes())
            data = array.buffers()[2]
            if data is not None and n:
                self._data.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
            return
        if pa.types.is_null(t):
            return
        if array.null_count:
            array = array.fill_null(False if pa.types.is_boolean(t) else 0)
        self._values.update(_fixed_width_bytes(array))

    def digest(self) -> str:
        record = [
            self.name,
            str(self.type),
            self._validity.hexdigest(),
            self._values.hexdigest(),
            self._data.hexdigest(),
        ]
        return hashlib.sha256(json.dumps(record).encode()).hexdigest()


def _fixed_width_bytes(array: pa.Array) -> bytes:
    import numpy as np
    import pyarrow as pa

    t = array.type
    if pa.types.is_boolean(t):
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.uint8).tobytes()
    if pa.types.is_decimal(t):
        return "\n".join(str(v) for v in array.to_pylist()).encode()
    if (
        pa.types.is_timestamp(t)
        or pa.types.is_date(t)
        or pa.types.is_duration(t)
        or pa.types.is_time(t)
    ):
        width = t.bit_width
        array = array.view(pa.int64() if width == 64 else pa.int32())
        t = array.type
    dtype = np.dtype(t.to_pandas_dtype()).newbyteorder("<")
    values = array.to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values, dtype=dtype).tobytes()


class ContentHasher:
    """Streams canonical record batches sharing one schema into a content id."""

    def __init__(self, schema: pa.Schema) -> None:
        self.rows = 0
        self._hashers = [ColumnHasher(field.name, field.type) for field in schema]

    def update(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        for hasher, column in zip(self._hashers, batch.columns, strict=True):
            hasher.update(column)

    def content_id(self) -> str:
        columns = sorted((h.name, h.digest()) for h in self._hashers)
        record = {"v": ID_VERSION, "rows": self.rows, "columns": columns}
        return "sha256:" + hashlib.sha256(json.dumps(record).encode()).hexdigest()


def content_id_of_batches(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> str:
    """The content id of canonical record batches sharing ``schema``, streamed."""
    hasher = ContentHasher(schema)
    for batch in batches:
        hasher.update(batch)
    return hasher.content_id()


def content_id(data: Any) -> str:
    """The content id of a table (pandas, polars, pyarrow), after canonicalisation."""
    from loopml.data._canonical import canonical_table

    table = canonical_table(data)
    return content_id_of_batches(table.schema, table.to_batches())


__all__ = ["ID_VERSION", "ColumnHasher", "ContentHasher", "content_id", "content_id_of_batches"]
