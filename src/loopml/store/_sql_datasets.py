"""Dataset versions in the SQL store (mixed into :class:`~loopml.store._sql.SqlStore`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.exc import IntegrityError

from loopml._errors import InvalidInputError, NotFoundError
from loopml.store._records import DatasetFile, DatasetVersionRecord
from loopml.store._tables import (
    dataset_files,
    dataset_lineage,
    dataset_versions,
    datasets,
    runs,
)

T = TypeVar("T")


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


def check_dataset_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256 or name != name.strip():
        raise InvalidInputError(
            f"dataset name {name!r} is not allowed: use a non-empty string of at most 256 "
            "characters without surrounding spaces, e.g. 'transactions'"
        )
    return name


class DatasetsMixin:
    """The dataset part of the Store interface, on SQLAlchemy Core."""

    _write: Callable[..., Any]
    _read: Callable[..., Any]
    _run_pk: Callable[[str], int]
    _insert: Callable[[Any], Any]

    def _version_select(self) -> Any:
        return select(
            dataset_versions,
            datasets.c.name.label("dataset_name"),
            runs.c.id.label("run_id"),
        ).select_from(
            dataset_versions.join(
                datasets, datasets.c.id == dataset_versions.c.dataset_id
            ).outerjoin(runs, runs.c.pk == dataset_versions.c.run_pk)
        )

    def _records(self, connection: Connection, rows: Sequence[Any]) -> list[DatasetVersionRecord]:
        pks = [r.pk for r in rows]
        files: dict[int, list[DatasetFile]] = {pk: [] for pk in pks}
        parents: dict[int, list[tuple[str, int, str]]] = {pk: [] for pk in pks}
        if pks:
            for f in connection.execute(
                select(dataset_files)
                .where(dataset_files.c.version_pk.in_(pks))
                .order_by(dataset_files.c.part)
            ):
                files[f.version_pk].append(DatasetFile(f.part, f.digest, f.size, f.rows))
            parent = dataset_versions.alias("parent")
            parent_set = datasets.alias("parent_set")
            for p in connection.execute(
                select(
                    dataset_lineage.c.child_pk,
                    dataset_lineage.c.relation,
                    parent.c.version,
                    parent_set.c.name,
                )
                .select_from(
                    dataset_lineage.join(parent, parent.c.pk == dataset_lineage.c.parent_pk).join(
                        parent_set, parent_set.c.id == parent.c.dataset_id
                    )
                )
                .where(dataset_lineage.c.child_pk.in_(pks))
                .order_by(parent_set.c.name, parent.c.version)
            ):
                parents[p.child_pk].append((p.name, p.version, p.relation))
        return [
            DatasetVersionRecord(
                name=r.dataset_name,
                version=r.version,
                content_id=r.content_id,
                row_count=r.row_count,
                columns=[(c[0], c[1]) for c in json.loads(r.columns)],
                roles=json.loads(r.roles),
                source=json.loads(r.source),
                files=files[r.pk],
                size_bytes=r.size_bytes,
                created_at=r.created_at,
                run_id=r.run_id,
                parents=parents[r.pk],
                description=r.description,
            )
            for r in rows
        ]

    def find_dataset_version(self, name: str, content_id: str) -> DatasetVersionRecord | None:
        stmt = self._version_select().where(
            datasets.c.name == name, dataset_versions.c.content_id == content_id
        )

        def body(connection: Connection) -> DatasetVersionRecord | None:
            rows = connection.execute(stmt).all()
            return self._records(connection, rows)[0] if rows else None

        found: DatasetVersionRecord | None = self._read(body)
        return found

    def create_dataset_version(
        self,
        name: str,
        *,
        content_id: str,
        row_count: int,
        columns: Sequence[tuple[str, str]],
        roles: Mapping[str, str],
        source: Mapping[str, object],
        files: Sequence[DatasetFile],
        parents: Sequence[tuple[str, int, str]] = (),
        run_id: str | None = None,
        description: str | None = None,
    ) -> tuple[DatasetVersionRecord, bool]:
        check_dataset_name(name)
        run_pk = self._run_pk(run_id) if run_id else None
        now = _now_ms()

        def body(connection: Connection) -> tuple[DatasetVersionRecord, bool]:
            connection.execute(
                self._insert(datasets)
                .values(name=name, created_at=now)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            dataset_id = connection.execute(
                select(datasets.c.id).where(datasets.c.name == name)
            ).scalar_one()
            existing = connection.execute(
                self._version_select().where(
                    dataset_versions.c.dataset_id == dataset_id,
                    dataset_versions.c.content_id == content_id,
                )
            ).all()
            if existing:
                return self._records(connection, existing)[0], False
            parent_pks = []
            for parent_name, parent_version, relation in parents:
                pk = connection.execute(
                    select(dataset_versions.c.pk)
                    .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                    .where(
                        datasets.c.name == parent_name,
                        dataset_versions.c.version == parent_version,
                    )
                ).scalar()
                if pk is None:
                    raise NotFoundError(
                        f"parent dataset {parent_name!r} version {parent_version} does not "
                        "exist; list versions with `loopml data list`"
                    )
                parent_pks.append((pk, relation))
            latest = connection.execute(
                select(func.max(dataset_versions.c.version)).where(
                    dataset_versions.c.dataset_id == dataset_id
                )
            ).scalar()
            result = connection.execute(
                dataset_versions.insert().values(
                    dataset_id=dataset_id,
                    version=(latest or 0) + 1,
                    content_id=content_id,
                    row_count=row_count,
                    column_count=len(columns),
                    size_bytes=sum(f.size for f in files),
                    columns=json.dumps([list(c) for c in columns]),
                    roles=json.dumps(dict(roles), sort_keys=True),
                    source=json.dumps(dict(source), sort_keys=True, default=str),
                    run_pk=run_pk,
                    created_at=now,
                    description=description,
                )
            )
            version_pk = int(result.inserted_primary_key[0])  # type: ignore[index]
            if files:
                connection.execute(
                    dataset_files.insert(),
                    [
                        {
                            "version_pk": version_pk,
                            "part": f.part,
                            "digest": f.digest,
                            "size": f.size,
                            "rows": f.rows,
                        }
                        for f in files
                    ],
                )
            if parent_pks:
                connection.execute(
                    dataset_lineage.insert(),
                    [
                        {"child_pk": version_pk, "parent_pk": pk, "relation": relation}
                        for pk, relation in parent_pks
                    ],
                )
            rows = connection.execute(
                self._version_select().where(dataset_versions.c.pk == version_pk)
            ).all()
            return self._records(connection, rows)[0], True

        try:
            created: tuple[DatasetVersionRecord, bool] = self._write(body)
        except IntegrityError:
            # Another process registered the same content (or took the number) first.
            found = self.find_dataset_version(name, content_id)
            if found is None:
                raise
            return found, False
        return created

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersionRecord:
        check_dataset_name(name)
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 1
        ):
            raise InvalidInputError(f"dataset version must be a positive integer, not {version!r}")
        stmt = self._version_select().where(datasets.c.name == name)
        if version is None:
            stmt = stmt.order_by(dataset_versions.c.version.desc()).limit(1)
        else:
            stmt = stmt.where(dataset_versions.c.version == version)

        def body(connection: Connection) -> list[DatasetVersionRecord]:
            return self._records(connection, connection.execute(stmt).all())

        found: list[DatasetVersionRecord] = self._read(body)
        if not found:
            problem = "does not exist" if version is None else f"has no version {version}"
            raise NotFoundError(
                f"dataset {name!r} {problem}; list datasets with `loopml data list`"
            )
        return found[0]

    def list_dataset_versions(self, name: str | None = None) -> list[DatasetVersionRecord]:
        stmt = self._version_select()
        if name is not None:
            stmt = stmt.where(datasets.c.name == name).order_by(dataset_versions.c.version)
        else:
            newest = (
                select(
                    dataset_versions.c.dataset_id,
                    func.max(dataset_versions.c.version).label("v"),
                )
                .group_by(dataset_versions.c.dataset_id)
                .subquery()
            )
            stmt = stmt.join(
                newest,
                and_(
                    newest.c.dataset_id == dataset_versions.c.dataset_id,
                    newest.c.v == dataset_versions.c.version,
                ),
            ).order_by(datasets.c.name)

        def body(connection: Connection) -> list[DatasetVersionRecord]:
            return self._records(connection, connection.execute(stmt).all())

        found: list[DatasetVersionRecord] = self._read(body)
        return found
