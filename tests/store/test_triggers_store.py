"""The store's trigger firings: dedupe, claiming, state changes, requeueing, listing, upgrades."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from loopml import ConflictError, InvalidInputError, NotFoundError
from loopml.store import FIRING_KINDS, Firing, Store, _migrate
from loopml.store._sql_triggers import CLAIM_TIMEOUT_MS
from loopml.store._tables import runs, step_cache, trigger_firings
from tests.store._helpers import (
    connected,
    database_at,
    execute,
    in_threads,
    insert_old_run,
    upgrades_on_open,
    upgrades_on_request,
)


def _fire(store: Store, key: str, trigger: str = "nightly", **changes: Any) -> Firing | None:
    args: dict[str, Any] = {
        "trigger": trigger,
        "pipeline": "demo.pipelines:train",
        "kind": "new_data",
        "dedupe_key": key,
        "reason": f"new data {key}",
        "payload": {"dataset": "tx", "key": key},
    }
    args.update(changes)
    return store.add_firing(**args)


def _added(store: Store, key: str, trigger: str = "nightly", **changes: Any) -> Firing:
    firing = _fire(store, key, trigger, **changes)
    assert firing is not None
    return firing


def _set_columns(uri: str, firing_id: int, **values: Any) -> None:
    execute(uri, update(trigger_firings).where(trigger_firings.c.pk == firing_id).values(**values))


# -- adding ---------------------------------------------------------------------------------------
def test_a_new_firing_is_pending_with_its_reason_and_payload(store: Store) -> None:
    firing = _added(store, "data:tx:1", payload={"version": 3, "nested": {"a": [1, 2.5, None]}})

    assert (firing.trigger, firing.pipeline, firing.kind) == (
        "nightly",
        "demo.pipelines:train",
        "new_data",
    )
    assert (firing.dedupe_key, firing.reason) == ("data:tx:1", "new data data:tx:1")
    assert firing.payload == {"version": 3, "nested": {"a": [1, 2.5, None]}}
    assert (firing.state, firing.attempts, firing.agent, firing.claimed_at) == (
        "pending",
        0,
        None,
        None,
    )
    assert (firing.run_id, firing.error) == (None, None)
    assert firing.fired_at > 0
    assert store.list_firings() == [firing]


def test_a_dedupe_key_fires_a_trigger_once_and_a_second_add_returns_none(store: Store) -> None:
    first = _added(store, "data:tx:1")

    assert _fire(store, "data:tx:1", reason="seen again", payload={"other": True}) is None

    assert store.list_firings() == [first]  # the first firing is kept as it was


def test_the_same_dedupe_key_may_fire_each_trigger_once(store: Store) -> None:
    _added(store, "cron:2026-01-01T03:00Z", trigger="nightly")
    _added(store, "cron:2026-01-01T03:00Z", trigger="weekly")

    assert {f.trigger for f in store.list_firings()} == {"nightly", "weekly"}


def test_concurrent_adds_of_one_key_record_exactly_one_firing(store: Store) -> None:
    results = in_threads(8, lambda i: _fire(store, "data:tx:race", reason=f"agent {i}"))

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert store.list_firings() == winners


@pytest.mark.parametrize("kind", FIRING_KINDS)
def test_every_firing_kind_is_accepted(store: Store, kind: str) -> None:
    assert _added(store, "k", kind=kind).kind == kind


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "cron"},
        {"trigger": ""},
        {"trigger": "t" * 257},
        {"pipeline": "p" * 513},
        {"pipeline": None},
        {"dedupe_key": "k" * 257},
        {"dedupe_key": "  "},
        {"reason": ""},
        {"reason": 3},
        {"payload": ["not", "a", "mapping"]},
        {"payload": {"when": object()}},
        {"payload": {"x": float("nan")}},
    ],
)
def test_a_malformed_firing_is_an_invalid_input_and_nothing_is_stored(
    store: Store, changes: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError):
        _fire(store, "k", **changes)
    assert store.list_firings() == []


def test_limits_of_256_and_512_characters_are_accepted(store: Store) -> None:
    firing = _added(store, "k" * 256, trigger="t" * 256, pipeline="p" * 512)
    assert (len(firing.trigger), len(firing.pipeline), len(firing.dedupe_key)) == (256, 512, 256)


# -- claiming -------------------------------------------------------------------------------------
def test_claiming_takes_the_oldest_pending_firing_and_counts_an_attempt(
    store: Store, store_uri: str
) -> None:
    older = _added(store, "a")
    newer = _added(store, "b")
    _set_columns(store_uri, older.id, fired_at=newer.fired_at - 10)

    claimed = store.claim_firing("host:1")

    assert claimed is not None
    assert claimed.id == older.id
    assert (claimed.state, claimed.agent, claimed.attempts) == ("claimed", "host:1", 1)
    assert claimed.claimed_at is not None and claimed.claimed_at >= older.fired_at
    second = store.claim_firing("host:2")
    assert second is not None and (second.id, second.agent) == (newer.id, "host:2")
    assert store.claim_firing("host:1") is None


def test_claiming_can_be_limited_to_some_triggers(store: Store) -> None:
    _added(store, "a", trigger="nightly")
    weekly = _added(store, "b", trigger="weekly")

    claimed = store.claim_firing("host:1", triggers=["weekly", "monthly"])

    assert claimed is not None and claimed.id == weekly.id
    assert store.claim_firing("host:1", triggers=["weekly"]) is None
    assert store.claim_firing("host:1", triggers=[]) is None
    with pytest.raises(InvalidInputError, match="list of trigger names"):
        store.claim_firing("host:1", triggers="nightly")


def test_concurrent_claimers_each_get_a_different_firing(store: Store) -> None:
    added = [_added(store, f"k{i}") for i in range(12)]

    def claim_all(i: int) -> list[int]:
        got: list[int] = []
        while (firing := store.claim_firing(f"agent-{i}")) is not None:
            got.append(firing.id)
        return got

    claimed = [pk for got in in_threads(4, claim_all) for pk in got]

    assert sorted(claimed) == sorted(f.id for f in added)  # each claimed exactly once
    assert {f.state for f in store.list_firings()} == {"claimed"}
    assert {f.attempts for f in store.list_firings()} == {1}


def test_an_empty_agent_name_is_an_invalid_input(store: Store) -> None:
    _added(store, "a")
    with pytest.raises(InvalidInputError, match="agent name"):
        store.claim_firing("")


# -- state updates --------------------------------------------------------------------------------
def test_a_firing_is_linked_to_its_run_and_moves_to_done(store: Store) -> None:
    firing = _added(store, "a")
    assert store.claim_firing("host:1") is not None
    run = store.create_run("pipelines")

    store.update_firing(firing.id, state="started", run_id=run.id[:8])
    (started,) = store.list_firings()
    assert (started.state, started.run_id) == ("started", run.id)

    store.update_firing(firing.id, state="done")
    (done,) = store.list_firings()
    assert (done.state, done.run_id, done.error) == ("done", run.id, None)


def test_a_failed_firing_keeps_its_error_and_is_final(store: Store) -> None:
    firing = _added(store, "a")

    store.update_firing(firing.id, state="failed", error="ModuleNotFoundError: demo")
    store.update_firing(firing.id, state="failed")  # the same final state again: a no-op

    (failed,) = store.list_firings()
    assert (failed.state, failed.error) == ("failed", "ModuleNotFoundError: demo")
    with pytest.raises(ConflictError, match="final"):
        store.update_firing(firing.id, state="started")


def test_updating_an_unknown_firing_or_with_an_unknown_run_is_not_found(store: Store) -> None:
    firing = _added(store, "a")

    with pytest.raises(NotFoundError, match="no trigger firing with id 999"):
        store.update_firing(999, state="done")
    with pytest.raises(NotFoundError, match="no run"):
        store.update_firing(firing.id, state="started", run_id="f" * 32)
    assert store.list_firings()[0].state == "pending"


@pytest.mark.parametrize("state", ["pending", "claimed", "running", ""])
def test_a_state_update_must_target_started_done_failed_or_skipped(
    store: Store, state: str
) -> None:
    firing = _added(store, "a")
    with pytest.raises(InvalidInputError, match="firing state"):
        store.update_firing(firing.id, state=state)


def test_deleting_a_run_row_keeps_its_firing_without_a_run(store: Store, store_uri: str) -> None:
    firing = _added(store, "a")
    run = store.create_run("pipelines")
    store.update_firing(firing.id, state="started", run_id=run.id)

    execute(store_uri, delete(runs).where(runs.c.id == run.id))

    (kept,) = store.list_firings()
    assert (kept.id, kept.state, kept.run_id) == (firing.id, "started", None)


# -- requeueing -----------------------------------------------------------------------------------
def test_a_firing_whose_run_was_killed_goes_back_to_pending(store: Store) -> None:
    firing = _added(store, "a")
    assert store.claim_firing("host:1") is not None
    run = store.create_run("pipelines")
    store.update_firing(firing.id, state="started", run_id=run.id)
    assert store.mark_killed([run.id], "agent died") == [run.id]

    assert store.requeue_firings(3) == [firing.id]

    (pending,) = store.list_firings()
    assert (pending.state, pending.agent, pending.claimed_at, pending.attempts) == (
        "pending",
        None,
        None,
        1,
    )
    assert pending.error is not None and "killed" in pending.error
    assert store.requeue_firings(3) == []  # nothing more to do

    again = store.claim_firing("host:2")  # the trigger is not lost
    assert again is not None
    assert (again.id, again.attempts, again.run_id, again.error) == (firing.id, 2, None, None)


def test_running_and_ended_runs_keep_their_firings(store: Store) -> None:
    running = _added(store, "a")
    finished = _added(store, "b")
    assert store.claim_firing("host:1") is not None
    assert store.claim_firing("host:1") is not None
    run_a = store.create_run("pipelines")
    run_b = store.create_run("pipelines")
    store.end_run(run_b.id, "finished")
    store.update_firing(running.id, state="started", run_id=run_a.id)
    store.update_firing(finished.id, state="started", run_id=run_b.id)

    assert store.requeue_firings(3) == []
    assert {f.state for f in store.list_firings()} == {"started"}


def test_a_firing_claimed_long_ago_without_a_run_goes_back_to_pending(
    store: Store, store_uri: str
) -> None:
    stale = _added(store, "a")
    fresh = _added(store, "b")
    claimed = store.claim_firing("host:1")
    assert claimed is not None and claimed.id == stale.id
    assert store.claim_firing("host:1") is not None
    assert claimed.claimed_at is not None
    _set_columns(store_uri, stale.id, claimed_at=claimed.claimed_at - CLAIM_TIMEOUT_MS - 1_000)

    assert store.requeue_firings(3) == [stale.id]

    states = {f.id: f.state for f in store.list_firings()}
    assert states == {stale.id: "pending", fresh.id: "claimed"}
    (requeued,) = store.list_firings(state="pending")
    assert requeued.error is not None and "host:1" in requeued.error


def test_a_firing_out_of_attempts_fails_with_an_error_saying_so(store: Store) -> None:
    firing = _added(store, "a")
    for attempt in (1, 2):
        claimed = store.claim_firing("host:1")
        assert claimed is not None and claimed.attempts == attempt
        run = store.create_run("pipelines")
        store.update_firing(firing.id, state="started", run_id=run.id)
        store.mark_killed([run.id], "agent died")
        requeued = store.requeue_firings(2)
        assert requeued == ([firing.id] if attempt == 1 else [])

    (failed,) = store.list_firings()
    assert failed.state == "failed"
    assert failed.error is not None
    assert "gave up after 2 attempts" in failed.error
    assert "max_attempts=2" in failed.error
    assert store.claim_firing("host:1") is None


@pytest.mark.parametrize("bad", [0, -1, True, "3", 2.5])
def test_max_attempts_must_be_a_positive_integer(store: Store, bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="max_attempts"):
        store.requeue_firings(bad)


# -- listing --------------------------------------------------------------------------------------
def test_firings_are_listed_newest_first_by_trigger_and_state_with_a_limit(store: Store) -> None:
    a = _added(store, "a", trigger="nightly")
    b = _added(store, "b", trigger="weekly")
    c = _added(store, "c", trigger="nightly")
    store.update_firing(b.id, state="skipped")

    assert [f.id for f in store.list_firings()] == [c.id, b.id, a.id]
    assert [f.id for f in store.list_firings(trigger="nightly")] == [c.id, a.id]
    assert [f.id for f in store.list_firings(state="skipped")] == [b.id]
    assert [f.id for f in store.list_firings(trigger="weekly", state="pending")] == []
    assert [f.id for f in store.list_firings(limit=2)] == [c.id, b.id]
    assert store.list_firings(trigger="monthly") == []


@pytest.mark.parametrize(
    "args", [{"state": "running"}, {"limit": 0}, {"limit": "10"}, {"trigger": ""}]
)
def test_listing_with_a_malformed_filter_is_an_invalid_input(
    store: Store, args: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError):
        store.list_firings(**args)


# -- upgrades from revision 0004 ------------------------------------------------------------------
OLD_RUN_ID = "fedcba9876543210" * 2
CACHE_KEY = "sha256:" + "1" * 64


def _database_at_0004_with_data(uri: str) -> None:
    with database_at(uri, "0004") as connection:
        run_pk = insert_old_run(connection, OLD_RUN_ID, "pipe")
        connection.execute(
            step_cache.insert().values(
                key=CACHE_KEY, step="steps.train", run_pk=run_pk, created_at=650, hits=2
            )
        )


def _check_upgraded(store: Store, uri: str) -> None:
    assert store.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
    old = store.get_run(OLD_RUN_ID)
    assert (old.name, old.status, old.start_time, old.end_time) == ("old", "finished", 600, 700)
    entry = store.get_cache_entry(CACHE_KEY)
    assert entry is not None and (entry.run_id, entry.hits) == (OLD_RUN_ID, 2)

    # The new table works with the old rows.
    firing = _added(store, "data:tx:1")
    assert _fire(store, "data:tx:1") is None
    assert store.claim_firing("host:1") is not None
    store.update_firing(firing.id, state="done", run_id=OLD_RUN_ID)
    assert store.list_firings()[0].run_id == OLD_RUN_ID

    with connected(uri) as connection:
        states = connection.execute(select(trigger_firings.c.state)).scalars().all()
        assert states == ["done"]


def test_a_sqlite_store_at_revision_0004_upgrades_on_open_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    upgrades_on_open(tmp_path, _database_at_0004_with_data, _check_upgraded)


@pytest.mark.postgres
def test_a_postgresql_store_at_revision_0004_waits_for_db_upgrade_and_keeps_its_data(
    pg_uri: str,
) -> None:
    upgrades_on_request(
        pg_uri, "0004", _database_at_0004_with_data, _check_upgraded, refuses_twice=True
    )
