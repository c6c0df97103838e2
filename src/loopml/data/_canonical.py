"""The canonical form of a table: what the same data looks like whichever library it came from.

pandas, polars and pyarrow describe the same data differently (index columns, schema metadata,
``string`` vs ``large_string``, categoricals, NaN vs null, nanosecond vs microsecond timestamps,
time zones). Everything that identifies or stores a dataset goes through :func:`canonical_table`
first, so that these differences never change a dataset's content id. The rules, and the
evidence for each, are in ``docs/design/data-phase.md`` section 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa


def to_arrow(data: Any) -> pa.Table:
    """A pyarrow Table from a pandas or polars DataFrame, or a pyarrow Table/RecordBatch."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return _from_pandas(data)
    if module == "polars" and type(data).__name__ in ("DataFrame", "LazyFrame"):
        if type(data).__name__ == "LazyFrame":
            data = data.collect()
        return data.to_arrow()
    raise InvalidInputError(
        f"cannot read a {type(data).__name__} as a table; pass a pandas or polars DataFrame, a "
        "pyarrow Table, or a path to a CSV or Parquet file"
    )


def _from_pandas(frame: Any) -> pa.Table:
    import pandas as pd
    import pyarrow as pa

    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(f"expected a pandas DataFrame, not a {type(frame).__name__}")
    names = [n for n in frame.index.names if n is not None]
    if names:
        frame = frame.reset_index()  # a named index is data; an unnamed one is not
    for name in frame.columns:
        if not isinstance(name, str):
            raise InvalidInputError(
                f"column name {name!r} is not a string; rename the columns, e.g. "
                "df.columns = [str(c) for c in df.columns]"
            )
    _check_unique(list(frame.columns))
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        column = _mixed_column(frame)
        where = f"column {column!r}" if column else "a column"
        raise InvalidInputError(
            f"{where} mixes types that do not fit one column type ({exc}); convert it, e.g. "
            f"df[{column!r}] = df[{column!r}].astype(str)"
        ) from exc


def _mixed_column(frame: Any) -> str | None:
    import pyarrow as pa

    for name in frame.columns:
        try:
            pa.array(frame[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return str(name)
    return None


def _check_unique(names: list[str]) -> None:
    from collections import Counter

    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise InvalidInputError(
            f"duplicate column name(s) {', '.join(map(repr, duplicated))}; every column needs "
            "its own name"
        )


def canonical_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type a column of ``arrow_type`` has in canonical form (see the module docstring)."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_dictionary(t):
        return canonical_type(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or _is_view(t, "string"):
        return pa.large_string()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or _is_view(t, "binary"):
        return pa.large_binary()
    if pa.types.is_timestamp(t):
        return pa.timestamp(t.unit if t.unit == "ns" else "us", tz="UTC" if t.tz else None)
    if pa.types.is_float16(t):
        return pa.float32()
    if (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_date(t)
        or pa.types.is_decimal(t)
        or pa.types.is_null(t)
        or pa.types.is_duration(t)
        or pa.types.is_time(t)
    ):
        return t
    raise InvalidInputError(
        f"columns of type {t} are not supported yet; flatten nested data (lists, structs, maps) "
        "into plain columns first"
    )


def _is_view(arrow_type: pa.DataType, kind: str) -> bool:
    return str(arrow_type) == f"{kind}_view"


def canonical_column(column: pa.ChunkedArray | pa.Array, name: str) -> pa.ChunkedArray:
    """One column in canonical form: decoded, unified string type, NaN as null, UTC, µs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunked = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
    t = chunked.type
    if pa.types.is_dictionary(t):
        chunked = pa.chunked_array(
            [c.dictionary_decode() for c in chunked.chunks], type=t.value_type
        )
        t = chunked.type
    target = canonical_type(t)
    if pa.types.is_timestamp(t) and t.unit == "ns":
        try:
            chunked = chunked.cast(pa.timestamp("us", tz=t.tz), safe=True)
        except pa.ArrowInvalid:
            target = pa.timestamp("ns", tz="UTC" if t.tz else None)  # keep sub-µs values
    if chunked.type != target:
        try:
            chunked = chunked.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInputError(f"column {name!r} cannot be stored as {target}: {exc}") from exc
    if pa.types.is_floating(target) and chunked.length() and pc.any(pc.is_nan(chunked)).as_py():
        chunked = pc.if_else(pc.is_nan(chunked), pa.scalar(None, target), chunked)
    return chunked


def canonical_table(data: Any) -> pa.Table:
    """``data`` as a canonical pyarrow Table: same data, same table, whatever its origin.

    Column order is kept (it is what the user sees); the content id sorts columns itself.
    Schema metadata (pandas, polars) is dropped.
    """
    import pyarrow as pa

    table = to_arrow(data)
    _check_unique(table.column_names)
    columns = [canonical_column(table.column(i), name) for i, name in enumerate(table.column_names)]
    fields = [
        pa.field(name, col.type) for name, col in zip(table.column_names, columns, strict=True)
    ]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))
