"""Dataset versions: immutable, content-addressed tables with roles, source and lineage.

::

    import loopml

    v1 = loopml.datasets.register(frame, name="transactions", roles={"is_fraud": "target"})
    v1.version, v1.id          # 1, 'sha256:...' (the same data gives the same id anywhere)
    loopml.datasets.get("transactions").to_pandas()

Registering the same content again returns the existing version and writes nothing. Data is
stored once as canonical Parquet in the artifact store; the id is a hash of the canonical data
(:mod:`loopml.data._content_id`), not of the file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError
from loopml.store import DatasetFile, DatasetVersionRecord

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from loopml._workspace import Workspace

ROLES = ("feature", "target", "prediction", "id", "timestamp", "ignored")
ROW_GROUP_SIZE = 1 << 20


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a named dataset."""

    record: DatasetVersionRecord
    workspace: Workspace

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def version(self) -> int:
        return self.record.version

    @property
    def id(self) -> str:
        """The content id: sha256 over the canonical data."""
        return self.record.content_id

    @property
    def rows(self) -> int:
        return self.record.row_count

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(name, type) of each column, in the order they were registered."""
        return list(self.record.columns)

    @property
    def roles(self) -> dict[str, str]:
        return dict(self.record.roles)

    @property
    def parents(self) -> list[tuple[str, int, str]]:
        """(dataset, version, relation) of the versions this one was derived from."""
        return list(self.record.parents)

    @property
    def run_id(self) -> str | None:
        """The run that registered this version, if one was active."""
        return self.record.run_id

    @property
    def uri(self) -> str:
        return f"datasets:/{self.name}/{self.version}"

    def columns_with_role(self, role: str) -> list[str]:
        return [name for name, _ in self.columns if self.record.roles.get(name) == role]

    def to_arrow(self) -> pa.Table:
        """The data as a pyarrow Table (every part verified against its digest)."""
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = [
            pq.read_table(io.BytesIO(self.workspace.artifacts.get_bytes(f.digest)))
            for f in self.record.files
        ]
        if not parts:
            return pa.table({})
        return pa.concat_tables(parts)

    def to_pandas(self) -> pd.DataFrame:
        """The data as a pandas DataFrame."""
        frame: pd.DataFrame = self.to_arrow().to_pandas()
        return frame

    def __repr__(self) -> str:
        return (
            f"DatasetVersion({self.name!r}, version={self.version}, rows={self.rows}, "
            f"id={self.id[:19]}...)"
        )


def _read_path(path: Path) -> tuple[Any, dict[str, object]]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InvalidInputError(f"cannot register {path}: no such file")
    with path.open("rb") as handle:
        head = handle.read(4)
    try:
        if head == b"PAR1":
            return pq.read_table(path), {"kind": "parquet", "path": str(path.resolve())}
        if path.suffix.lower() == ".parquet":
            raise InvalidInputError(
                f"{path} is named .parquet but is not a Parquet file (no PAR1 magic bytes)"
            )
        table = pacsv.read_csv(path)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path} as CSV or Parquet: {exc}") from exc
    for field in table.schema:
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            raise InvalidInputError(
                f"column {field.name!r} of {path} is not valid UTF-8 text; convert the file "
                "to UTF-8 (e.g. iconv -f latin1 -t utf-8) or load it with pandas "
                "(encoding=...) and register the DataFrame"
            )
    return table, {"kind": "csv", "path": str(path.resolve())}


def _read_many(files: list[Path], described: str) -> tuple[Any, dict[str, object]]:
    import pyarrow as pa

    from loopml.data._canonical import canonical_table

    files = [f for f in files if f.is_file() and f.suffix.lower() in (".csv", ".parquet")]
    if not files:
        raise InvalidInputError(f"{described} holds no .csv or .parquet file")
    tables: list[Any] = []
    for file in files:
        table = canonical_table(_read_path(file)[0])
        if tables and table.schema != tables[0].schema:
            raise InvalidInputError(
                f"{file} does not have the columns and types of {files[0]} "
                f"({table.schema.names} vs {tables[0].schema.names}); register them separately "
                "or make them agree"
            )
        tables.append(table)
    source: dict[str, object] = {
        "kind": "files",
        "from": described,
        "files": [str(f.resolve()) for f in files],
    }
    return pa.concat_tables(tables), source


def _read_sql(query: str, url: str) -> tuple[Any, dict[str, object]]:
    import pandas as pd
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInputError(f"url={url!r} is not a SQLAlchemy database URL") from exc
    engine = create_engine(parsed)
    try:
        with engine.connect() as connection:
            frame = pd.read_sql(text(query), connection)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        shown = parsed.render_as_string(hide_password=True)
        raise InvalidInputError(f"the query failed on {shown}: {reason}") from exc
    finally:
        engine.dispose()
    shown = parsed.render_as_string(hide_password=True)
    return frame, {"kind": "sql", "url": shown, "query": query}


def _as_table(data: Any, url: str | None = None) -> tuple[Any, dict[str, object]]:
    if url is not None:
        if not isinstance(data, str):
            raise InvalidInputError("with url=, data must be the SQL query text")
        return _read_sql(data, url)
    if isinstance(data, str) and data.lstrip().lower().startswith(("select ", "with ")):
        raise InvalidInputError(
            "this looks like a SQL query; say which database it runs on with "
            "url='postgresql+psycopg://...' (any SQLAlchemy URL)"
        )
    if isinstance(data, str) and any(c in data for c in "*?["):
        import glob

        matches = glob.glob(data, recursive=True)  # noqa: PTH207 - the user's pattern, as given
        return _read_many(sorted(Path(p) for p in matches), data)
    if isinstance(data, str | os.PathLike) and Path(data).is_dir():
        folder = Path(data)
        return _read_many(sorted(folder.rglob("*")), str(folder))
    if isinstance(data, str | os.PathLike):
        return _read_path(Path(data))
    module = type(data).__module__.split(".")[0]
    kind = {"pandas": "pandas", "polars": "polars", "pyarrow": "arrow"}.get(module)
    if kind is None:
        raise InvalidInputError(
            f"cannot register a {type(data).__name__}; pass a pandas or polars DataFrame, a "
            "pyarrow Table, or the path of a CSV or Parquet file"
        )
    return data, {"kind": kind}


def _check_roles(roles: Mapping[str, str] | None, names: Sequence[str]) -> dict[str, str]:
    given = dict(roles or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InvalidInputError(
            f"roles name column(s) {', '.join(map(repr, unknown))} that the data does not "
            f"have; columns: {', '.join(names)}"
        )
    bad = {c: r for c, r in given.items() if r not in ROLES}
    if bad:
        column, role = next(iter(bad.items()))
        raise InvalidInputError(
            f"role {role!r} of column {column!r} is not a role; use one of {', '.join(ROLES)}"
        )
    return {name: given.get(name, "feature") for name in names}


def register(
    data: Any,
    name: str,
    *,
    roles: Mapping[str, str] | None = None,
    parents: Sequence[DatasetVersion | tuple[DatasetVersion, str]] = (),
    relation: str = "derived",
    description: str | None = None,
    url: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> DatasetVersion:
    """Register ``data`` as a version of dataset ``name`` (or find the identical one).

    ``data`` is a pandas or polars DataFrame, a pyarrow Table, a CSV or Parquet path, a folder
    or glob of such files (same columns), or a SQL query run on the database at ``url`` (any
    SQLAlchemy URL; the password is never recorded).
    ``roles`` maps columns to feature (the default), target, prediction, id, timestamp or
    ignored; without it, the latest version's roles carry over. The active run, if any, is
    recorded as the producer; ``parents`` are the versions this one was derived from (each
    with ``relation``, or as a ``(version, relation)`` pair).
    """
    import pyarrow.parquet as pq

    from loopml._workspace import workspace
    from loopml.data._canonical import canonical_table
    from loopml.data._content_id import content_id_of_batches
    from loopml.store._sql_datasets import check_dataset_name
    from loopml.tracking import active_run

    check_dataset_name(name)
    raw, source = _as_table(data, url)
    table = canonical_table(raw)
    if table.num_columns == 0 or table.num_rows == 0:
        raise InvalidInputError(
            f"cannot register empty data as {name!r} ({table.num_rows} rows, "
            f"{table.num_columns} columns)"
        )
    ws = workspace(path, create=True)
    store = ws.store
    if roles is None:
        roles = _previous_roles(store, name, table.column_names)
    column_roles = _check_roles(roles, table.column_names)
    cid = content_id_of_batches(table.schema, table.to_batches())
    found = store.find_dataset_version(name, cid)
    if found is not None:
        return DatasetVersion(found, ws)
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "part-0.parquet"
        pq.write_table(
            table, file, compression="zstd", store_schema=False, row_group_size=ROW_GROUP_SIZE
        )
        digest, size = ws.artifacts.put_file(file)
    run = active_run()
    record, _ = store.create_dataset_version(
        name,
        content_id=cid,
        row_count=table.num_rows,
        columns=[(f.name, str(f.type)) for f in table.schema],
        roles=column_roles,
        source=source,
        files=[DatasetFile(0, digest, size, table.num_rows)],
        parents=[_lineage(p, relation) for p in parents],
        run_id=run.id if run is not None else None,
        description=description,
    )
    return DatasetVersion(record, ws)


def _lineage(
    parent: DatasetVersion | tuple[DatasetVersion, str], relation: str
) -> tuple[str, int, str]:
    version, how = parent if isinstance(parent, tuple) else (parent, relation)
    if not isinstance(version, DatasetVersion):
        raise InvalidInputError(f"a parent must be a DatasetVersion, not {version!r}")
    return (version.name, version.version, how)


def _previous_roles(store: Any, name: str, names: Sequence[str]) -> dict[str, str]:
    """Roles carry over from the latest version for the columns that are still there."""
    from loopml._errors import NotFoundError

    try:
        latest = store.get_dataset_version(name)
    except NotFoundError:
        return {}
    return {column: role for column, role in latest.roles.items() if column in names}


def attach_labels(
    base: DatasetVersion,
    labels: Any,
    *,
    on: str | None = None,
    name: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> DatasetVersion:
    """Join labels that arrived later onto ``base``, as a new version with both as parents.

    ``labels`` (a dataset version, or data registered as dataset ``<base name>.labels``) holds
    the key column ``on`` (default: ``base``'s ``id`` column) and one or more label columns.
    Every row of ``base`` is kept, in order; a label column that ``base`` already has is filled
    where the labels have a value. Label columns get the ``target`` role. The new version goes
    to dataset ``name`` (default: ``base``'s) with lineage to ``base`` ("features") and to the
    labels ("labels").
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(base, DatasetVersion):
        raise InvalidInputError("attach_labels needs a DatasetVersion (loopml.datasets.get(...))")
    if on is None:
        ids = base.columns_with_role("id")
        if len(ids) != 1:
            raise InvalidInputError(
                f"dataset {base.name!r} v{base.version} has {len(ids)} columns with role 'id'; "
                "say which column joins the labels with on='column'"
            )
        on = ids[0]
    if isinstance(labels, DatasetVersion):
        label_version = labels
    else:
        from loopml.data._canonical import to_arrow

        raw, _ = _as_table(labels)
        raw = to_arrow(raw)
        if on not in raw.column_names:
            raise InvalidInputError(
                f"the labels have no column {on!r} to join on; columns: "
                f"{', '.join(raw.column_names)}"
            )
        label_version = register(raw, f"{base.name}.labels", roles={on: "id"}, path=path)
    label_table = label_version.to_arrow()
    table = base.to_arrow()
    for side, columns in (("labels", label_table.column_names), ("data", table.column_names)):
        if on not in columns:
            raise InvalidInputError(
                f"the {side} have no column {on!r} to join on; columns: {', '.join(columns)}"
            )
    label_columns = [c for c in label_table.column_names if c != on]
    if not label_columns:
        raise InvalidInputError(f"the labels hold only the key {on!r}; add the label column(s)")
    keys = label_table.column(on)
    if pc.count_distinct(keys, mode="all").as_py() != len(keys):
        counts = pc.value_counts(keys)
        duplicated = [v["values"] for v in counts.to_pylist() if v["counts"] > 1][:5]
        raise InvalidInputError(
            f"the labels give {on!r} values more than once (e.g. {duplicated}); keep one label "
            "per row"
        )
    renamed = label_table.rename_columns(
        [c if c == on else f"__label__{c}" for c in label_table.column_names]
    )
    order = "__loopml_row__"
    left = table.append_column(order, pa.array(range(table.num_rows), pa.int64()))
    joined = left.join(renamed, keys=on, join_type="left outer").sort_by(order)
    out = joined.select([*table.column_names])
    for column in label_columns:
        incoming = joined.column(f"__label__{column}")
        if column in out.column_names:
            merged = pc.coalesce(incoming, out.column(column).cast(incoming.type))
            out = out.set_column(out.column_names.index(column), column, merged)
        else:
            out = out.append_column(column, incoming)
    roles = {**base.roles, **{column: "target" for column in label_columns}}
    return register(
        out,
        name or base.name,
        roles={c: r for c, r in roles.items() if c in out.column_names},
        parents=[(base, "features"), (label_version, "labels")],
        path=path,
    )


def get(
    name: str, version: int | None = None, *, path: str | os.PathLike[str] | None = None
) -> DatasetVersion:
    """A version of dataset ``name``: the latest, or the numbered one."""
    from loopml._workspace import workspace

    ws = workspace(path)
    return DatasetVersion(ws.store.get_dataset_version(name, version), ws)


def versions(
    name: str | None = None, *, path: str | os.PathLike[str] | None = None
) -> list[DatasetVersion]:
    """Every version of dataset ``name``, or the latest version of every dataset."""
    from loopml._workspace import workspace

    ws = workspace(path)
    return [DatasetVersion(r, ws) for r in ws.store.list_dataset_versions(name)]


__all__ = ["ROLES", "DatasetVersion", "attach_labels", "get", "register", "versions"]
