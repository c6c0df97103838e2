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
    from collections.abc import Iterator

    import pandas as pd
    import pyarrow as pa

    from loopml._workspace import Workspace
    from loopml.data._profile import Profile
    from loopml.data._schema import Schema

ROLES = ("feature", "target", "prediction", "id", "timestamp", "ignored")
ROW_GROUP_SIZE = 1 << 20
PART_ROWS = 1 << 20  # rows per Parquet part: the unit of streaming and of Ray tasks


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

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The data part by part, batch by batch (bounded memory; each part verified)."""
        import io

        import pyarrow.parquet as pq

        for f in self.record.files:
            blob = io.BytesIO(self.workspace.artifacts.get_bytes(f.digest))
            yield from pq.ParquetFile(blob).iter_batches(batch_size=1 << 18)

    def profile(self) -> Profile:
        """The profile computed when this version was registered (computed now if missing)."""
        from loopml.data._hll import DEFAULT_P
        from loopml.data._profile import DEFAULT_CAP, Profile, _spec, profile
        from loopml.data._quantiles import DEFAULT_K

        spec = _spec(DEFAULT_K, DEFAULT_P, DEFAULT_CAP)
        digest = self.workspace.store.get_profile(self.name, self.version, spec)
        if digest is not None:
            stored = Profile.from_bytes(self.workspace.artifacts.get_bytes(digest))
            stored.source = f"{self.name} v{self.version}"
            return stored
        computed = profile(self.to_arrow())
        computed.source = f"{self.name} v{self.version}"
        self._store_profile(computed)
        return computed

    def _store_profile(self, prof: Profile) -> None:
        prof.source = f"{self.name} v{self.version}"
        digest, _ = self.workspace.artifacts.put_bytes(prof.to_bytes())
        self.workspace.store.put_profile(self.name, self.version, prof.spec, digest)

    def to_pandas(self) -> pd.DataFrame:
        """The data as a pandas DataFrame."""
        frame: pd.DataFrame = self.to_arrow().to_pandas()
        return frame

    def __repr__(self) -> str:
        return (
            f"DatasetVersion({self.name!r}, version={self.version}, rows={self.rows}, "
            f"id={self.id[:19]}...)"
        )


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
    from loopml._workspace import workspace
    from loopml.data._inputs import open_data
    from loopml.store._sql_datasets import check_dataset_name
    from loopml.tracking import active_run

    check_dataset_name(name)
    source = open_data(data, url=url)
    if len(source.schema) == 0:
        raise InvalidInputError(f"cannot register empty data as {name!r} (no columns)")
    ws = workspace(path, create=True)
    store = ws.store
    names = list(source.schema.names)
    if roles is None:
        roles = _previous_roles(store, name, names)
    column_roles = _check_roles(roles, names)
    with tempfile.TemporaryDirectory() as tmp:
        written = _write_parts(source, Path(tmp))
        if written.rows == 0:
            raise InvalidInputError(
                f"cannot register empty data as {name!r} (0 rows, {len(names)} columns)"
            )
        found = store.find_dataset_version(name, written.content_id)
        if found is not None:
            return DatasetVersion(found, ws)
        files = []
        for part, (file, rows) in enumerate(written.parts):
            digest, size = ws.artifacts.put_file(file)
            files.append(DatasetFile(part, digest, size, rows))
    run = active_run()
    record, created = store.create_dataset_version(
        name,
        content_id=written.content_id,
        row_count=written.rows,
        columns=[(f.name, str(f.type)) for f in source.schema],
        roles=column_roles,
        source=dict(source.description),
        files=files,
        parents=[_lineage(p, relation) for p in parents],
        run_id=run.id if run is not None else None,
        description=description,
    )
    version = DatasetVersion(record, ws)
    if created:
        version._store_profile(written.profile)
    return version


@dataclass
class _Written:
    content_id: str
    rows: int
    parts: list[tuple[Path, int]]
    profile: Any


def _write_parts(source: Any, folder: Path) -> _Written:
    """One pass over the data: content id, profile, and canonical Parquet parts."""
    import pyarrow.parquet as pq

    from loopml.data._content_id import ContentHasher
    from loopml.data._profile import ProfileBuilder

    hasher = ContentHasher(source.schema)
    builder = ProfileBuilder(source.schema)
    parts: list[tuple[Path, int]] = []
    writer: Any = None
    part_rows = 0
    try:
        for batch in source.batches():
            if batch.num_rows == 0:
                continue
            hasher.update(batch)
            builder.update(batch)
            if writer is None or part_rows >= PART_ROWS:
                if writer is not None:
                    writer.close()
                    parts[-1] = (parts[-1][0], part_rows)
                file = folder / f"part-{len(parts)}.parquet"
                writer = pq.ParquetWriter(
                    file, source.schema, compression="zstd", store_schema=False
                )
                parts.append((file, 0))
                part_rows = 0
            writer.write_batch(batch, row_group_size=ROW_GROUP_SIZE)
            part_rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    if parts:
        parts[-1] = (parts[-1][0], part_rows)
    return _Written(hasher.content_id(), hasher.rows, parts, builder.result())


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
        from loopml.data._inputs import read_table

        raw = read_table(labels)
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


def resolve(ref: str, *, path: str | os.PathLike[str] | None = None) -> DatasetVersion | None:
    """The dataset version ``ref`` names (``datasets:/name[/version]``, ``name[/version]``).

    Returns None when ``ref`` is not a registered dataset (it may be a file path instead).
    """
    from loopml._errors import NotFoundError, WorkspaceNotFoundError
    from loopml._workspace import workspace

    text = ref.removeprefix("datasets:/")
    name, _, number = text.partition("/")
    version: int | None = None
    if number:
        if not number.isdigit():
            return None
        version = int(number)
    try:
        ws = workspace(path)
        return DatasetVersion(ws.store.get_dataset_version(name, version), ws)
    except NotFoundError:
        if ref.startswith("datasets:/"):
            raise
        return None
    except WorkspaceNotFoundError:
        if ref.startswith("datasets:/"):
            raise
        return None


def infer_schema(
    version: DatasetVersion, *, max_categories: int = 20, save: bool = True
) -> tuple[Schema, int | None]:
    """Infer the schema of ``version`` and save it as the dataset's next schema version.

    Returns the schema and its version number (None when ``save`` is False). Saving the same
    schema again keeps the current version.
    """
    from loopml.data._schema import infer_schema as infer

    schema = infer(version, max_categories=max_categories, name=version.name)
    if not save:
        return schema, None
    return schema, set_schema(version.name, schema, inferred_from=version)


def set_schema(
    name: str,
    schema: Schema | str | os.PathLike[str],
    *,
    inferred_from: DatasetVersion | None = None,
    path: str | os.PathLike[str] | None = None,
) -> int:
    """Save ``schema`` (a Schema or a YAML file) as dataset ``name``'s next schema version."""
    from loopml._workspace import workspace
    from loopml.data._schema import Schema

    loaded = schema if isinstance(schema, Schema) else Schema.load(schema)
    ws = inferred_from.workspace if inferred_from is not None and path is None else workspace(path)
    digest, _ = ws.artifacts.put_bytes(loaded.to_yaml().encode())
    record = ws.store.put_schema(
        name, digest, inferred_from=inferred_from.version if inferred_from else None
    )
    return record.version


def schema(
    name: str, version: int | None = None, *, path: str | os.PathLike[str] | None = None
) -> Schema:
    """Schema ``version`` (default: the latest) of dataset ``name``."""
    from loopml._workspace import workspace
    from loopml.data._schema import Schema

    ws = workspace(path)
    record = ws.store.get_schema(name, version)
    text = ws.artifacts.get_bytes(record.digest).decode()
    return Schema.from_yaml(text, source=f"schema {record.version} of dataset {name!r}")


__all__ = [
    "ROLES",
    "DatasetVersion",
    "attach_labels",
    "get",
    "infer_schema",
    "register",
    "resolve",
    "schema",
    "set_schema",
    "versions",
]
