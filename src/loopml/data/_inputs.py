"""Any input loopml accepts as data, read as a stream of canonical Arrow record batches.

Inputs: a pandas or polars DataFrame (or LazyFrame), a pyarrow Table or RecordBatch, a CSV or
Parquet file, a folder or glob of them (same columns), or a SQL query with a SQLAlchemy URL.
:func:`open_data` returns a :class:`Source` whose batches can be read more than once and never
hold more than one batch of a file in memory, so a file larger than memory streams.

Files are recognised by their content, not their name (``PAR1`` magic bytes for Parquet).
Parquet is opened with ``pre_buffer=False`` (measured: 0.33 GB peak RSS instead of 1.9 GB
streaming 10M x 25). A CSV up to :data:`CSV_WHOLE_FILE_BYTES` is read whole, so its column
types come from every row; a bigger one streams, with types inferred from its first
:data:`CSV_BLOCK_BYTES`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 1 << 18
CSV_WHOLE_FILE_BYTES = 256 << 20
CSV_BLOCK_BYTES = 64 << 20


@dataclass
class Source:
    """Data opened for reading: a canonical schema and re-readable canonical batches."""

    schema: pa.Schema
    description: dict[str, object]
    _batches: Callable[[], Iterator[pa.RecordBatch]]
    num_rows: int | None = None  # known up front for tables and Parquet
    parts: list[Source] = field(default_factory=list)  # independent pieces (files), if any

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The data, batch by batch, in canonical form."""
        return self._batches()

    def read_all(self) -> pa.Table:
        import pyarrow as pa

        return pa.Table.from_batches(list(self.batches()), schema=self.schema)

    def partitions(self) -> list[Source]:
        """Pieces that can be read independently (one per file; the whole otherwise)."""
        return self.parts or [self]


def read_table(data: Any, *, url: str | None = None) -> pa.Table:
    """``data`` as one canonical pyarrow Table (in memory)."""
    return open_data(data, url=url).read_all()


def open_data(data: Any, *, url: str | None = None, batch_rows: int = BATCH_ROWS) -> Source:
    """Open ``data`` (anything loopml reads) as a :class:`Source` of canonical batches."""
    if isinstance(data, Source):
        return data
    if url is not None:
        if not isinstance(data, str):
            raise InvalidInputError("with url=, data must be the SQL query text")
        return _sql_source(data, url, batch_rows)
    if isinstance(data, str) and re.match(r"\s*(select|with)\s", data, re.IGNORECASE):
        raise InvalidInputError(
            "this looks like a SQL query; say which database it runs on with "
            "url='postgresql+psycopg://...' (any SQLAlchemy URL)"
        )
    if isinstance(data, str) and any(c in data for c in "*?["):
        import glob

        matches = glob.glob(data, recursive=True)  # noqa: PTH207 - the user's pattern, as given
        return _many_files(sorted(Path(p) for p in matches), data, batch_rows)
    if isinstance(data, str | os.PathLike) and Path(data).is_dir():
        folder = Path(data)
        return _many_files(sorted(folder.rglob("*")), str(folder), batch_rows)
    if isinstance(data, str | os.PathLike):
        return _file_source(Path(data), batch_rows)
    return _memory_source(data, batch_rows)


def _memory_source(data: Any, batch_rows: int) -> Source:
    from loopml.data._canonical import canonical_table

    module = type(data).__module__.split(".")[0]
    kind = {"pandas": "pandas", "polars": "polars", "pyarrow": "arrow"}.get(module)
    if kind is None:
        raise InvalidInputError(
            f"cannot read a {type(data).__name__} as data; pass a pandas or polars DataFrame, "
            "a pyarrow Table, the path of a CSV or Parquet file (or a folder or glob of them), "
            "or a SQL query with url="
        )
    table = canonical_table(data)
    return Source(
        table.schema,
        {"kind": kind},
        lambda: iter(table.to_batches(max_chunksize=batch_rows)),
        num_rows=table.num_rows,
    )


def _sniff(path: Path) -> str:
    """'parquet' or 'csv', from the file's first bytes; a clear error for anything else."""
    if not path.is_file():
        raise InvalidInputError(f"cannot read {path}: no such file")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head[:4] == b"PAR1":
        return "parquet"
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        raise InvalidInputError(
            f"{path} is named .parquet but is not a Parquet file (no PAR1 magic bytes); "
            "check the file, or rename it if it is a CSV"
        )
    if head[:6] == b"ARROW1" or head[:2] in (b"PK", b"\x1f\x8b") or b"\x00" in head:
        raise InvalidInputError(
            f"{path} is not a CSV or Parquet file (it starts with {head[:6]!r}); convert it "
            "to CSV or Parquet"
        )
    return "csv"


def _file_source(path: Path, batch_rows: int) -> Source:
    kind = _sniff(path)
    if kind == "parquet":
        return _parquet_source(path, batch_rows)
    return _csv_source(path, batch_rows)


def _canonical_batches(
    batches: Iterator[Any], schema: pa.Schema, where: str
) -> Iterator[pa.RecordBatch]:
    """Each raw batch made canonical and cast to ``schema`` (the first batch's canonical form)."""
    import pyarrow as pa

    from loopml.data._canonical import canonical_column

    for batch in batches:
        columns = []
        for i, target in enumerate(schema):
            column = canonical_column(batch.column(i), target.name)
            if column.type != target.type:
                try:
                    column = column.cast(target.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise InvalidInputError(
                        f"column {target.name!r} of {where} changes type part way through "
                        f"({target.type} then {column.type}); make the column one type"
                    ) from exc
            columns.append(column.combine_chunks())
        yield pa.RecordBatch.from_arrays(columns, schema=schema)


def _canonical_schema(schema: pa.Schema) -> pa.Schema:
    import pyarrow as pa

    from loopml.data._canonical import _check_unique, canonical_type

    _check_unique(schema.names)
    return pa.schema([pa.field(f.name, canonical_type(f.type)) for f in schema])


def _parquet_source(path: Path, batch_rows: int) -> Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path)
        raw_schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInputError(f"cannot read {path} as Parquet: {exc}") from exc
    schema = _canonical_schema(raw_schema.remove_metadata())

    def batches() -> Iterator[pa.RecordBatch]:
        with pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20) as handle:
            yield from _canonical_batches(
                handle.iter_batches(batch_size=batch_rows), schema, str(path)
            )

    return Source(
        schema,
        {"kind": "parquet", "path": str(path.resolve())},
        batches,
        num_rows=metadata.num_rows,
    )


def _csv_source(path: Path, batch_rows: int) -> Source:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    description: dict[str, object] = {"kind": "csv", "path": str(path.resolve())}
    try:
        if path.stat().st_size <= CSV_WHOLE_FILE_BYTES:
            table = pacsv.read_csv(path)
            _check_text(table.schema, path)
            schema = _canonical_schema(table.schema)
            canonical = pa.Table.from_batches(
                list(_canonical_batches(iter(table.to_batches()), schema, str(path))), schema
            )
            return Source(
                schema,
                description,
                lambda: iter(canonical.to_batches(max_chunksize=batch_rows)),
                num_rows=canonical.num_rows,
            )
        with pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES)) as r:
            raw_schema = r.schema
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path} as CSV or Parquet: {exc}") from exc
    _check_text(raw_schema, path)
    schema = _canonical_schema(raw_schema)
    options = pacsv.ConvertOptions(column_types={f.name: f.type for f in raw_schema})

    def batches() -> Iterator[pa.RecordBatch]:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=options,
        )
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as exc:
                    if "UTF8" in str(exc) or "UTF-8" in str(exc):
                        raise InvalidInputError(_not_utf8(path, str(exc), schema.names)) from exc
                    raise InvalidInputError(
                        f"{path} changes a column's type after its first "
                        f"{CSV_BLOCK_BYTES >> 20} MB ({exc}); convert it to Parquet, or read "
                        "it with pandas or polars and register the DataFrame"
                    ) from exc
                yield from _canonical_batches(iter([batch]), schema, str(path))
        finally:
            reader.close()

    return Source(schema, description, batches)


def _not_utf8(path: Path, reason: str, names: list[str]) -> str:
    found = re.search(r"column #(\d+)", reason)
    column = names[int(found.group(1))] if found and int(found.group(1)) < len(names) else None
    which = f"column {column!r}" if column else "a column"
    return (
        f"{which} of {path} is not valid UTF-8 text; convert the file to UTF-8 (e.g. iconv -f "
        "latin1 -t utf-8) or load it with pandas (encoding=...) and register the DataFrame"
    )


def _check_text(schema: pa.Schema, path: Path) -> None:
    import pyarrow as pa

    for field_ in schema:
        if pa.types.is_binary(field_.type) or pa.types.is_large_binary(field_.type):
            raise InvalidInputError(
                f"column {field_.name!r} of {path} is not valid UTF-8 text; convert the file "
                "to UTF-8 (e.g. iconv -f latin1 -t utf-8) or load it with pandas "
                "(encoding=...) and register the DataFrame"
            )


def _many_files(files: list[Path], described: str, batch_rows: int) -> Source:
    files = [f for f in files if f.is_file() and f.suffix.lower() in (".csv", ".parquet")]
    if not files:
        raise InvalidInputError(
            f"{described} holds no .csv or .parquet file; check the path or the pattern"
        )
    parts = [_file_source(f, batch_rows) for f in files]
    first = parts[0]
    for file, part in zip(files[1:], parts[1:], strict=True):
        if part.schema != first.schema:
            raise InvalidInputError(
                f"{file} does not have the columns and types of {files[0]} "
                f"({part.schema.names} vs {first.schema.names}); register them separately "
                "or make them agree"
            )

    def batches() -> Iterator[pa.RecordBatch]:
        for part in parts:
            yield from part.batches()

    rows = [p.num_rows for p in parts]
    known = all(r is not None for r in rows)
    return Source(
        first.schema,
        {"kind": "files", "from": described, "files": [str(f.resolve()) for f in files]},
        batches,
        num_rows=sum(r for r in rows if r is not None) if known else None,
        parts=parts,
    )


def _sql_source(query: str, url: str, batch_rows: int) -> Source:
    import pandas as pd
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from loopml.data._canonical import canonical_table

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInputError(f"url={url!r} is not a SQLAlchemy database URL") from exc
    shown = parsed.render_as_string(hide_password=True)
    engine = create_engine(parsed)
    try:
        with engine.connect() as connection:
            frame = pd.read_sql(text(query), connection)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise InvalidInputError(f"the query failed on {shown}: {reason}") from exc
    finally:
        engine.dispose()
    table = canonical_table(frame)
    return Source(
        table.schema,
        {"kind": "sql", "url": shown, "query": query},
        lambda: iter(table.to_batches(max_chunksize=batch_rows)),
        num_rows=table.num_rows,
    )


__all__ = ["BATCH_ROWS", "Source", "open_data", "read_table"]
