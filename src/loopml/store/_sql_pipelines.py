"""Pipeline lineage and the step cache in the SQL store (mixed into
:class:`~loopml.store._sql.SqlStore`).

Lineage rows are keyed by (run, direction, name). While a run is ``running`` a re-added edge
replaces the stored one: a retried attempt inside the same run re-records its outputs, and the
last attempt's values are the ones the run produced. Once the run has ended its edges are
history that cache hits and downstream runs rely on, so re-adding the same edge is a no-op and
a different one is refused (ConflictError) rather than silently rewriting what happened.

Cache entries are upserted (the newest execution put under a key wins). A hit is counted with
one ``UPDATE ... SET hits = hits + 1``, which is atomic on both backends: SQLite serialises
writers (``BEGIN IMMEDIATE``), PostgreSQL re-reads the locked row before updating it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update

from loopml._errors import ConflictError, InvalidInputError, NotFoundError
from loopml.artifacts import check_digest
from loopml.store._records import LINEAGE_DIRECTIONS, CacheEntry, LineageEdge, RunEdge
from loopml.store._sql_datasets import _now_ms, check_dataset_name
from loopml.store._sql_schemas import SchemasMixin, _check_version
from loopml.store._tables import (
    MAX_MATERIALIZER_LENGTH,
    MAX_NAME_LENGTH,
    dataset_versions,
    datasets,
    experiments,
    lineage,
    runs,
    step_cache,
)

_CHUNK = 500

#: The columns that make an edge's value; a re-added edge that differs in one of them changes it.
_VALUE_COLUMNS = ("content_hash", "digest", "dataset_version_pk", "type", "materializer", "size")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_sha256(value: object, what: str) -> str:
    """A ``sha256:<64 hex>`` hash (a content hash or a cache key), else InvalidInputError."""
    try:
        return check_digest(value)  # type: ignore[arg-type]
    except InvalidInputError:
        raise InvalidInputError(
            f"{what} {_shown(value)} is not a sha256 hash; hashes look like "
            "sha256:<64 lowercase hex digits>"
        ) from None


def _check_text(value: object, what: str, limit: int, example: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInputError(
            f"{what} {_shown(value)} is not allowed: use a non-empty string of at most {limit} "
            f"characters, e.g. {example!r}"
        )
    return value


def _check_direction(direction: object) -> str:
    if direction not in LINEAGE_DIRECTIONS:
        raise InvalidInputError(
            f"lineage direction {_shown(direction)} is not allowed: use 'in' (read by the run) "
            "or 'out' (written by the run)"
        )
    return str(direction)


def _check_dataset_ref(dataset: object, what: str) -> tuple[str, int]:
    if not isinstance(dataset, tuple | list) or len(dataset) != 2:
        raise InvalidInputError(
            f"{what} {_shown(dataset)} is not a dataset version: give (dataset name, version), "
            "e.g. ('transactions', 3)"
        )
    name, version = dataset
    return check_dataset_name(name), _check_version(version)


def _check_step(step: object) -> str:
    return _check_text(step, "step name", MAX_NAME_LENGTH, "my_project.pipelines.train")


def _check_edge(edge: object) -> LineageEdge:
    if not isinstance(edge, LineageEdge):
        raise InvalidInputError(
            f"lineage edges must be loopml.store.LineageEdge records, not {type(edge).__name__}"
        )
    _check_direction(edge.direction)
    where = f"of {edge.direction} {_shown(edge.name)}"
    _check_text(edge.name, "lineage edge name", MAX_NAME_LENGTH, "features")
    _check_sha256(edge.content_hash, f"content_hash {where}:")
    if edge.digest is not None:
        check_digest(edge.digest)
    dataset = None if edge.dataset is None else _check_dataset_ref(edge.dataset, "dataset")
    if edge.digest is None and dataset is None:
        raise InvalidInputError(
            f"lineage edge {edge.direction} {_shown(edge.name)} points at nothing: give the "
            "digest of the blob holding the value, a dataset (name, version), or both"
        )
    _check_text(edge.type, f"type {where}:", MAX_NAME_LENGTH, "pandas.DataFrame")
    _check_text(edge.materializer, f"materializer {where}:", MAX_MATERIALIZER_LENGTH, "pandas")
    if edge.size is not None and (
        isinstance(edge.size, bool) or not isinstance(edge.size, int) or edge.size < 0
    ):
        raise InvalidInputError(
            f"size {where} must be a non-negative integer (bytes) or None, not {_shown(edge.size)}"
        )
    if dataset is not None and dataset is not edge.dataset:
        edge = LineageEdge(
            edge.direction,
            edge.name,
            edge.content_hash,
            edge.digest,
            dataset,
            edge.type,
            edge.materializer,
            edge.size,
        )
    return edge


class PipelinesMixin:
    """The lineage and step-cache part of the Store interface, on SQLAlchemy Core."""

    _write: Callable[..., Any]
    _read: Callable[..., Any]
    _insert: Callable[[Any], Any]
    _run_pk: Callable[[str], int]

    # -- statements ---------------------------------------------------------------------------
    @functools.cached_property
    def _lineage_upsert(self) -> Any:
        stmt = self._insert(lineage)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=["run_pk", "direction", "name"],
            set_={name: excluded[name] for name in (*_VALUE_COLUMNS, "created_at")},
            # The same edge again keeps its row (and its created_at) as it was.
            where=or_(
                *(lineage.c[name].is_distinct_from(excluded[name]) for name in _VALUE_COLUMNS)
            ),
        )

    @functools.cached_property
    def _cache_upsert(self) -> Any:
        stmt = self._insert(step_cache)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "step": excluded.step,
                "run_pk": excluded.run_pk,
                "created_at": excluded.created_at,
                "hits": 0,
                "last_hit_at": None,
            },
            # Putting the same execution again keeps its hit count.
            where=or_(step_cache.c.run_pk != excluded.run_pk, step_cache.c.step != excluded.step),
        )

    @staticmethod
    def _edge_select() -> Any:
        return select(
            lineage,
            runs.c.id.label("run_id"),
            runs.c.name.label("run_name"),
            runs.c.status.label("run_status"),
            experiments.c.name.label("experiment_name"),
            datasets.c.name.label("dataset_name"),
            dataset_versions.c.version.label("dataset_version"),
        ).select_from(
            lineage.join(runs, runs.c.pk == lineage.c.run_pk)
            .join(experiments, experiments.c.id == runs.c.experiment_id)
            .outerjoin(dataset_versions, dataset_versions.c.pk == lineage.c.dataset_version_pk)
            .outerjoin(datasets, datasets.c.id == dataset_versions.c.dataset_id)
        )

    @staticmethod
    def _edge(row: Any) -> LineageEdge:
        return LineageEdge(
            direction=row.direction,
            name=row.name,
            content_hash=row.content_hash,
            digest=row.digest,
            dataset=None
            if row.dataset_name is None
            else (row.dataset_name, int(row.dataset_version)),
            type=row.type,
            materializer=row.materializer,
            size=None if row.size is None else int(row.size),
        )

    @staticmethod
    def _cache_select() -> Any:
        return select(step_cache, runs.c.id.label("run_id")).select_from(
            step_cache.join(runs, runs.c.pk == step_cache.c.run_pk)
        )

    @staticmethod
    def _cache_entry(row: Any) -> CacheEntry:
        return CacheEntry(
            key=row.key,
            step=row.step,
            run_id=row.run_id,
            created_at=int(row.created_at),
            hits=int(row.hits),
            last_hit_at=None if row.last_hit_at is None else int(row.last_hit_at),
        )

    # -- lineage ------------------------------------------------------------------------------
    def add_lineage(self, run_id: str, edges: Sequence[LineageEdge]) -> None:
        if isinstance(edges, str | bytes | LineageEdge) or not isinstance(edges, Sequence):
            raise InvalidInputError(
                f"edges must be a list of loopml.store.LineageEdge records, not {_shown(edges)}"
            )
        checked = [_check_edge(edge) for edge in edges]
        seen: set[tuple[str, str]] = set()
        for edge in checked:
            if (edge.direction, edge.name) in seen:
                raise InvalidInputError(
                    f"lineage edge {edge.direction} {edge.name!r} is given twice; each input and "
                    "output name of a run has one edge"
                )
            seen.add((edge.direction, edge.name))
        if not checked:
            return
        pk = self._run_pk(run_id)
        now = _now_ms()

        def body(connection: Connection) -> None:
            status = connection.execute(select(runs.c.status).where(runs.c.pk == pk)).scalar()
            if status is None:
                raise NotFoundError(f"no run with id {run_id!r}; list runs with `loopml runs list`")
            versions: dict[tuple[str, int], tuple[int, str]] = {}
            rows: list[dict[str, Any]] = []
            for edge in checked:
                version_pk = None
                if edge.dataset is not None:
                    if edge.dataset not in versions:
                        found_pk = SchemasMixin._dataset_version_pk(connection, *edge.dataset)
                        content_id = connection.execute(
                            select(dataset_versions.c.content_id).where(
                                dataset_versions.c.pk == found_pk
                            )
                        ).scalar_one()
                        versions[edge.dataset] = (found_pk, str(content_id))
                    version_pk, content_id = versions[edge.dataset]
                    if edge.content_hash != content_id:
                        name, version = edge.dataset
                        raise InvalidInputError(
                            f"content_hash of {edge.direction} {edge.name!r} is "
                            f"{edge.content_hash} but dataset {name!r} version {version} has "
                            f"content id {content_id}; a dataset reference's content hash is "
                            "its version's content id"
                        )
                rows.append(
                    {
                        "run_pk": pk,
                        "direction": edge.direction,
                        "name": edge.name,
                        "content_hash": edge.content_hash,
                        "digest": edge.digest,
                        "dataset_version_pk": version_pk,
                        "type": edge.type,
                        "materializer": edge.materializer,
                        "size": edge.size,
                        "created_at": now,
                    }
                )
            if status != "running":
                stored = {
                    (r.direction, r.name): r
                    for r in connection.execute(select(lineage).where(lineage.c.run_pk == pk)).all()
                }
                for row in rows:
                    old = stored.get((row["direction"], row["name"]))
                    if old is not None and any(
                        getattr(old, name) != row[name] for name in _VALUE_COLUMNS
                    ):
                        raise ConflictError(
                            f"run {run_id} is {status} and its {row['direction']} "
                            f"{row['name']!r} is already recorded with content "
                            f"{old.content_hash}; the lineage of an ended run cannot change "
                            "(record lineage before ending the run, or start a new run)"
                        )
            connection.execute(self._lineage_upsert, rows)

        self._write(body)

    def lineage_of_run(self, run_id: str) -> list[LineageEdge]:
        pk = self._run_pk(run_id)
        stmt = self._edge_select().where(lineage.c.run_pk == pk)
        rows = self._read(lambda c: c.execute(stmt).all())
        edges = [self._edge(row) for row in rows]
        # Sorted here, not in SQL: PostgreSQL's collation would order names differently.
        return sorted(edges, key=lambda e: (LINEAGE_DIRECTIONS.index(e.direction), e.name))

    def runs_touching(
        self,
        content_hash: str | None = None,
        *,
        digest: str | None = None,
        dataset: tuple[str, int] | None = None,
        direction: str | None = None,
    ) -> list[RunEdge]:
        given = [
            name
            for name, value in (
                ("content_hash", content_hash),
                ("digest", digest),
                ("dataset", dataset),
            )
            if value is not None
        ]
        if len(given) != 1:
            told = "none" if not given else " and ".join(given)
            raise InvalidInputError(
                f"runs_touching needs exactly one of content_hash, digest or dataset (got "
                f"{told}); e.g. runs_touching(digest='sha256:...')"
            )
        if content_hash is not None:
            _check_sha256(content_hash, "content_hash")
        if digest is not None:
            check_digest(digest)
        ref = None if dataset is None else _check_dataset_ref(dataset, "dataset")
        if direction is not None:
            _check_direction(direction)

        def body(connection: Connection) -> list[RunEdge]:
            stmt = self._edge_select()
            if content_hash is not None:
                stmt = stmt.where(lineage.c.content_hash == content_hash)
            elif digest is not None:
                stmt = stmt.where(lineage.c.digest == digest)
            else:
                assert ref is not None
                version_pk = SchemasMixin._dataset_version_pk(connection, *ref)
                stmt = stmt.where(lineage.c.dataset_version_pk == version_pk)
            if direction is not None:
                stmt = stmt.where(lineage.c.direction == direction)
            stmt = stmt.order_by(lineage.c.created_at, lineage.c.pk)
            return [
                RunEdge(
                    run_id=row.run_id,
                    run_name=row.run_name,
                    experiment=row.experiment_name,
                    status=row.run_status,
                    edge=self._edge(row),
                    created_at=int(row.created_at),
                )
                for row in connection.execute(stmt).all()
            ]

        found: list[RunEdge] = self._read(body)
        return found

    # -- step cache ---------------------------------------------------------------------------
    def put_cache_entry(self, key: str, step: str, run_id: str) -> None:
        _check_sha256(key, "cache key")
        _check_step(step)
        pk = self._run_pk(run_id)
        row = {
            "key": key,
            "step": step,
            "run_pk": pk,
            "created_at": _now_ms(),
            "hits": 0,
            "last_hit_at": None,
        }
        self._write(lambda c: c.execute(self._cache_upsert, row))

    def get_cache_entry(self, key: str) -> CacheEntry | None:
        _check_sha256(key, "cache key")
        stmt = self._cache_select().where(step_cache.c.key == key)
        row = self._read(lambda c: c.execute(stmt).first())
        return None if row is None else self._cache_entry(row)

    def record_cache_hit(self, key: str) -> None:
        _check_sha256(key, "cache key")
        stmt = (
            update(step_cache)
            .where(step_cache.c.key == key)
            .values(hits=step_cache.c.hits + 1, last_hit_at=_now_ms())
        )
        changed = self._write(lambda c: c.execute(stmt).rowcount)
        if not changed:
            raise NotFoundError(
                f"no cache entry with key {key}; it was cleared (`loopml cache clear`) or never "
                "stored; list entries with `loopml cache list`"
            )

    def list_cache_entries(self, step: str | None = None) -> list[CacheEntry]:
        stmt = self._cache_select()
        if step is not None:
            stmt = stmt.where(step_cache.c.step == _check_step(step))
        stmt = stmt.order_by(step_cache.c.created_at.desc(), step_cache.c.key)
        rows = self._read(lambda c: c.execute(stmt).all())
        return [self._cache_entry(row) for row in rows]

    def delete_cache_entries(
        self, step: str | None = None, keys: Sequence[str] | None = None
    ) -> int:
        if step is not None:
            _check_step(step)
        wanted: list[str] | None = None
        if keys is not None:
            if isinstance(keys, str | bytes) or not isinstance(keys, Sequence):
                raise InvalidInputError(
                    f"keys must be a list of cache keys, not {_shown(keys)}; e.g. "
                    "keys=['sha256:...']"
                )
            wanted = sorted({_check_sha256(key, "cache key") for key in keys})
            if not wanted:
                return 0
        by_step = [] if step is None else [step_cache.c.step == step]

        def body(connection: Connection) -> int:
            if wanted is None:
                return int(connection.execute(delete(step_cache).where(*by_step)).rowcount)
            count = 0
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                stmt = delete(step_cache).where(and_(step_cache.c.key.in_(chunk), *by_step))
                count += int(connection.execute(stmt).rowcount)
            return count

        deleted: int = self._write(body)
        return deleted
