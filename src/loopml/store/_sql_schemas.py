"""Schemas and profiles in the SQL store (mixed into :class:`~loopml.store._sql.SqlStore`).

Schema versions are numbered like dataset versions: the next number is ``max + 1`` inside the
write transaction and ``unique(dataset_id, version)`` guards it. SQLite write transactions queue
(``BEGIN IMMEDIATE``), so they never collide; on PostgreSQL two writers can pick the same number,
the second one's insert fails on the unique constraint, and :meth:`SchemasMixin.put_schema` runs
its transaction again (seeing the winner's row, so a same-digest call becomes a no-op).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from loopml._errors import ConflictError, InvalidInputError, NotFoundError
from loopml.artifacts import check_digest
from loopml.store._records import SchemaRecord
from loopml.store._sql_datasets import _now_ms, check_dataset_name
from loopml.store._tables import (
    MAX_PROFILE_SPEC_LENGTH,
    dataset_versions,
    datasets,
    profiles,
    schemas,
)

#: How many times put_schema runs its transaction when concurrent writers take its number.
_NUMBERING_ATTEMPTS = 50


def _check_version(version: object, what: str = "dataset version") -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInputError(f"{what} must be a positive integer, not {version!r}")
    return version


def _check_spec(spec: object) -> str:
    if not isinstance(spec, str) or not spec or len(spec) > MAX_PROFILE_SPEC_LENGTH:
        shown = spec if not isinstance(spec, str) or len(spec) <= 80 else spec[:77] + "..."
        raise InvalidInputError(
            f"profile spec {shown!r} is not allowed: use a non-empty string of at most "
            f"{MAX_PROFILE_SPEC_LENGTH} characters, e.g. 'v1;kll800;hll14;cap1000'"
        )
    return spec


def _versions_text(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"version {numbers[0]}"
    return f"versions {numbers[0]} to {numbers[-1]}"


def _no_dataset(dataset: str) -> NotFoundError:
    return NotFoundError(
        f"dataset {dataset!r} does not exist; register it with loopml.datasets.register(...) "
        "or list datasets with `loopml data list`"
    )


class SchemasMixin:
    """The schema and profile part of the Store interface, on SQLAlchemy Core."""

    _write: Callable[..., Any]
    _read: Callable[..., Any]
    _insert: Callable[[Any], Any]

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _dataset_id(connection: Connection, dataset: str) -> int:
        found = connection.execute(select(datasets.c.id).where(datasets.c.name == dataset)).scalar()
        if found is None:
            raise _no_dataset(dataset)
        return int(found)

    @staticmethod
    def _dataset_version_pk(connection: Connection, dataset: str, version: int) -> int:
        """The pk of version ``version`` of ``dataset``; NotFoundError naming what exists."""
        dataset_id = SchemasMixin._dataset_id(connection, dataset)
        found = connection.execute(
            select(dataset_versions.c.pk).where(
                dataset_versions.c.dataset_id == dataset_id,
                dataset_versions.c.version == version,
            )
        ).scalar()
        if found is not None:
            return int(found)
        numbers = list(
            connection.execute(
                select(dataset_versions.c.version)
                .where(dataset_versions.c.dataset_id == dataset_id)
                .order_by(dataset_versions.c.version)
            ).scalars()
        )
        has = f"it has {_versions_text(numbers)}" if numbers else "it has no versions yet"
        raise NotFoundError(
            f"dataset {dataset!r} has no version {version}; {has} "
            f"(see `loopml data show {dataset}`)"
        )

    @staticmethod
    def _schema_select() -> Any:
        inferred = dataset_versions.alias("inferred")
        return select(
            schemas.c.version,
            schemas.c.digest,
            schemas.c.created_at,
            datasets.c.name.label("dataset_name"),
            inferred.c.version.label("inferred_version"),
        ).select_from(
            schemas.join(datasets, datasets.c.id == schemas.c.dataset_id).outerjoin(
                inferred, inferred.c.pk == schemas.c.inferred_from_pk
            )
        )

    @staticmethod
    def _schema_record(row: Any) -> SchemaRecord:
        return SchemaRecord(
            dataset=row.dataset_name,
            version=int(row.version),
            digest=row.digest,
            inferred_from=None if row.inferred_version is None else int(row.inferred_version),
            created_at=int(row.created_at),
        )

    # -- schemas ------------------------------------------------------------------------------
    def put_schema(
        self, dataset: str, digest: str, *, inferred_from: int | None = None
    ) -> SchemaRecord:
        check_dataset_name(dataset)
        check_digest(digest)
        if inferred_from is not None:
            _check_version(inferred_from, "inferred_from (a dataset version number)")

        def body(connection: Connection) -> SchemaRecord:
            dataset_id = self._dataset_id(connection, dataset)
            inferred_pk = (
                None
                if inferred_from is None
                else self._dataset_version_pk(connection, dataset, inferred_from)
            )
            latest = connection.execute(
                self._schema_select()
                .where(schemas.c.dataset_id == dataset_id)
                .order_by(schemas.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.digest == digest:
                return self._schema_record(latest)
            result = connection.execute(
                schemas.insert().values(
                    dataset_id=dataset_id,
                    version=(0 if latest is None else int(latest.version)) + 1,
                    digest=digest,
                    inferred_from_pk=inferred_pk,
                    created_at=_now_ms(),
                )
            )
            pk = int(result.inserted_primary_key[0])  # type: ignore[index]
            row = connection.execute(self._schema_select().where(schemas.c.pk == pk)).one()
            return self._schema_record(row)

        delay = 0.002
        for _ in range(_NUMBERING_ATTEMPTS):
            try:
                record: SchemaRecord = self._write(body)
            except IntegrityError:
                # A concurrent writer took the number first: look again and take the next one.
                time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not security
                delay = min(delay * 2, 0.1)
                continue
            return record
        raise ConflictError(
            f"could not number a new schema of dataset {dataset!r}: concurrent writers took "
            f"every number for {_NUMBERING_ATTEMPTS} attempts; try again"
        )

    def get_schema(self, dataset: str, version: int | None = None) -> SchemaRecord:
        check_dataset_name(dataset)
        if version is not None:
            _check_version(version, "schema version")

        def body(connection: Connection) -> SchemaRecord:
            dataset_id = self._dataset_id(connection, dataset)
            stmt = self._schema_select().where(schemas.c.dataset_id == dataset_id)
            if version is None:
                stmt = stmt.order_by(schemas.c.version.desc()).limit(1)
            else:
                stmt = stmt.where(schemas.c.version == version)
            row = connection.execute(stmt).first()
            if row is not None:
                return self._schema_record(row)
            numbers = list(
                connection.execute(
                    select(schemas.c.version)
                    .where(schemas.c.dataset_id == dataset_id)
                    .order_by(schemas.c.version)
                ).scalars()
            )
            if not numbers:
                raise NotFoundError(
                    f"dataset {dataset!r} has no schema yet; infer one from a version of it first"
                )
            raise NotFoundError(
                f"dataset {dataset!r} has no schema version {version}; its schemas are "
                f"{_versions_text(numbers)}"
            )

        found: SchemaRecord = self._read(body)
        return found

    def list_schemas(self, dataset: str) -> list[SchemaRecord]:
        check_dataset_name(dataset)

        def body(connection: Connection) -> list[SchemaRecord]:
            dataset_id = self._dataset_id(connection, dataset)
            rows = connection.execute(
                self._schema_select()
                .where(schemas.c.dataset_id == dataset_id)
                .order_by(schemas.c.version)
            ).all()
            return [self._schema_record(r) for r in rows]

        found: list[SchemaRecord] = self._read(body)
        return found

    # -- profiles -----------------------------------------------------------------------------
    def put_profile(self, dataset: str, version: int, spec: str, digest: str) -> str:
        check_dataset_name(dataset)
        _check_version(version)
        _check_spec(spec)
        check_digest(digest)
        now = _now_ms()

        def body(connection: Connection) -> str:
            version_pk = self._dataset_version_pk(connection, dataset, version)
            # First writer wins; ON CONFLICT waits for a concurrent inserter on PostgreSQL, and
            # the SELECT below (a new statement) then sees its committed row.
            connection.execute(
                self._insert(profiles)
                .values(version_pk=version_pk, spec=spec, digest=digest, created_at=now)
                .on_conflict_do_nothing(index_elements=["version_pk", "spec"])
            )
            stored = connection.execute(
                select(profiles.c.digest).where(
                    profiles.c.version_pk == version_pk, profiles.c.spec == spec
                )
            ).scalar_one()
            return str(stored)

        stored: str = self._write(body)
        return stored

    def get_profile(self, dataset: str, version: int, spec: str | None = None) -> str | None:
        check_dataset_name(dataset)
        _check_version(version)
        if spec is not None:
            _check_spec(spec)

        def body(connection: Connection) -> str | None:
            version_pk = self._dataset_version_pk(connection, dataset, version)
            stmt = select(profiles.c.digest).where(profiles.c.version_pk == version_pk)
            if spec is None:
                stmt = stmt.order_by(profiles.c.created_at.desc(), profiles.c.pk.desc()).limit(1)
            else:
                stmt = stmt.where(profiles.c.spec == spec)
            found = connection.execute(stmt).scalar()
            return None if found is None else str(found)

        digest: str | None = self._read(body)
        return digest
