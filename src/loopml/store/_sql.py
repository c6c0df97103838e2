"""The SQL implementation of :class:`~loopml.store.Store` (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, and_, exists, func, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from loopml._errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    StoreUnavailableError,
)
from loopml.store import _filter, _migrate
from loopml.store import _tables as tbl
from loopml.store._base import Store
from loopml.store._engine import make_engine, retrying
from loopml.store._records import ArtifactRef, Experiment, MetricPoint, Run, RunLiveness
from loopml.store._sql_datasets import DatasetsMixin
from loopml.store._sql_models import ModelsMixin
from loopml.store._sql_pipelines import PipelinesMixin
from loopml.store._sql_predictions import PredictionsMixin
from loopml.store._sql_schemas import SchemasMixin
from loopml.store._sql_triggers import TriggersMixin
from loopml.store._tables import (
    DIGEST_COLUMNS,
    artifacts,
    experiments,
    latest_metrics,
    metrics,
    params,
    runs,
    tags,
)

T = TypeVar("T")
_CHUNK = 500


def now_ms() -> int:
    """Epoch milliseconds, the unit of every time in the store."""
    return time.time_ns() // 1_000_000


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlStore(
    DatasetsMixin,
    SchemasMixin,
    PipelinesMixin,
    TriggersMixin,
    ModelsMixin,
    PredictionsMixin,
    Store,
):
    """Metadata store on SQLite or PostgreSQL through SQLAlchemy Core.

    SQLite schemas upgrade themselves on open; PostgreSQL ones are upgraded with
    ``loopml db upgrade`` (pass ``auto_upgrade=True`` to do it on open).
    """

    def __init__(self, uri: str, *, auto_upgrade: bool | None = None) -> None:
        self.uri = uri
        url = make_url(uri)
        self.dialect = url.get_backend_name()
        self.display_uri = url.render_as_string(hide_password=True)
        if self.dialect == "sqlite" and url.database:
            folder = Path(url.database).parent
            if not folder.is_dir():
                raise StoreUnavailableError(
                    f"cannot open the SQLite store {url.database}: folder {folder} does not "
                    "exist; create it, run `loopml init` there, or fix LOOPML_URI"
                )
        self._closed = False
        self._in_flight = 0
        self._in_flight_changed = threading.Condition()
        self._engine = make_engine(uri)
        self._statements = self._build_statements()
        self._experiment_ids: dict[str, int] = {}
        self._run_pks: dict[str, int] = {}
        if auto_upgrade is None:
            auto_upgrade = self.dialect == "sqlite"
        try:
            self.revision = _migrate.check(
                self._engine, display_uri=self.display_uri, auto_upgrade=auto_upgrade
            )
        except OperationalError as exc:
            self._engine.dispose()
            raise self._unavailable(exc) from exc
        except BaseException:
            self._engine.dispose()
            raise

    def _unavailable(self, exc: BaseException) -> StoreUnavailableError:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        if self.dialect == "sqlite":
            hint = "check the file's path and permissions"
        else:
            hint = "is the server running and does LOOPML_URI name the right host, port and user?"
        return StoreUnavailableError(
            f"cannot reach the store at {self.display_uri}: {reason}; {hint}"
        )

    # -- transactions -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        """Count an operation in flight, so that close() can wait for it to return its
        connection (a connection returned to a disposed pool would be dropped unclosed)."""
        with self._in_flight_changed:
            if self._closed:
                raise StoreError(
                    f"the store at {self.display_uri} was closed; get a fresh one with "
                    "loopml.workspace().store"
                )
            self._in_flight += 1
        try:
            yield
        finally:
            with self._in_flight_changed:
                self._in_flight -= 1
                self._in_flight_changed.notify_all()

    def _write(self, body: Callable[[Connection], T]) -> T:
        def attempt() -> T:
            with self._engine.connect() as connection:
                connection.execution_options(loopml_write=True)
                with connection.begin():
                    return body(connection)

        with self._operation():
            try:
                return retrying(attempt)
            except OperationalError as exc:
                raise self._unavailable(exc) from exc

    def _read(self, body: Callable[[Connection], T]) -> T:
        def attempt() -> T:
            with self._engine.connect() as connection:
                return body(connection)

        with self._operation():
            try:
                return retrying(attempt)
            except OperationalError as exc:
                raise self._unavailable(exc) from exc

    def _insert(self, table: Any) -> Any:
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table)
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)

    def _build_statements(self) -> dict[str, Any]:
        """Upserts built once: constructing them costs more than running them."""
        tags_upsert = self._insert(tags)
        tags_upsert = tags_upsert.on_conflict_do_update(
            index_elements=["run_pk", "key"], set_={"value": tags_upsert.excluded.value}
        )
        latest = self._insert(latest_metrics)
        excluded = latest.excluded
        latest = latest.on_conflict_do_update(
            index_elements=["run_pk", "key"],
            set_={"step": excluded.step, "timestamp": excluded.timestamp, "value": excluded.value},
            where=or_(
                excluded.step > latest_metrics.c.step,
                and_(
                    excluded.step == latest_metrics.c.step,
                    excluded.timestamp >= latest_metrics.c.timestamp,
                ),
            ),
        )
        artifact = self._insert(artifacts)
        artifact = artifact.on_conflict_do_update(
            index_elements=["run_pk", "name"],
            set_={
                "digest": artifact.excluded.digest,
                "size": artifact.excluded.size,
                "created_at": artifact.excluded.created_at,
            },
        )
        return {"upsert_tags": tags_upsert, "upsert_latest": latest, "upsert_artifact": artifact}

    # -- schema -------------------------------------------------------------------------------
    def schema_status(self) -> tuple[str | None, str]:
        return self._read(_migrate.current_revision), _migrate.HEAD_REVISION

    def upgrade(self) -> None:
        try:
            _migrate.upgrade(self._engine)
        except OperationalError as exc:
            raise self._unavailable(exc) from exc
        self.revision = _migrate.HEAD_REVISION

    # -- experiments --------------------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> Experiment:
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise InvalidInputError(
                f"experiment name {name!r} must be a non-empty string of at most 256 characters"
            )

        def body(connection: Connection) -> Experiment:
            row = connection.execute(select(experiments).where(experiments.c.name == name)).first()
            if row is None:
                stmt = (
                    self._insert(experiments)
                    .values(name=name, created_at=now_ms())
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                connection.execute(stmt)
                row = connection.execute(
                    select(experiments).where(experiments.c.name == name)
                ).one()
            return Experiment(row.id, row.name, row.created_at, row.description)

        experiment = self._write(body)
        self._experiment_ids[name] = experiment.id
        return experiment

    def list_experiments(self) -> list[Experiment]:
        counts = (
            select(runs.c.experiment_id, func.count().label("n"))
            .group_by(runs.c.experiment_id)
            .subquery()
        )
        stmt = (
            select(experiments, func.coalesce(counts.c.n, 0).label("n"))
            .outerjoin(counts, counts.c.experiment_id == experiments.c.id)
            .order_by(experiments.c.id)
        )
        rows = self._read(lambda c: c.execute(stmt).all())
        return [Experiment(r.id, r.name, r.created_at, r.description, int(r.n)) for r in rows]

    # -- runs ---------------------------------------------------------------------------------
    def create_run(
        self,
        experiment: str,
        *,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_id: str | None = None,
        host: str | None = None,
        pid: int | None = None,
        proc_start: int | None = None,
        artifacts: Sequence[ArtifactRef] = (),
        params: Mapping[str, str] | None = None,
    ) -> Run:
        experiment_id = self._experiment_ids.get(experiment)
        if experiment_id is None:
            experiment_id = self.get_or_create_experiment(experiment).id
        parent_pk = self._run_pk(parent_id) if parent_id else None
        run_id = uuid.uuid4().hex
        started = now_ms()
        tag_rows = dict(tags or {})

        def body(connection: Connection) -> int:
            result = connection.execute(
                runs.insert().values(
                    id=run_id,
                    experiment_id=experiment_id,
                    name=name,
                    status="running",
                    start_time=started,
                    heartbeat_at=started,
                    host=host,
                    pid=pid,
                    proc_start=proc_start,
                    parent_pk=parent_pk,
                )
            )
            pk = int(result.inserted_primary_key[0])  # type: ignore[index]
            if tag_rows:
                connection.execute(
                    tbl.tags.insert(),
                    [{"run_pk": pk, "key": k, "value": v} for k, v in tag_rows.items()],
                )
            if params:
                connection.execute(
                    tbl.params.insert(),
                    [{"run_pk": pk, "key": k, "value": v} for k, v in params.items()],
                )
            if artifacts:
                connection.execute(
                    tbl.artifacts.insert(),
                    [
                        {
                            "run_pk": pk,
                            "name": a.name,
                            "digest": a.digest,
                            "size": a.size,
                            "created_at": started,
                        }
                        for a in artifacts
                    ],
                )
            return pk

        pk = self._write(body)
        self._run_pks[run_id] = pk
        return Run(
            id=run_id,
            experiment=experiment,
            name=name,
            status="running",
            start_time=started,
            end_time=None,
            params=dict(params or {}),
            tags=tag_rows,
            artifacts={a.name: a for a in artifacts},
            parent_id=parent_id,
            host=host,
            pid=pid,
        )

    def end_run(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        points: Sequence[MetricPoint] = (),
    ) -> None:
        pk = self._run_pk(run_id)
        stmt = update(runs).where(runs.c.pk == pk).values(status=status, end_time=now_ms())
        if error is not None:
            stmt = stmt.values(error=error)

        def body(connection: Connection) -> None:
            self._insert_points(connection, pk, points)
            connection.execute(stmt)

        self._write(body)

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        if not run_ids:
            return
        stmt = (
            update(runs)
            .where(runs.c.id.in_(list(run_ids)), runs.c.status == "running")
            .values(heartbeat_at=now_ms())
        )
        self._write(lambda c: c.execute(stmt))

    def running_runs(self) -> list[RunLiveness]:
        stmt = select(
            runs.c.id, runs.c.host, runs.c.pid, runs.c.proc_start, runs.c.heartbeat_at
        ).where(runs.c.status == "running")
        rows = self._read(lambda c: c.execute(stmt).all())
        return [RunLiveness(r.id, r.host, r.pid, r.proc_start, r.heartbeat_at) for r in rows]

    def mark_killed(self, run_ids: Sequence[str], reason: str) -> list[str]:
        if not run_ids:
            return []

        def body(connection: Connection) -> list[str]:
            still = [
                r.id
                for r in connection.execute(
                    select(runs.c.id).where(
                        runs.c.id.in_(list(run_ids)), runs.c.status == "running"
                    )
                )
            ]
            if still:
                connection.execute(
                    update(runs)
                    .where(runs.c.id.in_(still))
                    .values(status="killed", end_time=runs.c.heartbeat_at, error=reason)
                )
            return still

        return self._write(body)

    def _run_pk(self, run_id: str) -> int:
        pk = self._run_pks.get(run_id)
        if pk is not None:
            return pk
        full = self.resolve_run_id(run_id)
        row = self._read(lambda c: c.execute(select(runs.c.pk).where(runs.c.id == full)).first())
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r}; list runs with `loopml runs list`")
        self._run_pks[full] = int(row.pk)
        return int(row.pk)

    def resolve_run_id(self, prefix: str) -> str:
        if (
            not isinstance(prefix, str)
            or not prefix
            or not all(c in "0123456789abcdef" for c in prefix.lower())
        ):
            raise InvalidInputError(
                f"{prefix!r} is not a run id: run ids are hexadecimal, e.g. 3fa2c1...; list them "
                "with `loopml runs list`"
            )
        prefix = prefix.lower()
        stmt = select(runs.c.id).where(runs.c.id.startswith(prefix, autoescape=True)).limit(2)
        ids = [r.id for r in self._read(lambda c: c.execute(stmt).all())]
        if not ids:
            raise NotFoundError(f"no run with id {prefix!r}; list runs with `loopml runs list`")
        if len(ids) > 1:
            raise InvalidInputError(
                f"run id prefix {prefix!r} matches more than one run; give more characters"
            )
        return str(ids[0])

    def get_run(self, run_id: str) -> Run:
        full = self.resolve_run_id(run_id)
        found = self._load_runs(runs.c.id == full, order=[], limit=None, offset=0)
        if not found:
            raise NotFoundError(f"no run with id {run_id!r}; list runs with `loopml runs list`")
        return found[0]

    def count_runs(self, *, experiments: Sequence[str] | None = None) -> int:
        stmt = select(func.count()).select_from(runs)
        if experiments:
            stmt = stmt.where(runs.c.experiment_id.in_(self._experiment_subquery(experiments)))
        return int(self._read(lambda c: c.execute(stmt).scalar_one()))

    def _experiment_subquery(self, names: Sequence[str]) -> Any:
        return select(tbl.experiments.c.id).where(tbl.experiments.c.name.in_(list(names)))

    def search_runs(
        self,
        *,
        experiments: Sequence[str] | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[Run]:
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InvalidInputError(f"limit must be a non-negative integer or None, not {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise InvalidInputError(f"offset must be a non-negative integer, not {offset!r}")
        tree = _filter.parse_filter(filter)
        order = _filter.parse_order_by(order_by)
        # Sorting on a metric, param or tag: walk that key's (key, value) index in order and
        # test each run with correlated EXISTS, so the first page costs a page, not a sort of
        # every match (271 ms -> 7 ms on 100,000 runs). Otherwise let the filter's own
        # (key, value) index find the few matching runs.
        by_value = bool(order) and order[0].field.kind != "attribute"
        conditions: list[ColumnElement[bool]] = []
        if experiments:
            conditions.append(runs.c.experiment_id.in_(self._experiment_subquery(experiments)))
        if tree is not None:
            conditions.append(_condition(tree, correlated=by_value))
        if not by_value:
            where = and_(*conditions) if conditions else None
            return self._load_runs(where, order=order, limit=limit, offset=offset)
        return self._search_by_value(conditions, order, limit=limit, offset=offset)

    def _search_by_value(
        self,
        conditions: list[ColumnElement[bool]],
        order: list[_filter.OrderKey],
        *,
        limit: int | None,
        offset: int,
    ) -> list[Run]:
        """Runs that have the first order key (index order), then those that lack it."""
        first = order[0]
        table = _VALUE_TABLES[first.field.kind]
        driver = table.alias("order_key")
        with_key = self._load_runs(
            and_(driver.c.key == first.field.key, *conditions),
            order=order[1:],
            limit=limit,
            offset=offset,
            driver=(driver, first.descending),
        )
        if limit is not None and len(with_key) >= limit:
            return with_key
        if with_key or offset == 0:
            skipped_with_key = offset + len(with_key)
        else:
            count = select(func.count()).select_from(
                driver.join(runs, runs.c.pk == driver.c.run_pk)
            )
            count = count.where(driver.c.key == first.field.key, *conditions)
            skipped_with_key = int(self._read(lambda c: c.execute(count).scalar_one()))
        lacks_key = ~exists().where(table.c.run_pk == runs.c.pk, table.c.key == first.field.key)
        without_key = self._load_runs(
            and_(lacks_key, *conditions),
            order=order[1:],
            limit=None if limit is None else limit - len(with_key),
            offset=max(0, offset - skipped_with_key),
        )
        return with_key + without_key

    def _load_runs(
        self,
        where: ColumnElement[bool] | None,
        *,
        order: list[_filter.OrderKey],
        limit: int | None,
        offset: int,
        driver: tuple[Any, bool] | None = None,
    ) -> list[Run]:
        exp = tbl.experiments
        clauses: list[Any] = []
        if driver is None:
            source: Any = runs
        else:
            table, descending = driver
            source = table.join(runs, runs.c.pk == table.c.run_pk)
            value = table.c.value
            clauses.append((value.desc() if descending else value.asc()).nulls_last())
        stmt = select(runs, exp.c.name.label("experiment_name")).select_from(
            source.join(exp, exp.c.id == runs.c.experiment_id)
        )
        if where is not None:
            stmt = stmt.where(where)
        for n, key in enumerate(order):
            column: Any
            if key.field.kind == "attribute":
                column = _attribute_column(key.field.key)
            else:
                alias = _VALUE_TABLES[key.field.kind].alias(f"order_{n}")
                stmt = stmt.outerjoin(
                    alias, and_(alias.c.run_pk == runs.c.pk, alias.c.key == key.field.key)
                )
                column = alias.c.value
            clauses.append((column.desc() if key.descending else column.asc()).nulls_last())
        clauses += [runs.c.start_time.desc(), runs.c.pk.desc()]
        stmt = stmt.order_by(*clauses).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)

        def body(connection: Connection) -> list[Run]:
            rows = connection.execute(stmt).all()
            pks = [r.pk for r in rows]
            parents = {r.parent_pk for r in rows if r.parent_pk is not None}
            values = self._run_values(connection, pks)
            parent_ids: dict[int, str] = {}
            for chunk in _chunks(sorted(parents)):
                for p in connection.execute(
                    select(runs.c.pk, runs.c.id).where(runs.c.pk.in_(chunk))
                ):
                    parent_ids[p.pk] = p.id
            return [
                Run(
                    id=r.id,
                    experiment=r.experiment_name,
                    name=r.name,
                    status=r.status,
                    start_time=r.start_time,
                    end_time=r.end_time,
                    params=values["params"].get(r.pk, {}),
                    metrics=values["metrics"].get(r.pk, {}),
                    tags=values["tags"].get(r.pk, {}),
                    artifacts=values["artifacts"].get(r.pk, {}),
                    error=r.error,
                    parent_id=parent_ids.get(r.parent_pk) if r.parent_pk else None,
                    host=r.host,
                    pid=r.pid,
                )
                for r in rows
            ]

        return self._read(body)

    def _run_values(self, connection: Connection, pks: list[int]) -> dict[str, dict[int, Any]]:
        out: dict[str, dict[int, Any]] = {
            "params": defaultdict(dict),
            "metrics": defaultdict(dict),
            "tags": defaultdict(dict),
            "artifacts": defaultdict(dict),
        }
        for chunk in _chunks(pks):
            for row in connection.execute(select(params).where(params.c.run_pk.in_(chunk))):
                out["params"][row.run_pk][row.key] = row.value
            for row in connection.execute(select(tags).where(tags.c.run_pk.in_(chunk))):
                out["tags"][row.run_pk][row.key] = row.value
            lm = latest_metrics
            for row in connection.execute(
                select(lm.c.run_pk, lm.c.key, lm.c.value).where(lm.c.run_pk.in_(chunk))
            ):
                out["metrics"][row.run_pk][row.key] = math.nan if row.value is None else row.value
            for row in connection.execute(
                select(artifacts).where(artifacts.c.run_pk.in_(chunk)).order_by(artifacts.c.name)
            ):
                out["artifacts"][row.run_pk][row.name] = ArtifactRef(
                    row.name, row.digest, row.size, row.created_at
                )
        return out

    # -- run data -----------------------------------------------------------------------------
    def log_params(self, run_id: str, params_: Mapping[str, str]) -> None:
        if not params_:
            return
        pk = self._run_pk(run_id)
        wanted = dict(params_)

        def body(connection: Connection) -> None:
            existing: dict[str, str] = {}
            keys = list(wanted)
            for chunk in _chunks(keys):
                for row in connection.execute(
                    select(params.c.key, params.c.value).where(
                        params.c.run_pk == pk, params.c.key.in_(chunk)
                    )
                ):
                    existing[row.key] = row.value
            for key, old in existing.items():
                if old != wanted[key]:
                    raise ConflictError(
                        f"param {key!r} of run {run_id} is already {old!r} and cannot become "
                        f"{wanted[key]!r}: params are fixed once logged; log a metric or a tag "
                        "for values that change, or start a new run"
                    )
            new = [
                {"run_pk": pk, "key": k, "value": v} for k, v in wanted.items() if k not in existing
            ]
            if new:
                connection.execute(params.insert(), new)

        self._write(body)

    def set_tags(self, run_id: str, tags_: Mapping[str, str]) -> None:
        if not tags_:
            return
        pk = self._run_pk(run_id)
        rows = [{"run_pk": pk, "key": k, "value": v} for k, v in tags_.items()]
        stmt = self._statements["upsert_tags"]
        self._write(lambda c: c.execute(stmt, rows))

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        if not points:
            return
        pk = self._run_pk(run_id)
        self._write(lambda c: self._insert_points(c, pk, points))

    def _insert_points(
        self, connection: Connection, pk: int, points: Sequence[MetricPoint]
    ) -> None:
        """Append points to the history and move each metric's latest value forward."""
        if not points:
            return
        rows: list[dict[str, Any]] = [
            {
                "run_pk": pk,
                "key": p.key,
                "step": p.step,
                "timestamp": p.timestamp,
                "value": None if math.isnan(p.value) else p.value,
            }
            for p in points
        ]
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            best = latest.get(row["key"])
            if best is None or (row["step"], row["timestamp"]) >= (best["step"], best["timestamp"]):
                latest[row["key"]] = row
        connection.execute(metrics.insert(), rows)
        connection.execute(self._statements["upsert_latest"], list(latest.values()))

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        pk = self._run_pk(run_id)
        stmt = (
            select(metrics.c.step, metrics.c.timestamp, metrics.c.value)
            .where(metrics.c.run_pk == pk, metrics.c.key == key)
            .order_by(metrics.c.step, metrics.c.timestamp)
        )
        rows = self._read(lambda c: c.execute(stmt).all())
        return [
            MetricPoint(key, math.nan if r.value is None else r.value, r.step, r.timestamp)
            for r in rows
        ]

    def add_artifact(self, run_id: str, name: str, digest: str, size: int) -> None:
        pk = self._run_pk(run_id)
        stmt = self._statements["upsert_artifact"]
        row = {"run_pk": pk, "name": name, "digest": digest, "size": size, "created_at": now_ms()}
        self._write(lambda c: c.execute(stmt, row))

    def list_artifacts(self, run_id: str) -> list[ArtifactRef]:
        pk = self._run_pk(run_id)
        stmt = select(artifacts).where(artifacts.c.run_pk == pk).order_by(artifacts.c.name)
        rows = self._read(lambda c: c.execute(stmt).all())
        return [ArtifactRef(r.name, r.digest, r.size, r.created_at) for r in rows]

    # -- housekeeping -------------------------------------------------------------------------
    def referenced_digests(self) -> set[str]:
        def body(connection: Connection) -> set[str]:
            found: set[str] = set()
            for column in DIGEST_COLUMNS:
                stmt = select(column).where(column.is_not(None)).distinct()
                found.update(r[0] for r in connection.execute(stmt))
            return found

        return self._read(body)

    def close(self) -> None:
        with self._in_flight_changed:
            self._closed = True
            # Let operations of other threads (e.g. a background flush) finish first.
            self._in_flight_changed.wait_for(lambda: self._in_flight == 0, timeout=30)
        self._engine.dispose()


_VALUE_TABLES: dict[str, Any] = {"metric": latest_metrics, "param": params, "tag": tags}


# -- filter tree to SQL ---------------------------------------------------------------------------
def _attribute_column(name: str) -> Any:
    return {
        "run_id": runs.c.id,
        "name": runs.c.name,
        "status": runs.c.status,
        "experiment": experiments.c.name,
        "start_time": runs.c.start_time,
        "end_time": runs.c.end_time,
    }[name]


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    match op:
        case "=":
            return column == value  # type: ignore[no-any-return]
        case "!=":
            return column != value  # type: ignore[no-any-return]
        case "<":
            return column < value  # type: ignore[no-any-return]
        case "<=":
            return column <= value  # type: ignore[no-any-return]
        case ">":
            return column > value  # type: ignore[no-any-return]
        case ">=":
            return column >= value  # type: ignore[no-any-return]
        case "like":
            return column.like(value)  # type: ignore[no-any-return]
        case "ilike":
            return column.ilike(value)  # type: ignore[no-any-return]
        case "not like":
            return ~column.like(value)  # type: ignore[no-any-return]
        case "not ilike":
            return ~column.ilike(value)  # type: ignore[no-any-return]
        case "in":
            return column.in_(list(value))  # type: ignore[no-any-return]
        case "not in":
            return ~column.in_(list(value))  # type: ignore[no-any-return]
        case "is null":
            return column.is_(None)  # type: ignore[no-any-return]
        case "is not null":
            return column.is_not(None)  # type: ignore[no-any-return]
    raise AssertionError(op)


def _condition(node: _filter.Node, *, correlated: bool = False) -> ColumnElement[bool]:
    """SQL for a filter tree: ``pk IN (matching runs)`` or, correlated, ``EXISTS (...)``."""
    if isinstance(node, _filter.BoolOp):
        parts = [_condition(item, correlated=correlated) for item in node.items]
        return and_(*parts) if node.op == "and" else or_(*parts)
    field = node.field
    if field.kind == "attribute":
        return _compare(_attribute_column(field.key), node.op, node.value)
    table = _VALUE_TABLES[field.kind]
    has_key: list[ColumnElement[bool]] = [table.c.key == field.key]
    if node.op not in ("is null", "is not null"):
        has_key.append(_compare(table.c.value, node.op, node.value))
    found: ColumnElement[bool]
    if correlated:
        found = exists().where(table.c.run_pk == runs.c.pk, *has_key)
    else:
        found = runs.c.pk.in_(select(table.c.run_pk).where(*has_key))
    result: ColumnElement[bool] = ~found if node.op == "is null" else found
    return result
