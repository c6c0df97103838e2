"""Trigger firings in the SQL store (mixed into :class:`~loopml.store._sql.SqlStore`).

A firing is inserted with ``INSERT ... ON CONFLICT (trigger, dedupe_key) DO NOTHING``: of two
agents that see the same data version, exactly one inserts the row (on PostgreSQL the second
waits for the first to commit, then does nothing; SQLite serialises writers with
``BEGIN IMMEDIATE``), so a dedupe key starts a pipeline at most once, also across restarts.

Claiming selects the oldest pending firing and updates it in one write transaction. On
PostgreSQL the select takes the row with ``FOR UPDATE SKIP LOCKED``, so concurrent claimers
each get a different firing without waiting on each other; on SQLite the write transaction is
exclusive. The update is also conditional on ``state = 'pending'`` and its row count checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from loopml._errors import ConflictError, InvalidInputError, NotFoundError
from loopml.store._records import FIRING_KINDS, FIRING_STATES, Firing, check_trigger_name
from loopml.store._sql_datasets import _now_ms
from loopml.store._sql_pipelines import _check_text, _shown
from loopml.store._tables import (
    MAX_DEDUPE_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PIPELINE_LENGTH,
    runs,
    trigger_firings,
)

#: A firing claimed this long ago (ms) that has not started a run is given back.
CLAIM_TIMEOUT_MS = 60_000

#: States a firing never leaves.
FINAL_STATES = ("done", "failed", "skipped")
#: States update_firing may set (claiming and requeueing have their own methods).
UPDATE_STATES = ("started", *FINAL_STATES)


_check_trigger = check_trigger_name


def _check_state(state: object, allowed: Sequence[str] = FIRING_STATES) -> str:
    if state not in allowed:
        raise InvalidInputError(
            f"firing state {_shown(state)} is not allowed here: use one of "
            + ", ".join(repr(s) for s in allowed)
        )
    return str(state)


def _check_count(value: object, what: str, example: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{what} must be a positive integer, e.g. {example}, not {value!r}")
    return value


def _payload_json(payload: object) -> str:
    if not isinstance(payload, Mapping):
        raise InvalidInputError(
            f"a firing's payload must be a mapping of JSON-able values, not {_shown(payload)}; "
            "e.g. {'dataset': 'transactions', 'version': 3}"
        )
    try:
        return json.dumps(dict(payload), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"a firing's payload must be JSON-able (str, int, float, bool, None, lists and "
            f"dicts with string keys): {exc}"
        ) from None


class TriggersMixin:
    """The trigger-firing part of the Store interface, on SQLAlchemy Core."""

    dialect: str
    _write: Callable[..., Any]
    _read: Callable[..., Any]
    _insert: Callable[[Any], Any]
    _run_pk: Callable[[str], int]

    @staticmethod
    def _firing_select() -> Any:
        return select(trigger_firings, runs.c.id.label("run_id")).select_from(
            trigger_firings.outerjoin(runs, runs.c.pk == trigger_firings.c.run_pk)
        )

    @staticmethod
    def _firing(row: Any) -> Firing:
        return Firing(
            id=int(row.pk),
            trigger=row.trigger,
            pipeline=row.pipeline,
            kind=row.kind,
            dedupe_key=row.dedupe_key,
            reason=row.reason,
            payload=json.loads(row.payload),
            state=row.state,
            attempts=int(row.attempts),
            agent=row.agent,
            claimed_at=None if row.claimed_at is None else int(row.claimed_at),
            run_id=row.run_id,
            error=row.error,
            fired_at=int(row.fired_at),
        )

    def _get_firing(self, connection: Connection, pk: int) -> Firing:
        row = connection.execute(self._firing_select().where(trigger_firings.c.pk == pk)).one()
        return self._firing(row)

    # -- firing -------------------------------------------------------------------------------
    def add_firing(
        self,
        trigger: str,
        pipeline: str,
        kind: str,
        dedupe_key: str,
        reason: str,
        payload: Mapping[str, object],
    ) -> Firing | None:
        _check_trigger(trigger)
        _check_text(pipeline, "pipeline", MAX_PIPELINE_LENGTH, "my_project.pipelines:train")
        if kind not in FIRING_KINDS:
            raise InvalidInputError(
                f"firing kind {_shown(kind)} is not allowed: use one of "
                + ", ".join(repr(k) for k in FIRING_KINDS)
            )
        _check_text(dedupe_key, "dedupe key", MAX_DEDUPE_KEY_LENGTH, "data:transactions:sha256:...")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInputError(
                f"a firing needs a reason (a non-empty string saying why it fired), not "
                f"{_shown(reason)}; e.g. 'new version 3 of dataset transactions'"
            )
        row = {
            "trigger": trigger,
            "pipeline": pipeline,
            "kind": kind,
            "dedupe_key": dedupe_key,
            "reason": reason,
            "payload": _payload_json(payload),
            "state": "pending",
            "attempts": 0,
            "fired_at": _now_ms(),
        }
        stmt = self._insert(trigger_firings).on_conflict_do_nothing(
            index_elements=["trigger", "dedupe_key"]
        )
        # PostgreSQL reports no row count for an INSERT with (implicit) RETURNING, so it returns
        # the new key; SQLite's row count is exact (and RETURNING needs SQLite 3.35).
        returning = self.dialect != "sqlite"
        if returning:
            stmt = stmt.returning(trigger_firings.c.pk)

        def body(connection: Connection) -> Firing | None:
            result = connection.execute(stmt, row)
            if returning:
                pk = result.scalar()
                if pk is None:
                    return None
            else:
                if result.rowcount != 1:
                    return None
                pk = connection.execute(
                    select(trigger_firings.c.pk).where(
                        trigger_firings.c.trigger == trigger,
                        trigger_firings.c.dedupe_key == dedupe_key,
                    )
                ).scalar_one()
            return self._get_firing(connection, pk)

        added: Firing | None = self._write(body)
        return added

    def claim_firing(self, agent: str, *, triggers: Sequence[str] | None = None) -> Firing | None:
        _check_text(agent, "agent name", MAX_NAME_LENGTH, "host:1234")
        wanted: list[str] | None = None
        if triggers is not None:
            if isinstance(triggers, str | bytes) or not isinstance(triggers, Sequence):
                raise InvalidInputError(
                    f"triggers must be a list of trigger names, not {_shown(triggers)}; e.g. "
                    "triggers=['nightly']"
                )
            wanted = sorted({_check_trigger(t) for t in triggers})
            if not wanted:
                return None
        pick = select(trigger_firings.c.pk).where(trigger_firings.c.state == "pending")
        if wanted is not None:
            pick = pick.where(trigger_firings.c.trigger.in_(wanted))
        pick = (
            pick.order_by(trigger_firings.c.fired_at, trigger_firings.c.pk)
            .limit(1)
            .with_for_update(skip_locked=True)
        )

        def body(connection: Connection) -> Firing | None:
            while True:
                pk = connection.execute(pick).scalar()
                if pk is None:
                    return None
                claimed = connection.execute(
                    update(trigger_firings)
                    .where(trigger_firings.c.pk == pk, trigger_firings.c.state == "pending")
                    .values(
                        state="claimed",
                        agent=agent,
                        claimed_at=_now_ms(),
                        attempts=trigger_firings.c.attempts + 1,
                        run_pk=None,
                        error=None,
                    )
                ).rowcount
                if claimed == 1:
                    return self._get_firing(connection, pk)

        found: Firing | None = self._write(body)
        return found

    def update_firing(
        self,
        firing_id: int,
        *,
        state: str,
        run_id: str | None = None,
        error: str | None = None,
    ) -> None:
        pk = _check_count(firing_id, "firing_id", 1)
        _check_state(state, UPDATE_STATES)
        if error is not None and not isinstance(error, str):
            raise InvalidInputError(f"error must be a string or None, not {_shown(error)}")
        run_pk = None if run_id is None else self._run_pk(run_id)

        def body(connection: Connection) -> None:
            current = connection.execute(
                select(trigger_firings.c.state).where(trigger_firings.c.pk == pk)
            ).scalar()
            if current is None:
                raise NotFoundError(
                    f"no trigger firing with id {pk}; list firings with `loopml triggers history`"
                )
            if current in FINAL_STATES:
                if current == state:
                    return
                raise ConflictError(
                    f"trigger firing {pk} is {current}, which is final; it cannot become "
                    f"{state} (fire the trigger again to start another run)"
                )
            values: dict[str, Any] = {"state": state}
            if run_pk is not None:
                values["run_pk"] = run_pk
            if error is not None:
                values["error"] = error
            connection.execute(
                update(trigger_firings).where(trigger_firings.c.pk == pk).values(**values)
            )

        self._write(body)

    def requeue_firings(self, max_attempts: int) -> list[int]:
        _check_count(max_attempts, "max_attempts", 3)

        def body(connection: Connection) -> list[int]:
            now = _now_ms()
            stmt = (
                select(
                    trigger_firings.c.pk,
                    trigger_firings.c.attempts,
                    trigger_firings.c.agent,
                    runs.c.id.label("run_id"),
                )
                .select_from(trigger_firings.outerjoin(runs, runs.c.pk == trigger_firings.c.run_pk))
                .where(
                    or_(
                        and_(
                            trigger_firings.c.state.in_(["claimed", "started"]),
                            runs.c.status == "killed",
                        ),
                        and_(
                            trigger_firings.c.state == "claimed",
                            trigger_firings.c.run_pk.is_(None),
                            trigger_firings.c.claimed_at < now - CLAIM_TIMEOUT_MS,
                        ),
                    )
                )
                .order_by(trigger_firings.c.pk)
                .with_for_update(of=trigger_firings, skip_locked=True)
            )
            requeued: list[int] = []
            for row in connection.execute(stmt).all():
                if row.run_id is not None:
                    why = f"its run {row.run_id} was killed"
                else:
                    seconds = CLAIM_TIMEOUT_MS // 1000
                    why = f"agent {row.agent} claimed it and started no run within {seconds} s"
                if row.attempts < max_attempts:
                    values: dict[str, Any] = {
                        "state": "pending",
                        "agent": None,
                        "claimed_at": None,
                        "error": f"requeued after attempt {row.attempts}: {why}",
                    }
                    requeued.append(int(row.pk))
                else:
                    values = {
                        "state": "failed",
                        "error": f"gave up after {row.attempts} attempts (max_attempts="
                        f"{max_attempts}): {why}",
                    }
                connection.execute(
                    update(trigger_firings).where(trigger_firings.c.pk == row.pk).values(**values)
                )
            return requeued

        done: list[int] = self._write(body)
        return done

    def list_firings(
        self, trigger: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Firing]:
        stmt = self._firing_select()
        if trigger is not None:
            stmt = stmt.where(trigger_firings.c.trigger == _check_trigger(trigger))
        if state is not None:
            stmt = stmt.where(trigger_firings.c.state == _check_state(state))
        _check_count(limit, "limit", 100)
        stmt = stmt.order_by(trigger_firings.c.fired_at.desc(), trigger_firings.c.pk.desc())
        rows = self._read(lambda c: c.execute(stmt.limit(limit)).all())
        return [self._firing(row) for row in rows]
