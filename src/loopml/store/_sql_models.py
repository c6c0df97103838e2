"""The model registry in the SQL store (mixed into :class:`~loopml.store._sql.SqlStore`).

Every change writes its row(s) and one ``model_events`` row in the same transaction, so the
history is complete by construction; triggers make ``model_events`` append-only.

Version numbers: ``max(version) + 1`` inside the writing transaction. SQLite serialises
writers (``BEGIN IMMEDIATE``); on PostgreSQL two writers can pick the same number, and the
loser's INSERT hits the ``(model_pk, version)`` unique constraint and is retried.

Aliases are compare-and-set: a move names the version it expects the alias at (``expected``;
0 = the alias must not exist yet) and only one of two racing moves wins. The loser's attempt
is recorded too (``alias_set_rejected``). ``RETURNING`` decides, not ``rowcount`` (psycopg
reports -1 for ``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.exc import IntegrityError

from loopml._errors import ConflictError, InvalidInputError, NotFoundError
from loopml.store._model_names import check_alias, check_model_name, check_version
from loopml.store._records import (
    APPROVAL_STATES,
    ModelEvent,
    ModelFile,
    ModelVersionRecord,
    RegisteredModel,
)
from loopml.store._sql_datasets import _now_ms
from loopml.store._tables import (
    dataset_versions,
    datasets,
    model_aliases,
    model_events,
    model_files,
    model_tags,
    model_versions,
    registered_models,
    runs,
)

EVENT_KINDS = (
    "version_created",
    "alias_set",
    "alias_set_rejected",
    "alias_removed",
    "approved",
    "rejected",
    "pending",
    "tag_set",
    "description_set",
    "gate_verdict",
    "deleted",
)


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _alias_version(connection: Connection, model_pk: int, alias: str) -> int | None:
    """The version number ``alias`` of the model points at, or None."""
    version = connection.execute(
        select(model_versions.c.version)
        .join(model_aliases, model_aliases.c.version_pk == model_versions.c.pk)
        .where(model_aliases.c.model_pk == model_pk, model_aliases.c.alias == alias)
    ).scalar()
    return None if version is None else int(version)


class ModelsMixin:
    """The model-registry part of the Store interface, on SQLAlchemy Core."""

    _write: Callable[..., Any]
    _read: Callable[..., Any]
    _insert: Callable[[Any], Any]
    _run_pk: Callable[[str], int]
    dialect: str

    # -- helpers ------------------------------------------------------------------------------
    def _model_pk(self, connection: Connection, name: str) -> int:
        row = connection.execute(
            select(registered_models.c.pk).where(registered_models.c.name == name)
        ).first()
        if row is None:
            raise NotFoundError(
                f"no registered model {name!r}; list them with `loopml models list`"
            )
        return int(row.pk)

    def _version_row(self, connection: Connection, model_pk: int, name: str, version: int) -> Any:
        row = connection.execute(
            select(model_versions).where(
                model_versions.c.model_pk == model_pk, model_versions.c.version == version
            )
        ).first()
        if row is None:
            raise NotFoundError(
                f"model {name!r} has no version {version}; see `loopml models show {name}`"
            )
        return row

    @staticmethod
    def _event(
        connection: Connection,
        model_pk: int,
        kind: str,
        *,
        version: int | None = None,
        alias: str | None = None,
        actor: str | None = None,
        reason: str | None = None,
        payload: Mapping[str, object] | None = None,
        at: int | None = None,
    ) -> None:
        connection.execute(
            model_events.insert().values(
                model_pk=model_pk,
                version=version,
                kind=kind,
                alias=alias,
                actor=actor,
                reason=reason,
                payload=_json(dict(payload or {})),
                at=at or _now_ms(),
            )
        )

    def _record(self, connection: Connection, name: str, row: Any) -> ModelVersionRecord:
        files = [
            ModelFile(f.name, f.digest, int(f.size))
            for f in connection.execute(
                select(model_files)
                .where(model_files.c.version_pk == row.pk)
                .order_by(model_files.c.name)
            )
        ]
        run_id = None
        if row.run_pk is not None:
            run_id = connection.execute(select(runs.c.id).where(runs.c.pk == row.run_pk)).scalar()
        dataset = None
        if row.dataset_version_pk is not None:
            found = connection.execute(
                select(datasets.c.name, dataset_versions.c.version)
                .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                .where(dataset_versions.c.pk == row.dataset_version_pk)
            ).first()
            if found is not None:
                dataset = (str(found.name), int(found.version))
        aliases = sorted(
            connection.execute(
                select(model_aliases.c.alias).where(model_aliases.c.version_pk == row.pk)
            ).scalars()
        )
        tags = {
            t.key: t.value
            for t in connection.execute(
                select(model_tags.c.key, model_tags.c.value).where(
                    model_tags.c.model_pk == row.model_pk, model_tags.c.version == row.version
                )
            )
        }
        return ModelVersionRecord(
            name=name,
            version=int(row.version),
            bundle_digest=row.bundle_digest,
            flavor=row.flavor,
            format=row.format,
            trusted_types=list(json.loads(row.trusted_types)),
            signature=dict(json.loads(row.signature)),
            files=files,
            run_id=run_id,
            dataset=dataset,
            status=row.status,
            approval=row.approval,
            approval_by=row.approval_by,
            approval_at=row.approval_at,
            approval_reason=row.approval_reason,
            blessed=None if row.blessed is None else bool(row.blessed),
            verdict=None if row.verdict is None else dict(json.loads(row.verdict)),
            description=row.description,
            created_at=int(row.created_at),
            created_by=row.created_by,
            deleted_at=row.deleted_at,
            deleted_by=row.deleted_by,
            aliases=aliases,
            tags=tags,
        )

    # -- versions -----------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        *,
        bundle_digest: str,
        flavor: str,
        format: str,
        trusted_types: Sequence[str],
        signature: Mapping[str, Any],
        files: Sequence[ModelFile],
        run_id: str | None = None,
        dataset: tuple[str, int] | None = None,
        description: str | None = None,
        actor: str | None = None,
    ) -> tuple[ModelVersionRecord, bool]:
        """Register a bundle as the next version of ``name`` (created if new).

        The same bundle logged again under the same name returns the existing version and
        False: a bundle is content-addressed.
        """
        check_model_name(name)
        run_pk = self._run_pk(run_id) if run_id else None
        if run_id:
            run_id = self.resolve_run_id(run_id)  # type: ignore[attr-defined]
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise InvalidInputError(f"a bundle lists the file(s) {twice} more than once")

        def body(connection: Connection) -> tuple[ModelVersionRecord, bool]:
            now = _now_ms()
            found = connection.execute(
                select(registered_models.c.pk).where(registered_models.c.name == name)
            ).first()
            if found is None:
                model_pk = int(
                    connection.execute(
                        registered_models.insert().values(name=name, created_at=now, updated_at=now)
                    ).inserted_primary_key[0]  # type: ignore[index]
                )
            else:
                model_pk = int(found.pk)
                same = connection.execute(
                    select(model_versions).where(
                        model_versions.c.model_pk == model_pk,
                        model_versions.c.bundle_digest == bundle_digest,
                        model_versions.c.status == "ready",
                    )
                ).first()
                if same is not None:
                    return self._record(connection, name, same), False
            dataset_pk = None
            if dataset is not None:
                dataset_pk = connection.execute(
                    select(dataset_versions.c.pk)
                    .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                    .where(datasets.c.name == dataset[0], dataset_versions.c.version == dataset[1])
                ).scalar()
                if dataset_pk is None:
                    raise NotFoundError(
                        f"dataset {dataset[0]}/{dataset[1]} does not exist; register it first"
                    )
            number = (
                connection.execute(
                    select(func.max(model_versions.c.version)).where(
                        model_versions.c.model_pk == model_pk
                    )
                ).scalar()
                or 0
            ) + 1
            pk = int(
                connection.execute(
                    model_versions.insert().values(
                        model_pk=model_pk,
                        version=number,
                        bundle_digest=bundle_digest,
                        flavor=flavor,
                        format=format,
                        trusted_types=_json(list(trusted_types)),
                        signature=_json(dict(signature)),
                        run_pk=run_pk,
                        dataset_version_pk=dataset_pk,
                        status="ready",
                        approval="pending",
                        description=description,
                        created_at=now,
                        created_by=actor,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )
            if files:
                connection.execute(
                    model_files.insert(),
                    [
                        {"version_pk": pk, "name": f.name, "digest": f.digest, "size": f.size}
                        for f in files
                    ],
                )
            connection.execute(
                update(registered_models)
                .where(registered_models.c.pk == model_pk)
                .values(updated_at=now)
            )
            self._event(
                connection,
                model_pk,
                "version_created",
                version=number,
                actor=actor,
                payload={"bundle": bundle_digest, "flavor": flavor, "run": run_id},
                at=now,
            )
            row = connection.execute(select(model_versions).where(model_versions.c.pk == pk)).one()
            return self._record(connection, name, row), True

        for _ in range(5):
            try:
                result: tuple[ModelVersionRecord, bool] = self._write(body)
                return result
            except IntegrityError:  # two writers picked the same number (PostgreSQL)
                continue
        raise ConflictError(f"could not register a new version of {name!r}; try again")

    def get_model_version(self, name: str, version: int) -> ModelVersionRecord:
        check_model_name(name)
        check_version(version)

        def body(connection: Connection) -> ModelVersionRecord:
            model_pk = self._model_pk(connection, name)
            return self._record(
                connection, name, self._version_row(connection, model_pk, name, version)
            )

        result: ModelVersionRecord = self._read(body)
        return result

    def find_model_version(self, bundle_digest: str) -> list[tuple[str, int]]:
        """Every (name, version) whose bundle is ``bundle_digest``."""

        def body(connection: Connection) -> list[tuple[str, int]]:
            rows = connection.execute(
                select(registered_models.c.name, model_versions.c.version)
                .join(registered_models, registered_models.c.pk == model_versions.c.model_pk)
                .where(model_versions.c.bundle_digest == bundle_digest)
            )
            return [(str(r.name), int(r.version)) for r in rows]

        result: list[tuple[str, int]] = self._read(body)
        return result

    def list_model_versions(self, name: str) -> list[ModelVersionRecord]:
        """Every version of ``name``, newest first (deleted ones included, marked)."""
        check_model_name(name)

        def body(connection: Connection) -> list[ModelVersionRecord]:
            model_pk = self._model_pk(connection, name)
            rows = connection.execute(
                select(model_versions)
                .where(model_versions.c.model_pk == model_pk)
                .order_by(model_versions.c.version.desc())
            ).all()
            return [self._record(connection, name, r) for r in rows]

        result: list[ModelVersionRecord] = self._read(body)
        return result

    def list_models(self) -> list[RegisteredModel]:
        def body(connection: Connection) -> list[RegisteredModel]:
            models = connection.execute(
                select(registered_models).order_by(registered_models.c.name)
            ).all()
            out = []
            for m in models:
                latest = connection.execute(
                    select(func.max(model_versions.c.version)).where(
                        model_versions.c.model_pk == m.pk, model_versions.c.status == "ready"
                    )
                ).scalar()
                aliases = {
                    str(a.alias): int(a.version)
                    for a in connection.execute(
                        select(model_aliases.c.alias, model_versions.c.version)
                        .join(model_versions, model_versions.c.pk == model_aliases.c.version_pk)
                        .where(model_aliases.c.model_pk == m.pk)
                        .order_by(model_aliases.c.alias)
                    )
                }
                tags = {
                    t.key: t.value
                    for t in connection.execute(
                        select(model_tags.c.key, model_tags.c.value).where(
                            model_tags.c.model_pk == m.pk, model_tags.c.version == 0
                        )
                    )
                }
                out.append(
                    RegisteredModel(
                        name=m.name,
                        description=m.description,
                        created_at=int(m.created_at),
                        updated_at=int(m.updated_at),
                        latest_version=None if latest is None else int(latest),
                        aliases=aliases,
                        tags=tags,
                    )
                )
            return out

        result: list[RegisteredModel] = self._read(body)
        return result

    def get_registered_model(self, name: str) -> RegisteredModel:
        check_model_name(name)
        for model in self.list_models():
            if model.name == name:
                return model
        raise NotFoundError(f"no registered model {name!r}; list them with `loopml models list`")

    # -- aliases ------------------------------------------------------------------------------
    def resolve_alias(self, name: str, alias: str) -> int:
        """The version ``name@alias`` points at."""
        check_model_name(name)
        check_alias(alias)

        def body(connection: Connection) -> int:
            model_pk = self._model_pk(connection, name)
            version = _alias_version(connection, model_pk, alias)
            if version is None:
                raise NotFoundError(
                    f"model {name!r} has no alias {alias!r}; set it with "
                    f"`loopml models alias {name} {alias} VERSION`"
                )
            return version

        result: int = self._read(body)
        return result

    def set_model_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        expected: int | None = None,
        actor: str | None = None,
        reason: str | None = None,
    ) -> int:
        """Point ``name@alias`` at ``version``; returns the alias's revision.

        ``expected`` is the version the caller saw the alias at (0: it must not exist yet);
        None moves it whatever it points at. A move whose expectation no longer holds is
        refused with ConflictError and recorded as ``alias_set_rejected``.
        """
        check_model_name(name)
        check_alias(alias)
        check_version(version)
        if expected is not None and (not isinstance(expected, int) or expected < 0):
            raise InvalidInputError(f"expected must be a version number or 0, not {expected!r}")

        def body(connection: Connection) -> tuple[bool, int, int | None]:
            now = _now_ms()
            model_pk = self._model_pk(connection, name)
            target = self._version_row(connection, model_pk, name, version)
            if target.status != "ready":
                raise InvalidInputError(
                    f"{name} version {version} was deleted; an alias can only point at a "
                    "version that exists"
                )
            current = connection.execute(
                select(model_versions.c.version, model_aliases.c.version_pk)
                .join(model_versions, model_versions.c.pk == model_aliases.c.version_pk)
                .where(model_aliases.c.model_pk == model_pk, model_aliases.c.alias == alias)
            ).first()
            won_revision: int | None = None
            if current is None and expected in (None, 0):
                stmt = (
                    self._insert(model_aliases)
                    .values(
                        model_pk=model_pk,
                        alias=alias,
                        version_pk=target.pk,
                        revision=1,
                        updated_at=now,
                        updated_by=actor,
                    )
                    .on_conflict_do_nothing(index_elements=["model_pk", "alias"])
                    .returning(model_aliases.c.revision)
                )
                won_revision = connection.execute(stmt).scalar()
            elif current is not None and expected in (None, current.version):
                old_pk = current.version_pk
                stmt = (
                    update(model_aliases)
                    .where(
                        and_(
                            model_aliases.c.model_pk == model_pk,
                            model_aliases.c.alias == alias,
                            model_aliases.c.version_pk == old_pk,
                        )
                    )
                    .values(
                        version_pk=target.pk,
                        revision=model_aliases.c.revision + 1,
                        updated_at=now,
                        updated_by=actor,
                    )
                    .returning(model_aliases.c.revision)
                )
                won_revision = connection.execute(stmt).scalar()
            seen = _alias_version(connection, model_pk, alias)
            won = won_revision is not None
            self._event(
                connection,
                model_pk,
                "alias_set" if won else "alias_set_rejected",
                version=version,
                alias=alias,
                actor=actor,
                reason=reason,
                payload={
                    "from": None if current is None else int(current.version),
                    "expected": expected,
                    "now": seen,
                },
                at=now,
            )
            return won, int(won_revision or 0), None if seen is None else int(seen)

        won, revision, seen = self._write(body)
        if not won:
            where = "does not exist" if seen is None else f"points at version {seen}"
            wanted = "not to exist yet" if expected == 0 else f"at version {expected}"
            raise ConflictError(
                f"{name}@{alias} {where}, but the caller expected it {wanted}: someone moved "
                f"it meanwhile; check `loopml models show {name}` and try again"
            )
        return int(revision)

    def remove_model_alias(
        self, name: str, alias: str, *, actor: str | None = None, reason: str | None = None
    ) -> None:
        check_model_name(name)
        check_alias(alias)

        def body(connection: Connection) -> None:
            model_pk = self._model_pk(connection, name)
            version = _alias_version(connection, model_pk, alias)
            if version is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            connection.execute(
                model_aliases.delete().where(
                    model_aliases.c.model_pk == model_pk, model_aliases.c.alias == alias
                )
            )
            self._event(
                connection,
                model_pk,
                "alias_removed",
                version=int(version),
                alias=alias,
                actor=actor,
                reason=reason,
            )

        self._write(body)

    # -- approvals, verdicts, tags, descriptions ----------------------------------------------
    def set_model_approval(
        self, name: str, version: int, state: str, *, actor: str | None, reason: str | None
    ) -> ModelVersionRecord:
        check_model_name(name)
        check_version(version)
        if state not in APPROVAL_STATES:
            raise InvalidInputError(
                f"approval state {state!r} is not one of {', '.join(APPROVAL_STATES)}"
            )

        def body(connection: Connection) -> ModelVersionRecord:
            now = _now_ms()
            model_pk = self._model_pk(connection, name)
            row = self._version_row(connection, model_pk, name, version)
            connection.execute(
                update(model_versions)
                .where(model_versions.c.pk == row.pk)
                .values(approval=state, approval_by=actor, approval_at=now, approval_reason=reason)
            )
            self._event(
                connection,
                model_pk,
                state,
                version=version,
                actor=actor,
                reason=reason,
                payload={"from": row.approval},
                at=now,
            )
            new = connection.execute(select(model_versions).where(model_versions.c.pk == row.pk))
            return self._record(connection, name, new.one())

        result: ModelVersionRecord = self._write(body)
        return result

    def record_model_verdict(
        self,
        name: str,
        version: int,
        blessed: bool,
        verdict: Mapping[str, Any],
        *,
        actor: str | None = None,
    ) -> None:
        check_model_name(name)
        check_version(version)

        def body(connection: Connection) -> None:
            model_pk = self._model_pk(connection, name)
            row = self._version_row(connection, model_pk, name, version)
            connection.execute(
                update(model_versions)
                .where(model_versions.c.pk == row.pk)
                .values(blessed=int(blessed), verdict=_json(dict(verdict)))
            )
            self._event(
                connection,
                model_pk,
                "gate_verdict",
                version=version,
                actor=actor,
                payload={"blessed": blessed, **dict(verdict)},
            )

        self._write(body)

    def set_model_tags(
        self,
        name: str,
        version: int | None,
        values: Mapping[str, str],
        *,
        actor: str | None = None,
    ) -> None:
        """Set tags on a version, or on the registered model (``version`` None)."""
        check_model_name(name)
        if version is not None:
            check_version(version)

        def body(connection: Connection) -> None:
            model_pk = self._model_pk(connection, name)
            if version is not None:
                self._version_row(connection, model_pk, name, version)
            upsert = self._insert(model_tags)
            upsert = upsert.on_conflict_do_update(
                index_elements=["model_pk", "version", "key"],
                set_={"value": upsert.excluded.value},
            )
            for key, value in values.items():
                connection.execute(
                    upsert.values(model_pk=model_pk, version=version or 0, key=key, value=value)
                )
            self._event(
                connection, model_pk, "tag_set", version=version, actor=actor, payload=values
            )

        self._write(body)

    def set_model_description(
        self, name: str, version: int | None, text: str, *, actor: str | None = None
    ) -> None:
        check_model_name(name)

        def body(connection: Connection) -> None:
            model_pk = self._model_pk(connection, name)
            if version is None:
                connection.execute(
                    update(registered_models)
                    .where(registered_models.c.pk == model_pk)
                    .values(description=text, updated_at=_now_ms())
                )
            else:
                row = self._version_row(connection, model_pk, name, check_version(version))
                connection.execute(
                    update(model_versions)
                    .where(model_versions.c.pk == row.pk)
                    .values(description=text)
                )
            self._event(
                connection,
                model_pk,
                "description_set",
                version=version,
                actor=actor,
                payload={"description": text},
            )

        self._write(body)

    def delete_model_version(
        self,
        name: str,
        version: int,
        *,
        actor: str | None = None,
        reason: str | None = None,
        drop_aliases: bool = False,
    ) -> None:
        """Mark a version deleted (its row and history stay). Refused while aliases point at
        it, unless ``drop_aliases``."""
        check_model_name(name)
        check_version(version)

        def body(connection: Connection) -> None:
            now = _now_ms()
            model_pk = self._model_pk(connection, name)
            row = self._version_row(connection, model_pk, name, version)
            aliases = sorted(
                connection.execute(
                    select(model_aliases.c.alias).where(model_aliases.c.version_pk == row.pk)
                ).scalars()
            )
            if aliases and not drop_aliases:
                raise ConflictError(
                    f"{name} version {version} is {', '.join('@' + a for a in aliases)}; move "
                    "the aliases first, or delete with --drop-aliases"
                )
            for alias in aliases:
                connection.execute(
                    model_aliases.delete().where(
                        model_aliases.c.model_pk == model_pk, model_aliases.c.alias == alias
                    )
                )
                self._event(
                    connection,
                    model_pk,
                    "alias_removed",
                    version=version,
                    alias=alias,
                    actor=actor,
                    reason=f"version {version} deleted",
                    at=now,
                )
            connection.execute(
                update(model_versions)
                .where(model_versions.c.pk == row.pk)
                .values(status="deleted", deleted_at=now, deleted_by=actor)
            )
            self._event(
                connection, model_pk, "deleted", version=version, actor=actor, reason=reason, at=now
            )

        self._write(body)

    def model_history(self, name: str, limit: int = 1000) -> list[ModelEvent]:
        """The registry's history of ``name``, oldest first."""
        check_model_name(name)

        def body(connection: Connection) -> list[ModelEvent]:
            model_pk = self._model_pk(connection, name)
            rows = connection.execute(
                select(model_events)
                .where(model_events.c.model_pk == model_pk)
                .order_by(model_events.c.pk)
                .limit(limit)
            )
            return [
                ModelEvent(
                    id=int(r.pk),
                    model=name,
                    version=r.version,
                    kind=r.kind,
                    alias=r.alias,
                    actor=r.actor,
                    reason=r.reason,
                    payload=dict(json.loads(r.payload)),
                    at=int(r.at),
                )
                for r in rows
            ]

        result: list[ModelEvent] = self._read(body)
        return result
