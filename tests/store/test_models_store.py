"""The store's model registry: versions, names, aliases (compare-and-set, also across processes),
approvals, verdicts, tags, deletion, the append-only history, gc and upgrades."""

from __future__ import annotations

import hashlib
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from loopml import ConflictError, InvalidInputError, NotFoundError
from loopml.store import DatasetFile, Store, _migrate, open_store
from loopml.store._records import ModelEvent, ModelFile, ModelVersionRecord
from loopml.store._tables import model_events
from tests.store._helpers import (
    connected,
    database_at,
    execute,
    insert_old_run,
    upgrades_on_open,
    upgrades_on_request,
)

SIGNATURE: dict[str, Any] = {
    "inputs": [{"name": "amount", "type": "double"}, {"name": "country", "type": "string"}],
    "outputs": [{"name": "score", "type": "double"}],
}
TRUSTED = ["sklearn.linear_model._logistic.LogisticRegression", "numpy.ndarray"]


def _digest(content: str) -> str:
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


def _files(bundle: str) -> list[ModelFile]:
    return [
        ModelFile("input_example.json", _digest(f"{bundle}/input_example.json"), 57),
        ModelFile("model.skops", _digest(f"{bundle}/model.skops"), 4096),
        ModelFile("model.yaml", _digest(f"{bundle}/model.yaml"), 312),
    ]


def _log(
    store: Store, name: str = "fraud", bundle: str = "b1", **extra: Any
) -> tuple[ModelVersionRecord, bool]:
    args: dict[str, Any] = {
        "bundle_digest": _digest(f"{bundle}/model.yaml"),
        "flavor": "sklearn",
        "format": "skops",
        "trusted_types": TRUSTED,
        "signature": SIGNATURE,
        "files": _files(bundle),
    }
    args.update(extra)
    return store.create_model_version(name, **args)


def _logged(store: Store, name: str = "fraud", bundle: str = "b1", **extra: Any) -> int:
    record, created = _log(store, name, bundle, **extra)
    assert created
    return record.version


def _versions(store: Store, count: int, name: str = "fraud") -> list[int]:
    return [_logged(store, name, f"{name}-b{i}") for i in range(1, count + 1)]


def _kinds(store: Store, name: str = "fraud") -> list[str]:
    return [e.kind for e in store.model_history(name)]


def _last(store: Store, kind: str, name: str = "fraud") -> ModelEvent:
    return [e for e in store.model_history(name) if e.kind == kind][-1]


# -- creating versions ----------------------------------------------------------------------------
def test_the_first_version_creates_the_model_and_versions_count_up(store: Store) -> None:
    assert store.list_models() == []

    first, created = _log(store, bundle="b1")

    assert (first.name, first.version, created) == ("fraud", 1, True)
    assert [m.name for m in store.list_models()] == ["fraud"]
    assert [_logged(store, bundle=b) for b in ("b2", "b3")] == [2, 3]
    assert _logged(store, name="churn", bundle="b1") == 1  # numbered per model


def test_a_version_carries_its_bundle_and_run_and_starts_pending_and_ungated(
    store: Store,
) -> None:
    run = store.create_run("training")

    record, created = _log(store, run_id=run.id, description="first try", actor="alice")

    assert created
    assert record.bundle_digest == _digest("b1/model.yaml")
    assert record.files == _files("b1")  # sorted by name
    assert record.file("model.skops").size == 4096
    assert (record.flavor, record.format) == ("sklearn", "skops")
    assert record.trusted_types == TRUSTED
    assert record.signature == SIGNATURE
    assert (record.run_id, record.dataset) == (run.id, None)
    assert (record.status, record.approval, record.blessed, record.verdict) == (
        "ready",
        "pending",
        None,
        None,
    )
    assert (record.approval_by, record.approval_at, record.approval_reason) == (None, None, None)
    assert (record.description, record.created_by) == ("first try", "alice")
    assert record.created_at > 0
    assert (record.deleted_at, record.deleted_by, record.aliases, record.tags) == (
        None,
        None,
        [],
        {},
    )
    assert store.get_model_version("fraud", 1) == record
    assert store.find_model_version(record.bundle_digest) == [("fraud", 1)]


def test_a_version_is_linked_to_the_dataset_version_it_was_trained_on(store: Store) -> None:
    store.create_dataset_version(
        "tx",
        content_id=_digest("tx-content"),
        row_count=3,
        columns=[("amount", "float64")],
        roles={"amount": "feature"},
        source={"kind": "arrow"},
        files=[DatasetFile(0, _digest("tx-part-0"), 10, 3)],
    )

    record, created = _log(store, dataset=("tx", 1))

    assert (record.dataset, created) == (("tx", 1), True)
    assert store.get_model_version("fraud", 1).dataset == ("tx", 1)
    assert store.list_model_versions("fraud")[0].dataset == ("tx", 1)


def test_logging_the_same_bundle_again_returns_the_existing_version(store: Store) -> None:
    first, _ = _log(store, bundle="b1")
    _logged(store, bundle="b2")

    again, created = _log(store, bundle="b1", description="ignored")

    assert (again, created) == (first, False)
    assert [v.version for v in store.list_model_versions("fraud")] == [2, 1]
    assert _kinds(store) == ["version_created", "version_created"]


def test_creating_a_version_is_recorded_in_the_history(store: Store) -> None:
    run = store.create_run("training")
    record, _ = _log(store, run_id=run.id, actor="alice")

    (event,) = store.model_history("fraud")

    assert (event.model, event.version, event.kind, event.actor) == (
        "fraud",
        1,
        "version_created",
        "alice",
    )
    assert event.payload == {"bundle": record.bundle_digest, "flavor": "sklearn", "run": run.id}
    assert event.at == record.created_at


def test_a_version_linked_to_an_unknown_run_is_not_found_and_nothing_is_stored(
    store: Store,
) -> None:
    with pytest.raises(NotFoundError, match="no run"):
        _log(store, run_id="f" * 32)
    assert store.list_models() == []


def test_a_run_given_by_a_prefix_is_recorded_by_its_full_id(store: Store) -> None:
    run = store.create_run("training")

    record, _ = _log(store, run_id=run.id[:8])

    assert record.run_id == run.id
    assert _last(store, "version_created").payload["run"] == run.id


def test_a_bundle_listing_one_file_name_twice_is_an_invalid_input(store: Store) -> None:
    files = [*_files("b1"), ModelFile("model.skops", _digest("other"), 1)]

    with pytest.raises(InvalidInputError, match=r"model\.skops"):
        _log(store, files=files)
    assert store.list_models() == []


# -- names ----------------------------------------------------------------------------------------
BAD_NAMES = ["fraud/eu", "../fraud", "fraud..eu", "fraud model", "", "a" * 129, "-fraud"]


def test_a_bad_model_name_is_refused_with_the_fix_and_nothing_is_stored(store: Store) -> None:
    # One test for every name: each PostgreSQL test costs a fresh database.
    for name in BAD_NAMES:
        with pytest.raises(
            InvalidInputError, match=r"is not allowed: use 1 to 128 letters"
        ) as info:
            _log(store, name=name)
        assert "e.g. 'fraud'" in str(info.value), name
        with pytest.raises(InvalidInputError, match="not allowed"):
            store.get_model_version(name, 1)
        with pytest.raises(InvalidInputError, match="not allowed"):
            store.set_model_alias(name, "champion", 1)
        with pytest.raises(InvalidInputError, match="not allowed"):
            store.model_history(name)
    assert store.list_models() == []


def test_a_model_name_of_128_characters_with_dots_dashes_and_underscores_is_accepted(
    store: Store,
) -> None:
    for name in ("a" * 128, "fraud-detector.eu_2", "7up"):
        assert _logged(store, name=name) == 1
    assert len(store.list_models()) == 3


BAD_ALIASES = {
    "Champion": "is not allowed: use 1 to 64 lower-case",
    "latest": "is reserved",
    "v3": "is reserved",
    "V3": "is not allowed",
    "": "is not allowed",
    "champion eu": "is not allowed",
    "c" * 65: "is not allowed",
}


def test_a_bad_or_reserved_alias_is_refused(store: Store) -> None:
    _logged(store)

    for alias, message in BAD_ALIASES.items():
        with pytest.raises(InvalidInputError, match=message):
            store.set_model_alias("fraud", alias, 1)
        with pytest.raises(InvalidInputError, match=message):
            store.resolve_alias("fraud", alias)
        with pytest.raises(InvalidInputError, match=message):
            store.remove_model_alias("fraud", alias)

    assert store.get_registered_model("fraud").aliases == {}
    assert _kinds(store) == ["version_created"]


def test_a_version_that_is_not_a_positive_integer_is_refused(store: Store) -> None:
    _logged(store)

    bad: list[Any] = [0, -1, "x", "1", 1.0, True, None]
    for version in bad:
        with pytest.raises(InvalidInputError, match="a model version is a positive integer"):
            store.get_model_version("fraud", version)
        with pytest.raises(InvalidInputError, match="positive integer"):
            store.set_model_alias("fraud", "champion", version)
        with pytest.raises(InvalidInputError, match="positive integer"):
            store.set_model_approval("fraud", version, "approved", actor="a", reason=None)
        with pytest.raises(InvalidInputError, match="positive integer"):
            store.record_model_verdict("fraud", version, True, {})
        with pytest.raises(InvalidInputError, match="positive integer"):
            store.delete_model_version("fraud", version)
    assert _kinds(store) == ["version_created"]


# -- getting and listing --------------------------------------------------------------------------
def test_getting_a_missing_model_or_version_is_not_found_naming_the_model(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no registered model 'fraud'"):
        store.get_model_version("fraud", 1)
    with pytest.raises(NotFoundError, match="no registered model 'fraud'"):
        store.list_model_versions("fraud")
    with pytest.raises(NotFoundError, match="no registered model 'fraud'"):
        store.get_registered_model("fraud")
    with pytest.raises(NotFoundError, match="no registered model 'fraud'"):
        store.model_history("fraud")
    _logged(store)

    with pytest.raises(NotFoundError, match="model 'fraud' has no version 2"):
        store.get_model_version("fraud", 2)


def test_models_are_listed_with_their_latest_version_aliases_and_model_tags(
    store: Store,
) -> None:
    _versions(store, 3)
    _versions(store, 1, name="churn")
    store.set_model_alias("fraud", "champion", 2)
    store.set_model_alias("fraud", "challenger", 3)
    store.set_model_tags("fraud", None, {"team": "risk"})
    store.set_model_tags("fraud", 3, {"candidate": "yes"})  # a version tag: not the model's

    churn, fraud = store.list_models()

    assert (churn.name, churn.latest_version, churn.aliases, churn.tags) == ("churn", 1, {}, {})
    assert (fraud.name, fraud.latest_version) == ("fraud", 3)
    assert fraud.aliases == {"challenger": 3, "champion": 2}
    assert fraud.tags == {"team": "risk"}
    assert fraud.updated_at >= fraud.created_at > 0
    assert store.get_registered_model("fraud") == fraud


def test_versions_are_listed_newest_first(store: Store) -> None:
    _versions(store, 3)
    store.set_model_alias("fraud", "champion", 2)

    listed = store.list_model_versions("fraud")

    assert [v.version for v in listed] == [3, 2, 1]
    assert [v.aliases for v in listed] == [[], ["champion"], []]
    assert listed[1] == store.get_model_version("fraud", 2)


# -- aliases --------------------------------------------------------------------------------------
def test_an_alias_is_set_resolved_and_moved(store: Store) -> None:
    _versions(store, 3)

    assert store.set_model_alias("fraud", "champion", 1, actor="alice", reason="first") == 1
    assert store.resolve_alias("fraud", "champion") == 1
    assert store.get_model_version("fraud", 1).aliases == ["champion"]

    assert store.set_model_alias("fraud", "champion", 2) == 2  # no expectation: just moves
    assert store.resolve_alias("fraud", "champion") == 2
    assert store.get_model_version("fraud", 1).aliases == []

    event = _last(store, "alias_set")
    assert (event.version, event.alias) == (2, "champion")
    assert event.payload == {"from": 1, "expected": None, "now": 2}


def test_resolving_an_unknown_alias_is_not_found_and_says_how_to_set_it(store: Store) -> None:
    _logged(store)
    with pytest.raises(NotFoundError, match=r"no alias 'champion'.*loopml models alias fraud"):
        store.resolve_alias("fraud", "champion")


def test_creating_an_alias_that_exists_with_expected_0_is_a_conflict(store: Store) -> None:
    _versions(store, 2)
    assert store.set_model_alias("fraud", "champion", 1, expected=0) == 1

    with pytest.raises(ConflictError, match=r"fraud@champion points at version 1.*not to exist"):
        store.set_model_alias("fraud", "champion", 2, expected=0)

    assert store.resolve_alias("fraud", "champion") == 1


def test_a_move_with_the_right_expectation_wins_and_a_stale_one_is_a_conflict(
    store: Store,
) -> None:
    _versions(store, 3)
    store.set_model_alias("fraud", "champion", 1, expected=0)

    assert store.set_model_alias("fraud", "champion", 2, expected=1, actor="alice") == 2
    with pytest.raises(ConflictError) as info:
        store.set_model_alias("fraud", "champion", 3, expected=1, actor="bob", reason="promote")

    message = str(info.value)
    assert "fraud@champion points at version 2" in message
    assert "expected it at version 1" in message
    assert "loopml models show fraud" in message
    assert store.resolve_alias("fraud", "champion") == 2

    history = store.model_history("fraud")
    assert [e.kind for e in history] == ["version_created"] * 3 + [
        "alias_set",
        "alias_set",
        "alias_set_rejected",
    ]
    won, lost = history[-2:]
    assert (won.version, won.alias, won.actor) == (2, "champion", "alice")
    assert won.payload == {"from": 1, "expected": 1, "now": 2}
    assert (lost.version, lost.alias, lost.actor, lost.reason) == (3, "champion", "bob", "promote")
    assert lost.payload == {"from": 2, "expected": 1, "now": 2}


def test_expecting_an_alias_that_does_not_exist_is_a_conflict(store: Store) -> None:
    _versions(store, 2)
    with pytest.raises(ConflictError, match=r"fraud@champion does not exist.*at version 1"):
        store.set_model_alias("fraud", "champion", 2, expected=1)
    assert _kinds(store)[-1] == "alias_set_rejected"
    with pytest.raises(NotFoundError):
        store.resolve_alias("fraud", "champion")


def test_a_malformed_expectation_is_an_invalid_input(store: Store) -> None:
    _logged(store)
    bad: list[Any] = [-1, "1", 1.5]
    for expected in bad:
        with pytest.raises(InvalidInputError, match="expected must be a version number or 0"):
            store.set_model_alias("fraud", "champion", 1, expected=expected)
    assert _kinds(store) == ["version_created"]


def test_an_alias_cannot_point_at_a_missing_version(store: Store) -> None:
    _logged(store)
    with pytest.raises(NotFoundError, match="model 'fraud' has no version 4"):
        store.set_model_alias("fraud", "champion", 4)
    with pytest.raises(NotFoundError, match="no registered model 'churn'"):
        store.set_model_alias("churn", "champion", 1)


def test_an_alias_is_removed_and_the_removal_is_in_the_history(store: Store) -> None:
    _versions(store, 2)
    store.set_model_alias("fraud", "champion", 2)

    store.remove_model_alias("fraud", "champion", actor="alice", reason="rollback")

    with pytest.raises(NotFoundError):
        store.resolve_alias("fraud", "champion")
    assert store.get_registered_model("fraud").aliases == {}
    event = _last(store, "alias_removed")
    assert (event.version, event.alias, event.actor, event.reason) == (
        2,
        "champion",
        "alice",
        "rollback",
    )
    with pytest.raises(NotFoundError, match="has no alias 'champion'"):
        store.remove_model_alias("fraud", "champion")
    # Created again after the removal, it starts over.
    assert store.set_model_alias("fraud", "champion", 1, expected=0) == 1


def test_an_alias_cannot_point_at_a_deleted_version(store: Store) -> None:
    _versions(store, 2)
    store.delete_model_version("fraud", 2)

    with pytest.raises(InvalidInputError, match="version 2 was deleted"):
        store.set_model_alias("fraud", "champion", 2)

    assert store.get_registered_model("fraud").aliases == {}
    assert _kinds(store)[-1] == "deleted"


# -- the race: two processes move one alias at once -----------------------------------------------
RACE_ROUNDS = 5
RACE_TARGETS = (2, 3)
RACE_TIMEOUT_S = 60.0


def _round_expectation(round_: int) -> int:
    """Even rounds create the alias (expected=0), odd rounds move it from version 1."""
    return 0 if round_ % 2 == 0 else 1


def _race_worker(uri: str, target: int, barrier: Any, results: Any) -> None:
    """In its own process: one store, and in each round one compare-and-set of the alias."""
    store = open_store(uri)
    try:
        store.get_model_version("fraud", target)  # connected before the race starts
        for round_ in range(RACE_ROUNDS):
            barrier.wait(timeout=RACE_TIMEOUT_S)
            try:
                revision = store.set_model_alias(
                    "fraud", "champion", target, expected=_round_expectation(round_)
                )
            except ConflictError as exc:
                results.put((round_, target, "conflict", str(exc)))
            except Exception as exc:
                results.put((round_, target, "error", repr(exc)))
            else:
                results.put((round_, target, "won", revision))
    finally:
        store.close()


def test_two_processes_setting_an_alias_at_once_one_wins_and_the_other_gets_a_conflict(
    store: Store, store_uri: str
) -> None:
    _versions(store, 3)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(1 + len(RACE_TARGETS))
    results = context.Queue()
    workers = [
        context.Process(target=_race_worker, args=(store_uri, target, barrier, results))
        for target in RACE_TARGETS
    ]
    for worker in workers:
        worker.start()
    try:
        for round_ in range(RACE_ROUNDS):
            expected = _round_expectation(round_)
            if expected == 0:
                if store.get_registered_model("fraud").aliases:
                    store.remove_model_alias("fraud", "champion")
            else:
                store.set_model_alias("fraud", "champion", 1)
            before = store.model_history("fraud")[-1].id

            barrier.wait(timeout=RACE_TIMEOUT_S)
            outcomes = [results.get(timeout=RACE_TIMEOUT_S) for _ in RACE_TARGETS]

            assert {o[0] for o in outcomes} == {round_}
            assert sorted(o[2] for o in outcomes) == ["conflict", "won"], outcomes
            ((_, winner, _, revision),) = [o for o in outcomes if o[2] == "won"]
            ((_, loser, _, message),) = [o for o in outcomes if o[2] == "conflict"]
            assert store.resolve_alias("fraud", "champion") == winner
            # Created: revision 1. Moved: created (1), put back at 1 (2), moved by the winner (3).
            assert revision == (1 if expected == 0 else 3)
            assert f"fraud@champion points at version {winner}" in message
            wanted = "not to exist yet" if expected == 0 else "at version 1"
            assert f"expected it {wanted}" in message

            this_round = [e for e in store.model_history("fraud") if e.id > before]
            assert sorted(e.kind for e in this_round) == ["alias_set", "alias_set_rejected"]
            by_kind = {e.kind: e for e in this_round}
            assert by_kind["alias_set"].version == winner
            assert by_kind["alias_set_rejected"].version == loser
            assert {e.alias for e in this_round} == {"champion"}
            assert {e.payload["expected"] for e in this_round} == {expected}
            assert by_kind["alias_set_rejected"].payload["now"] == winner
    finally:
        for worker in workers:
            worker.join(timeout=RACE_TIMEOUT_S)
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()
        results.close()
        results.join_thread()
    assert [w.exitcode for w in workers] == [0, 0]


# -- approvals, verdicts, tags, descriptions ------------------------------------------------------
def test_a_version_is_approved_and_rejected_with_actor_and_reason(store: Store) -> None:
    _versions(store, 2)

    approved = store.set_model_approval("fraud", 1, "approved", actor="alice", reason="AUC 0.93")
    rejected = store.set_model_approval("fraud", 2, "rejected", actor="bob", reason="drifted")

    assert (approved.approval, approved.approval_by, approved.approval_reason) == (
        "approved",
        "alice",
        "AUC 0.93",
    )
    assert approved.approval_at is not None and approved.approval_at >= approved.created_at
    assert (rejected.approval, rejected.approval_by, rejected.approval_reason) == (
        "rejected",
        "bob",
        "drifted",
    )
    assert store.get_model_version("fraud", 1) == approved
    assert store.get_model_version("fraud", 2) == rejected

    events = store.model_history("fraud")[2:]
    assert [(e.kind, e.version, e.actor, e.reason) for e in events] == [
        ("approved", 1, "alice", "AUC 0.93"),
        ("rejected", 2, "bob", "drifted"),
    ]
    assert events[0].payload == {"from": "pending"}

    back = store.set_model_approval("fraud", 1, "pending", actor="carol", reason="re-review")
    assert back.approval == "pending"
    assert _last(store, "pending").payload == {"from": "approved"}


def test_an_unknown_approval_state_is_refused(store: Store) -> None:
    _logged(store)
    for state in ("blessed", "APPROVED", "", "ready"):
        with pytest.raises(InvalidInputError, match="is not one of pending, approved, rejected"):
            store.set_model_approval("fraud", 1, state, actor="alice", reason=None)
    assert store.get_model_version("fraud", 1).approval == "pending"
    assert _kinds(store) == ["version_created"]


def test_a_gate_verdict_is_stored_with_its_details_and_recorded(store: Store) -> None:
    _versions(store, 2)
    passed = {"checks": [{"metric": "auc", "value": 0.93, "min": 0.9, "ok": True}]}
    failed = {"checks": [{"metric": "auc", "value": 0.81, "min": 0.9, "ok": False}]}

    store.record_model_verdict("fraud", 1, True, passed, actor="gate")
    store.record_model_verdict("fraud", 2, False, failed)

    one, two = store.get_model_version("fraud", 1), store.get_model_version("fraud", 2)
    assert (one.blessed, one.verdict) == (True, passed)
    assert (two.blessed, two.verdict) == (False, failed)
    verdicts = [e for e in store.model_history("fraud") if e.kind == "gate_verdict"]
    assert [(e.version, e.actor) for e in verdicts] == [(1, "gate"), (2, None)]
    assert verdicts[0].payload == {"blessed": True, **passed}
    assert verdicts[1].payload == {"blessed": False, **failed}

    store.record_model_verdict("fraud", 2, True, passed)  # the latest verdict is kept
    again = store.get_model_version("fraud", 2)
    assert (again.blessed, again.verdict) == (True, passed)


def test_tags_are_set_on_a_version_and_on_the_registered_model(store: Store) -> None:
    _versions(store, 2)

    store.set_model_tags("fraud", 1, {"stage": "shadow", "owner": "alice"}, actor="alice")
    store.set_model_tags("fraud", 1, {"stage": "live"})  # overwrites one key, keeps the other
    store.set_model_tags("fraud", None, {"team": "risk"})

    assert store.get_model_version("fraud", 1).tags == {"stage": "live", "owner": "alice"}
    assert store.get_model_version("fraud", 2).tags == {}
    assert store.get_registered_model("fraud").tags == {"team": "risk"}
    events = [e for e in store.model_history("fraud") if e.kind == "tag_set"]
    assert [(e.version, e.payload, e.actor) for e in events] == [
        (1, {"stage": "shadow", "owner": "alice"}, "alice"),
        (1, {"stage": "live"}, None),
        (None, {"team": "risk"}, None),
    ]
    with pytest.raises(NotFoundError, match="has no version 3"):
        store.set_model_tags("fraud", 3, {"stage": "live"})


def test_descriptions_are_set_on_a_version_and_on_the_registered_model(store: Store) -> None:
    _versions(store, 2)

    store.set_model_description("fraud", 2, "retrained on December data", actor="alice")
    store.set_model_description("fraud", None, "Card fraud scores")

    assert store.get_model_version("fraud", 2).description == "retrained on December data"
    assert store.get_model_version("fraud", 1).description is None
    assert store.get_registered_model("fraud").description == "Card fraud scores"
    events = [e for e in store.model_history("fraud") if e.kind == "description_set"]
    assert [(e.version, e.payload, e.actor) for e in events] == [
        (2, {"description": "retrained on December data"}, "alice"),
        (None, {"description": "Card fraud scores"}, None),
    ]
    with pytest.raises(NotFoundError, match="has no version 3"):
        store.set_model_description("fraud", 3, "nope")


# -- deletion -------------------------------------------------------------------------------------
def test_deleting_a_version_an_alias_points_at_is_refused_naming_the_alias(store: Store) -> None:
    _versions(store, 2)
    store.set_model_alias("fraud", "champion", 2)
    store.set_model_alias("fraud", "canary-eu", 2)

    with pytest.raises(ConflictError, match=r"@canary-eu, @champion.*--drop-aliases"):
        store.delete_model_version("fraud", 2)

    kept = store.get_model_version("fraud", 2)
    assert (kept.status, kept.deleted_at, kept.aliases) == (
        "ready",
        None,
        ["canary-eu", "champion"],
    )
    assert "deleted" not in _kinds(store)


def test_deleting_with_drop_aliases_removes_them_and_keeps_the_version_listed(
    store: Store,
) -> None:
    _versions(store, 3)
    store.set_model_alias("fraud", "champion", 3)

    store.delete_model_version("fraud", 3, actor="alice", reason="leaks labels", drop_aliases=True)

    with pytest.raises(NotFoundError, match="no alias 'champion'"):
        store.resolve_alias("fraud", "champion")
    gone = store.get_model_version("fraud", 3)
    assert (gone.status, gone.deleted_by, gone.aliases) == ("deleted", "alice", [])
    assert gone.deleted_at is not None and gone.deleted_at >= gone.created_at
    assert [(v.version, v.status) for v in store.list_model_versions("fraud")] == [
        (3, "deleted"),
        (2, "ready"),
        (1, "ready"),
    ]
    model = store.get_registered_model("fraud")
    assert (model.latest_version, model.aliases) == (2, {})

    removed, deleted = store.model_history("fraud")[-2:]
    assert (removed.kind, removed.version, removed.alias, removed.actor) == (
        "alias_removed",
        3,
        "champion",
        "alice",
    )
    assert removed.reason == "version 3 deleted"
    assert (deleted.kind, deleted.version, deleted.actor, deleted.reason) == (
        "deleted",
        3,
        "alice",
        "leaks labels",
    )
    assert _logged(store, bundle="fraud-b4") == 4  # numbers are never reused


def test_deleting_a_missing_version_is_not_found(store: Store) -> None:
    _logged(store)
    with pytest.raises(NotFoundError, match="model 'fraud' has no version 2"):
        store.delete_model_version("fraud", 2)


# -- the history is append-only -------------------------------------------------------------------
def _event_rows(uri: str) -> list[tuple[Any, ...]]:
    with connected(uri) as connection:
        return [
            tuple(row)
            for row in connection.execute(select(model_events).order_by(model_events.c.pk))
        ]


@pytest.mark.parametrize(
    "statement", ["UPDATE model_events SET kind = 'x'", "DELETE FROM model_events"]
)
def test_the_history_cannot_be_changed_or_deleted_through_sql(
    store: Store, store_uri: str, statement: str
) -> None:
    _versions(store, 2)
    store.set_model_alias("fraud", "champion", 1)
    before = _event_rows(store_uri)
    assert len(before) == 3

    expected_error = IntegrityError if store_uri.startswith("sqlite") else DBAPIError
    with pytest.raises(expected_error, match="model_events is append-only"):
        execute(store_uri, text(statement))

    assert _event_rows(store_uri) == before
    assert _kinds(store) == ["version_created", "version_created", "alias_set"]


# -- gc -------------------------------------------------------------------------------------------
def test_the_bundle_and_every_file_of_a_version_are_kept_by_gc(store: Store) -> None:
    _versions(store, 2)
    store.delete_model_version("fraud", 2)  # a deleted version's row stays, so do its blobs

    referenced = store.referenced_digests()

    for version in (1, 2):
        record = store.get_model_version("fraud", version)
        assert record.bundle_digest in referenced
        assert {f.digest for f in record.files} <= referenced
    assert len(referenced) == 6  # the bundle digest is also the model.yaml file's


# -- upgrades from revision 0005 ------------------------------------------------------------------
OLD_RUN_ID = "0123456789abcdef" * 2


def _database_at_0005_with_a_run(uri: str) -> None:
    with database_at(uri, "0005") as connection:
        insert_old_run(connection, OLD_RUN_ID, "training")


def _check_upgraded(store: Store, uri: str) -> None:
    assert store.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
    old = store.get_run(OLD_RUN_ID)
    assert (old.name, old.status, old.start_time, old.end_time) == ("old", "finished", 600, 700)

    record, created = _log(store, run_id=OLD_RUN_ID)
    assert (record.version, record.run_id, created) == (1, OLD_RUN_ID, True)
    assert store.set_model_alias("fraud", "champion", 1, expected=0) == 1
    assert store.resolve_alias("fraud", "champion") == 1
    assert _kinds(store) == ["version_created", "alias_set"]

    # The migration's triggers (not the dumped head schema) guard the history.
    with pytest.raises(DBAPIError, match="append-only"):
        execute(uri, text("DELETE FROM model_events"))
    assert len(store.model_history("fraud")) == 2


def test_a_sqlite_store_at_revision_0005_upgrades_on_open_and_the_registry_works(
    tmp_path: Path,
) -> None:
    upgrades_on_open(tmp_path, _database_at_0005_with_a_run, _check_upgraded)


@pytest.mark.postgres
def test_a_postgresql_store_at_revision_0005_upgrades_on_request_and_the_registry_works(
    pg_uri: str,
) -> None:
    upgrades_on_request(pg_uri, "0005", _database_at_0005_with_a_run, _check_upgraded)
