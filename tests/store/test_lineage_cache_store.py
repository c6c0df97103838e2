"""The store's pipeline lineage and step cache: edges, walks both ways, the cache, upgrades."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from loopml import ConflictError, InvalidInputError, NotFoundError, StoreError
from loopml.store import (
    CacheEntry,
    DatasetFile,
    DatasetVersionRecord,
    LineageEdge,
    RunEdge,
    Store,
    _migrate,
    open_store,
)
from loopml.store._tables import artifacts, dataset_versions, lineage, runs, schemas, step_cache
from tests.store._helpers import (
    FILE_DIGEST,
    connected,
    database_at,
    execute,
    in_threads,
    insert_old_dataset_version,
    insert_old_run,
    numbered_digest,
    register,
    upgrades_on_open,
    upgrades_on_request,
)

BLOB_X = "sha256:" + "a" * 64
BLOB_Y = "sha256:" + "b" * 64
BLOB_Z = "sha256:" + "c" * 64
KEY_A = "sha256:" + "1" * 64
KEY_B = "sha256:" + "2" * 64
KEY_C = "sha256:" + "3" * 64


def _blob_edge(direction: str, name: str, digest: str, content: int, **changes: Any) -> LineageEdge:
    edge = LineageEdge(
        direction=direction,
        name=name,
        content_hash=numbered_digest(content),
        digest=digest,
        dataset=None,
        type="pandas.DataFrame",
        materializer="pandas",
        size=123,
    )
    return dataclasses.replace(edge, **changes)


def _dataset_edge(direction: str, name: str, version: DatasetVersionRecord) -> LineageEdge:
    return LineageEdge(
        direction=direction,
        name=name,
        content_hash=version.content_id,
        digest=None,
        dataset=(version.name, version.version),
        type="loopml.data.DatasetVersion",
        materializer="dataset",
        size=None,
    )


# -- edges ----------------------------------------------------------------------------------------
def test_the_edges_of_a_run_come_back_inputs_first_then_outputs_each_by_name(
    store: Store,
) -> None:
    run = store.create_run("pipe", name="train")
    edges = [
        _blob_edge("out", "model", BLOB_Z, 3, type="sklearn.Pipeline", materializer="pickle"),
        _blob_edge("in", "features", BLOB_X, 1),
        _blob_edge("out", "Metrics", BLOB_Y, 2, type="dict", materializer="json", size=None),
        _blob_edge("in", "B_labels", BLOB_Y, 4),
        _blob_edge("in", "a_labels", BLOB_Y, 5),
    ]

    store.add_lineage(run.id, edges)

    got = store.lineage_of_run(run.id)
    assert all(isinstance(e, LineageEdge) for e in got)
    # By code point on every backend (PostgreSQL's collation would put "a_labels" first).
    assert [(e.direction, e.name) for e in got] == [
        ("in", "B_labels"),
        ("in", "a_labels"),
        ("in", "features"),
        ("out", "Metrics"),
        ("out", "model"),
    ]
    assert set(got) == set(edges)


def test_a_run_without_edges_has_an_empty_lineage_and_adding_no_edges_is_a_no_op(
    store: Store,
) -> None:
    run = store.create_run("pipe")
    store.add_lineage(run.id, [])
    assert store.lineage_of_run(run.id) == []


def test_the_lineage_of_each_run_is_its_own(store: Store) -> None:
    first = store.create_run("pipe")
    second = store.create_run("pipe")
    store.add_lineage(first.id, [_blob_edge("out", "x", BLOB_X, 1)])
    store.add_lineage(second.id, [_blob_edge("in", "x", BLOB_X, 1)])

    assert [e.direction for e in store.lineage_of_run(first.id)] == ["out"]
    assert [e.direction for e in store.lineage_of_run(second.id)] == ["in"]


def test_lineage_of_a_run_that_does_not_exist_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no run with id"):
        store.add_lineage("ab" * 16, [_blob_edge("in", "x", BLOB_X, 1)])
    with pytest.raises(NotFoundError, match="no run with id"):
        store.lineage_of_run("ab" * 16)


def test_a_dataset_reference_is_stored_as_that_dataset_version(store: Store) -> None:
    register(store, "tx", 1)
    second = register(store, "tx", 2)
    run = store.create_run("pipe")

    store.add_lineage(run.id, [_dataset_edge("in", "data", second)])

    (edge,) = store.lineage_of_run(run.id)
    assert edge.dataset == ("tx", 2)
    assert edge.digest is None
    assert edge.content_hash == second.content_id


def test_a_dataset_given_as_a_list_comes_back_as_a_tuple(store: Store) -> None:
    version = register(store, "tx", 1)
    run = store.create_run("pipe")

    edge = dataclasses.replace(_dataset_edge("in", "data", version), dataset=["tx", 1])
    store.add_lineage(run.id, [edge])

    assert store.lineage_of_run(run.id)[0].dataset == ("tx", 1)


def test_an_edge_may_hold_both_a_blob_and_a_dataset_version(store: Store) -> None:
    version = register(store, "tx", 1)
    run = store.create_run("pipe")
    edge = dataclasses.replace(_dataset_edge("out", "table", version), digest=BLOB_X, size=99)

    store.add_lineage(run.id, [edge])

    assert store.lineage_of_run(run.id) == [edge]


def test_a_dataset_reference_to_a_missing_version_is_not_found_and_nothing_is_stored(
    store: Store,
) -> None:
    first = register(store, "tx", 1)
    register(store, "tx", 2)
    run = store.create_run("pipe")
    good = _blob_edge("out", "model", BLOB_X, 1)
    missing_version = dataclasses.replace(_dataset_edge("in", "data", first), dataset=("tx", 7))
    missing_dataset = dataclasses.replace(_dataset_edge("in", "data", first), dataset=("nope", 1))

    with pytest.raises(NotFoundError, match=r"'tx' has no version 7; it has versions 1 to 2"):
        store.add_lineage(run.id, [good, missing_version])
    with pytest.raises(NotFoundError, match="dataset 'nope' does not exist"):
        store.add_lineage(run.id, [good, missing_dataset])

    assert store.lineage_of_run(run.id) == []  # one transaction: the good edge is not kept


def test_a_dataset_reference_whose_content_hash_is_not_the_versions_content_id_is_invalid(
    store: Store,
) -> None:
    version = register(store, "tx", 1)
    run = store.create_run("pipe")
    wrong = dataclasses.replace(
        _dataset_edge("in", "data", version), content_hash=numbered_digest(9)
    )

    with pytest.raises(InvalidInputError, match="content id"):
        store.add_lineage(run.id, [wrong])
    assert store.lineage_of_run(run.id) == []


def test_re_adding_an_edge_while_the_run_is_running_replaces_it(store: Store) -> None:
    run = store.create_run("pipe")
    store.add_lineage(run.id, [_blob_edge("out", "model", BLOB_X, 1)])
    retried = _blob_edge("out", "model", BLOB_Y, 2, size=456)

    store.add_lineage(run.id, [retried, _blob_edge("out", "extra", BLOB_Z, 3)])

    assert [(e.name, e.digest, e.size) for e in store.lineage_of_run(run.id)] == [
        ("extra", BLOB_Z, 123),
        ("model", BLOB_Y, 456),
    ]
    assert store.runs_touching(digest=BLOB_X) == []  # the replaced edge is gone


def test_re_adding_the_same_edge_keeps_the_stored_row_as_it_was(store: Store) -> None:
    run = store.create_run("pipe")
    edge = _blob_edge("out", "model", BLOB_X, 1)
    store.add_lineage(run.id, [edge])
    (before,) = store.runs_touching(digest=BLOB_X)
    time.sleep(0.005)

    store.add_lineage(run.id, [edge])

    (after,) = store.runs_touching(digest=BLOB_X)
    assert after == before  # same created_at: nothing was rewritten


def test_an_ended_run_keeps_its_edges_adds_new_ones_and_refuses_to_change_them(
    store: Store,
) -> None:
    run = store.create_run("pipe")
    edge = _blob_edge("out", "model", BLOB_X, 1)
    store.add_lineage(run.id, [edge])
    store.end_run(run.id, "finished")

    store.add_lineage(run.id, [edge])  # the same again: a no-op
    store.add_lineage(run.id, [_blob_edge("out", "report", BLOB_Z, 3)])  # a new name: added
    with pytest.raises(ConflictError, match=r"is finished .* 'model' .* cannot change"):
        store.add_lineage(run.id, [_blob_edge("out", "model", BLOB_Y, 2)])
    with pytest.raises(ConflictError, match="cannot change"):
        store.add_lineage(run.id, [dataclasses.replace(edge, size=1)])

    assert [(e.name, e.digest) for e in store.lineage_of_run(run.id)] == [
        ("model", BLOB_X),
        ("report", BLOB_Z),
    ]


def test_an_input_and_an_output_may_share_a_name_but_one_call_may_not_repeat_one(
    store: Store,
) -> None:
    run = store.create_run("pipe")
    store.add_lineage(
        run.id, [_blob_edge("in", "data", BLOB_X, 1), _blob_edge("out", "data", BLOB_Y, 2)]
    )
    assert len(store.lineage_of_run(run.id)) == 2

    other = store.create_run("pipe")
    with pytest.raises(InvalidInputError, match="'data' is given twice"):
        store.add_lineage(
            other.id, [_blob_edge("in", "data", BLOB_X, 1), _blob_edge("in", "data", BLOB_Y, 2)]
        )
    assert store.lineage_of_run(other.id) == []


_BAD_EDGES: dict[str, tuple[dict[str, Any], str]] = {
    "direction": ({"direction": "both"}, "lineage direction 'both' is not allowed"),
    "direction upper": ({"direction": "IN"}, "lineage direction 'IN'"),
    "empty name": ({"name": ""}, "lineage edge name '' is not allowed"),
    "blank name": ({"name": "  "}, "lineage edge name"),
    "long name": ({"name": "n" * 257}, "at most 256 characters"),
    "content hash": ({"content_hash": "sha256:abc"}, "not a sha256 hash"),
    "no content hash": ({"content_hash": None}, "not a sha256 hash"),
    "digest": ({"digest": "md5:" + "a" * 32}, "not a blob digest"),
    "nothing": ({"digest": None}, "points at nothing"),
    "dataset shape": ({"dataset": ("tx",)}, "is not a dataset version"),
    "dataset string": ({"dataset": "tx:1"}, "is not a dataset version"),
    "dataset name": ({"dataset": ("", 1)}, "dataset name '' is not allowed"),
    "dataset version": ({"dataset": ("tx", 0)}, "positive integer"),
    "dataset version bool": ({"dataset": ("tx", True)}, "positive integer"),
    "type": ({"type": ""}, "type of out 'model': '' is not allowed"),
    "materializer": ({"materializer": "m" * 65}, "at most 64 characters"),
    "size": ({"size": -1}, "non-negative integer"),
    "size bool": ({"size": True}, "non-negative integer"),
    "size float": ({"size": 1.5}, "non-negative integer"),
}


@pytest.mark.parametrize("bad", list(_BAD_EDGES), ids=list(_BAD_EDGES))
def test_a_malformed_edge_is_an_invalid_input_and_nothing_is_stored(store: Store, bad: str) -> None:
    register(store, "tx", 1)
    run = store.create_run("pipe")
    changes, message = _BAD_EDGES[bad]
    edge = dataclasses.replace(_blob_edge("out", "model", BLOB_X, 1), **changes)

    with pytest.raises(InvalidInputError, match=message):
        store.add_lineage(run.id, [_blob_edge("in", "fine", BLOB_Y, 2), edge])

    assert store.lineage_of_run(run.id) == []


def test_edge_limits_of_256_and_64_characters_are_accepted(store: Store) -> None:
    run = store.create_run("pipe")
    edge = _blob_edge("out", "n" * 256, BLOB_X, 1, type="t" * 256, materializer="m" * 64)

    store.add_lineage(run.id, [edge])

    assert store.lineage_of_run(run.id) == [edge]


@pytest.mark.parametrize("bad", ["edges", None, 3])
def test_edges_that_are_not_a_list_of_lineage_edges_are_an_invalid_input(
    store: Store, bad: object
) -> None:
    run = store.create_run("pipe")
    with pytest.raises(InvalidInputError, match=r"list of loopml\.store\.LineageEdge"):
        store.add_lineage(run.id, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="LineageEdge records, not dict"):
        store.add_lineage(run.id, [{"direction": "in"}])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match=r"list of loopml\.store\.LineageEdge"):
        store.add_lineage(run.id, _blob_edge("in", "x", BLOB_X, 1))  # type: ignore[arg-type]


# -- walking lineage ------------------------------------------------------------------------------
def _two_step_pipeline(store: Store) -> tuple[str, str, str, DatasetVersionRecord]:
    """ingest (reads tx v1, writes X) -> train (reads X, writes Y); returns the run ids."""
    data = register(store, "tx", 1)
    pipeline = store.create_run("pipe", name="pipeline")
    ingest = store.create_run("pipe", name="ingest", parent_id=pipeline.id)
    store.add_lineage(
        ingest.id,
        [_dataset_edge("in", "raw", data), _blob_edge("out", "features", BLOB_X, 1)],
    )
    store.end_run(ingest.id, "finished")
    train = store.create_run("pipe", name="train", parent_id=pipeline.id)
    store.add_lineage(
        train.id,
        [_blob_edge("in", "features", BLOB_X, 1), _blob_edge("out", "model", BLOB_Y, 2)],
    )
    return pipeline.id, ingest.id, train.id, data


def test_runs_touching_an_object_finds_its_writer_and_its_readers_oldest_first(
    store: Store,
) -> None:
    _, ingest, train, _ = _two_step_pipeline(store)

    touching = store.runs_touching(numbered_digest(1))

    assert all(isinstance(t, RunEdge) for t in touching)
    assert [(t.run_id, t.edge.direction, t.edge.name) for t in touching] == [
        (ingest, "out", "features"),
        (train, "in", "features"),
    ]
    writer, reader = touching
    assert (writer.run_name, writer.experiment, writer.status) == ("ingest", "pipe", "finished")
    assert (reader.run_name, reader.status) == ("train", "running")
    assert writer.edge == _blob_edge("out", "features", BLOB_X, 1)
    assert writer.created_at <= reader.created_at
    assert abs(writer.created_at - time.time() * 1000) < 60_000  # epoch milliseconds


def test_runs_touching_can_keep_only_writers_or_only_readers(store: Store) -> None:
    _, ingest, train, _ = _two_step_pipeline(store)

    assert [t.run_id for t in store.runs_touching(numbered_digest(1), direction="out")] == [ingest]
    assert [t.run_id for t in store.runs_touching(numbered_digest(1), direction="in")] == [train]
    assert [t.run_id for t in store.runs_touching(digest=BLOB_Y, direction="out")] == [train]
    assert store.runs_touching(digest=BLOB_Y, direction="in") == []


def test_runs_touching_a_blob_digest_finds_the_edges_that_hold_it(store: Store) -> None:
    _, ingest, train, _ = _two_step_pipeline(store)

    assert [(t.run_id, t.edge.direction) for t in store.runs_touching(digest=BLOB_X)] == [
        (ingest, "out"),
        (train, "in"),
    ]
    assert store.runs_touching(digest=BLOB_Z) == []


def test_runs_touching_a_dataset_version_finds_the_runs_that_referenced_it(
    store: Store,
) -> None:
    _, ingest, _, data = _two_step_pipeline(store)
    register(store, "tx", 2)

    (found,) = store.runs_touching(dataset=("tx", 1))
    assert (found.run_id, found.edge.direction, found.edge.name) == (ingest, "in", "raw")
    assert found.edge.dataset == ("tx", 1)
    assert store.runs_touching(dataset=("tx", 2)) == []
    # The content hash of a dataset reference is the content id, so it finds the same edge.
    assert store.runs_touching(data.content_id) == [found]


def test_runs_touching_a_dataset_version_that_does_not_exist_is_not_found(store: Store) -> None:
    register(store, "tx", 1)
    with pytest.raises(NotFoundError, match="'tx' has no version 3; it has version 1"):
        store.runs_touching(dataset=("tx", 3))
    with pytest.raises(NotFoundError, match="dataset 'nope' does not exist"):
        store.runs_touching(dataset=("nope", 1))


def test_runs_touching_content_nobody_touched_is_empty(store: Store) -> None:
    _two_step_pipeline(store)
    assert store.runs_touching(numbered_digest(77)) == []


@pytest.mark.parametrize(
    "selectors",
    [
        {},
        {"content_hash": numbered_digest(1), "digest": BLOB_X},
        {"digest": BLOB_X, "dataset": ("tx", 1)},
        {"content_hash": numbered_digest(1), "digest": BLOB_X, "dataset": ("tx", 1)},
    ],
    ids=["none", "hash and digest", "digest and dataset", "all three"],
)
def test_runs_touching_needs_exactly_one_selector(store: Store, selectors: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="exactly one of content_hash, digest or dataset"):
        store.runs_touching(**selectors)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"content_hash": "sha256:xyz"}, "not a sha256 hash"),
        ({"digest": "abc"}, "not a blob digest"),
        ({"dataset": ("tx",)}, "not a dataset version"),
        ({"dataset": ("tx", -1)}, "positive integer"),
        ({"digest": BLOB_X, "direction": "sideways"}, "lineage direction 'sideways'"),
    ],
)
def test_runs_touching_with_a_malformed_selector_is_an_invalid_input(
    store: Store, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        store.runs_touching(**arguments)


# -- deletions ------------------------------------------------------------------------------------
def test_deleting_a_run_row_drops_its_edges_and_cache_entries(store: Store, store_uri: str) -> None:
    # No Store method deletes runs; this checks the ON DELETE CASCADE rules a deletion relies on.
    _, ingest, train, _ = _two_step_pipeline(store)
    store.put_cache_entry(KEY_A, "steps.ingest", ingest)
    store.put_cache_entry(KEY_B, "steps.train", train)

    execute(store_uri, delete(runs).where(runs.c.id == train))

    assert [t.run_id for t in store.runs_touching(digest=BLOB_X)] == [ingest]
    assert store.runs_touching(digest=BLOB_Y) == []
    assert store.get_cache_entry(KEY_B) is None
    assert [e.key for e in store.list_cache_entries()] == [KEY_A]
    assert len(store.lineage_of_run(ingest)) == 2
    with pytest.raises(NotFoundError, match="no run with id"):
        store.add_lineage(train, [_blob_edge("out", "late", BLOB_Z, 3)])
    fresh = open_store(store_uri)
    try:
        with pytest.raises(NotFoundError, match="no run with id"):
            fresh.lineage_of_run(train)
    finally:
        fresh.close()


def test_deleting_a_dataset_version_row_keeps_the_edge_without_its_dataset(
    store: Store, store_uri: str
) -> None:
    _, ingest, _, data = _two_step_pipeline(store)

    execute(store_uri, delete(dataset_versions).where(dataset_versions.c.version == 1))

    raw = next(e for e in store.lineage_of_run(ingest) if e.name == "raw")
    assert (raw.dataset, raw.digest, raw.content_hash) == (None, None, data.content_id)
    assert [t.run_id for t in store.runs_touching(data.content_id)] == [ingest]


# -- step cache -----------------------------------------------------------------------------------
def test_a_cache_entry_round_trips_and_an_unknown_key_is_none(store: Store) -> None:
    run = store.create_run("pipe")
    before = time.time() * 1000

    store.put_cache_entry(KEY_A, "steps.train", run.id)

    entry = store.get_cache_entry(KEY_A)
    assert isinstance(entry, CacheEntry)
    assert (entry.key, entry.step, entry.run_id) == (KEY_A, "steps.train", run.id)
    assert (entry.hits, entry.last_hit_at) == (0, None)
    assert before - 5_000 <= entry.created_at <= time.time() * 1000 + 5_000
    assert store.get_cache_entry(KEY_B) is None


def test_a_cache_entry_put_under_a_run_id_prefix_stores_the_full_id(store: Store) -> None:
    run = store.create_run("pipe")
    store.put_cache_entry(KEY_A, "steps.train", run.id[:12])
    entry = store.get_cache_entry(KEY_A)
    assert entry is not None and entry.run_id == run.id


def test_the_newest_execution_put_under_a_key_wins_and_restarts_the_hit_count(
    store: Store,
) -> None:
    old = store.create_run("pipe")
    new = store.create_run("pipe")
    store.put_cache_entry(KEY_A, "steps.train", old.id)
    store.record_cache_hit(KEY_A)
    first = store.get_cache_entry(KEY_A)
    time.sleep(0.005)

    store.put_cache_entry(KEY_A, "steps.train", new.id)

    entry = store.get_cache_entry(KEY_A)
    assert entry is not None and first is not None
    assert (entry.run_id, entry.hits, entry.last_hit_at) == (new.id, 0, None)
    assert entry.created_at > first.created_at
    assert len(store.list_cache_entries()) == 1


def test_putting_the_same_execution_again_keeps_the_entry_and_its_hits(store: Store) -> None:
    run = store.create_run("pipe")
    store.put_cache_entry(KEY_A, "steps.train", run.id)
    store.record_cache_hit(KEY_A)
    before = store.get_cache_entry(KEY_A)

    store.put_cache_entry(KEY_A, "steps.train", run.id)

    assert store.get_cache_entry(KEY_A) == before


def test_record_cache_hit_counts_uses_and_the_time_of_the_last(store: Store) -> None:
    run = store.create_run("pipe")
    store.put_cache_entry(KEY_A, "steps.train", run.id)

    store.record_cache_hit(KEY_A)
    first = store.get_cache_entry(KEY_A)
    time.sleep(0.005)
    store.record_cache_hit(KEY_A)
    second = store.get_cache_entry(KEY_A)

    assert first is not None and second is not None
    assert first.hits == 1 and second.hits == 2
    assert first.last_hit_at is not None and second.last_hit_at is not None
    assert second.last_hit_at > first.last_hit_at >= first.created_at


def test_a_hit_on_a_key_that_is_not_stored_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no cache entry with key"):
        store.record_cache_hit(KEY_A)


def test_concurrent_cache_hits_all_count(store: Store) -> None:
    run = store.create_run("pipe")
    store.put_cache_entry(KEY_A, "steps.train", run.id)

    def hit(_: int) -> None:
        for _ in range(25):
            store.record_cache_hit(KEY_A)

    in_threads(8, hit)

    entry = store.get_cache_entry(KEY_A)
    assert entry is not None and entry.hits == 200


def test_concurrent_puts_under_one_key_leave_one_entry_naming_one_of_them(store: Store) -> None:
    made = [store.create_run("pipe").id for _ in range(6)]

    in_threads(6, lambda i: store.put_cache_entry(KEY_A, "steps.train", made[i]))

    (entry,) = store.list_cache_entries()
    assert entry.run_id in made


def test_cache_entries_are_listed_newest_first_for_all_steps_or_one(store: Store) -> None:
    run = store.create_run("pipe")
    store.put_cache_entry(KEY_A, "steps.train", run.id)
    time.sleep(0.005)
    store.put_cache_entry(KEY_B, "steps.ingest", run.id)
    time.sleep(0.005)
    store.put_cache_entry(KEY_C, "steps.train", run.id)

    assert [e.key for e in store.list_cache_entries()] == [KEY_C, KEY_B, KEY_A]
    assert [e.key for e in store.list_cache_entries("steps.train")] == [KEY_C, KEY_A]
    assert store.list_cache_entries("steps.other") == []
    assert store.list_cache_entries()[0] == store.get_cache_entry(KEY_C)


def _three_entries(store: Store) -> None:
    run = store.create_run("pipe")
    store.put_cache_entry(KEY_A, "steps.train", run.id)
    store.put_cache_entry(KEY_B, "steps.ingest", run.id)
    store.put_cache_entry(KEY_C, "steps.train", run.id)


def test_deleting_the_cache_entries_of_a_step_leaves_the_others(store: Store) -> None:
    _three_entries(store)

    assert store.delete_cache_entries(step="steps.train") == 2
    assert store.delete_cache_entries(step="steps.train") == 0

    assert [e.key for e in store.list_cache_entries()] == [KEY_B]


def test_deleting_cache_entries_by_key_counts_only_those_that_existed(store: Store) -> None:
    _three_entries(store)

    assert store.delete_cache_entries(keys=[KEY_A, KEY_C, numbered_digest(99), KEY_A]) == 2

    assert [e.key for e in store.list_cache_entries()] == [KEY_B]


def test_deleting_by_step_and_keys_deletes_entries_matching_both(store: Store) -> None:
    _three_entries(store)

    assert store.delete_cache_entries(step="steps.train", keys=[KEY_A, KEY_B]) == 1

    assert sorted(e.key for e in store.list_cache_entries()) == [KEY_B, KEY_C]


def test_deleting_with_no_step_and_no_keys_clears_the_cache_but_no_keys_deletes_nothing(
    store: Store,
) -> None:
    _three_entries(store)

    assert store.delete_cache_entries(keys=[]) == 0
    assert len(store.list_cache_entries()) == 3
    assert store.delete_cache_entries() == 3
    assert store.list_cache_entries() == []
    assert store.delete_cache_entries() == 0


def test_deleting_more_keys_than_one_statement_takes_deletes_them_all(store: Store) -> None:
    run = store.create_run("pipe")
    keys = [numbered_digest(n) for n in range(1, 1_201)]
    for key in keys[::100]:
        store.put_cache_entry(key, "steps.train", run.id)

    assert store.delete_cache_entries(keys=keys) == 12
    assert store.list_cache_entries() == []


@pytest.mark.parametrize("bad", ["sha256:abc", "1" * 64, None, "SHA256:" + "1" * 64])
def test_a_cache_key_that_is_not_a_sha256_hash_is_an_invalid_input(store: Store, bad: Any) -> None:
    run = store.create_run("pipe")
    with pytest.raises(InvalidInputError, match=r"cache key .* is not a sha256 hash"):
        store.put_cache_entry(bad, "steps.train", run.id)
    with pytest.raises(InvalidInputError, match="cache key"):
        store.get_cache_entry(bad)
    with pytest.raises(InvalidInputError, match="cache key"):
        store.record_cache_hit(bad)
    with pytest.raises(InvalidInputError, match="cache key"):
        store.delete_cache_entries(keys=[bad])
    assert store.list_cache_entries() == []


@pytest.mark.parametrize("bad", ["", " ", "s" * 257, 5])
def test_a_step_name_that_is_empty_or_too_long_is_an_invalid_input(store: Store, bad: Any) -> None:
    run = store.create_run("pipe")
    with pytest.raises(InvalidInputError, match=r"step name .* at most 256 characters"):
        store.put_cache_entry(KEY_A, bad, run.id)
    with pytest.raises(InvalidInputError, match="step name"):
        store.list_cache_entries(bad)
    with pytest.raises(InvalidInputError, match="step name"):
        store.delete_cache_entries(step=bad)
    assert store.get_cache_entry(KEY_A) is None


def test_keys_given_as_one_string_are_an_invalid_input(store: Store) -> None:
    _three_entries(store)
    with pytest.raises(InvalidInputError, match="keys must be a list of cache keys"):
        store.delete_cache_entries(keys=KEY_A)
    assert len(store.list_cache_entries()) == 3


def test_a_cache_entry_for_a_run_that_does_not_exist_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no run with id"):
        store.put_cache_entry(KEY_A, "steps.train", "cd" * 16)
    assert store.get_cache_entry(KEY_A) is None


# -- housekeeping ---------------------------------------------------------------------------------
def test_gc_keeps_the_blobs_named_by_lineage_edges(store: Store) -> None:
    _, _, train, _ = _two_step_pipeline(store)
    store.add_lineage(train, [_blob_edge("out", "report", BLOB_Z, 3)])

    referenced = store.referenced_digests()

    assert {BLOB_X, BLOB_Y, BLOB_Z, FILE_DIGEST} <= referenced
    assert None not in referenced  # a dataset reference's edge names no blob


def test_a_closed_store_refuses_lineage_and_cache_calls(store_uri: str) -> None:
    opened = open_store(store_uri)
    run = opened.create_run("pipe")
    opened.close()

    calls: list[Callable[[], object]] = [
        lambda: opened.add_lineage(run.id, [_blob_edge("in", "x", BLOB_X, 1)]),
        lambda: opened.lineage_of_run(run.id),
        lambda: opened.runs_touching(digest=BLOB_X),
        lambda: opened.put_cache_entry(KEY_A, "steps.train", run.id),
        lambda: opened.get_cache_entry(KEY_A),
        lambda: opened.record_cache_hit(KEY_A),
        lambda: opened.list_cache_entries(),
        lambda: opened.delete_cache_entries(),
    ]
    for call in calls:
        with pytest.raises(StoreError, match="was closed"):
            call()


# -- upgrades from revision 0003 ------------------------------------------------------------------
OLD_RUN_ID = "0123456789abcdef" * 2


def _database_at_0003_with_data(uri: str) -> None:
    with database_at(uri, "0003") as connection:
        run_pk = insert_old_run(connection, OLD_RUN_ID, "pipe")
        connection.execute(
            artifacts.insert().values(
                run_pk=run_pk, name="model.pkl", digest=BLOB_Z, size=5, created_at=650
            )
        )
        dataset_id, version_pk = insert_old_dataset_version(connection, numbered_digest(1))
        connection.execute(
            schemas.insert().values(
                dataset_id=dataset_id,
                version=1,
                digest=BLOB_Y,
                inferred_from_pk=version_pk,
                created_at=3_000,
            )
        )


def _check_upgraded(store: Store, uri: str) -> None:
    assert store.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
    old = store.get_run(OLD_RUN_ID)
    assert (old.name, old.status, old.start_time, old.end_time) == ("old", "finished", 600, 700)
    assert old.artifacts["model.pkl"].digest == BLOB_Z
    version = store.get_dataset_version("tx", 1)
    assert (version.content_id, version.files) == (
        numbered_digest(1),
        [DatasetFile(0, FILE_DIGEST, 10, 3)],
    )
    assert (store.get_schema("tx").digest, store.get_schema("tx").inferred_from) == (BLOB_Y, 1)

    # The new tables work with the old rows.
    new = store.create_run("pipe", name="new")
    store.add_lineage(
        new.id, [_dataset_edge("in", "raw", version), _blob_edge("out", "model", BLOB_X, 2)]
    )
    store.put_cache_entry(KEY_A, "steps.train", OLD_RUN_ID)
    store.record_cache_hit(KEY_A)
    assert [t.run_id for t in store.runs_touching(dataset=("tx", 1))] == [new.id]
    entry = store.get_cache_entry(KEY_A)
    assert entry is not None and (entry.run_id, entry.hits) == (OLD_RUN_ID, 1)
    assert {FILE_DIGEST, BLOB_X, BLOB_Y, BLOB_Z} <= store.referenced_digests()

    with connected(uri) as connection:
        assert connection.execute(select(lineage.c.name)).scalars().all() != []
        assert connection.execute(select(step_cache.c.hits)).scalars().all() == [1]


def test_a_sqlite_store_at_revision_0003_upgrades_on_open_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    upgrades_on_open(tmp_path, _database_at_0003_with_data, _check_upgraded)


@pytest.mark.postgres
def test_a_postgresql_store_at_revision_0003_waits_for_db_upgrade_and_keeps_its_data(
    pg_uri: str,
) -> None:
    upgrades_on_request(
        pg_uri, "0003", _database_at_0003_with_data, _check_upgraded, refuses_twice=True
    )
