"""The store's dataset versions: numbering, dedupe under concurrency, lineage, upgrades."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from loopml import MigrationRequiredError, NotFoundError
from loopml.store import DatasetFile, Store, _migrate, open_store

FILES = [DatasetFile(0, "sha256:" + "a" * 64, 10, 3)]


def _create(store: Store, name: str, cid: str, **extra: object):  # type: ignore[no-untyped-def]
    return store.create_dataset_version(
        name,
        content_id=cid,
        row_count=3,
        columns=[("a", "int64")],
        roles={"a": "feature"},
        source={"kind": "arrow"},
        files=FILES,
        **extra,  # type: ignore[arg-type]
    )


def test_versions_are_numbered_per_dataset_and_content_is_deduplicated(store: Store) -> None:
    first, created = _create(store, "tx", "sha256:" + "1" * 64)
    again, created_again = _create(store, "tx", "sha256:" + "1" * 64)
    second, _ = _create(store, "tx", "sha256:" + "2" * 64)
    other, _ = _create(store, "other", "sha256:" + "1" * 64)
    assert (first.version, created) == (1, True)
    assert (again.version, created_again) == (1, False)
    assert second.version == 2
    assert other.version == 1  # the same content under another name is its own dataset
    assert store.find_dataset_version("tx", "sha256:" + "2" * 64) == second
    assert store.find_dataset_version("tx", "sha256:" + "9" * 64) is None


def test_lineage_names_the_parent_versions(store: Store) -> None:
    _create(store, "features", "sha256:" + "1" * 64)
    _create(store, "labels", "sha256:" + "2" * 64)
    joined, _ = _create(
        store,
        "training",
        "sha256:" + "3" * 64,
        parents=[("features", 1, "join"), ("labels", 1, "labels")],
    )
    assert joined.parents == [("features", 1, "join"), ("labels", 1, "labels")]
    assert store.get_dataset_version("training").parents == joined.parents
    with pytest.raises(NotFoundError, match="does not exist"):
        _create(store, "broken", "sha256:" + "4" * 64, parents=[("features", 9, "derived")])


def test_two_writers_registering_the_same_content_make_one_version(store: Store) -> None:
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            record, created = _create(store, "race", "sha256:" + "5" * 64)
            results.append((record.version, created))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(results) == [(1, False), (1, False), (1, False), (1, True)]
    assert [r.version for r in store.list_dataset_versions("race")] == [1]


def test_the_file_digests_of_dataset_versions_are_kept_by_gc(store: Store) -> None:
    _create(store, "tx", "sha256:" + "1" * 64)
    assert FILES[0].digest in store.referenced_digests()


def test_a_sqlite_store_at_revision_0001_upgrades_and_keeps_its_runs(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'old.db'}"
    from loopml.store._engine import make_engine

    engine = make_engine(uri)
    _migrate.upgrade(engine, "0001")
    engine.dispose()
    old = create_engine(uri)
    with old.begin() as connection:
        assert _migrate.current_revision(connection) == "0001"
        connection.exec_driver_sql("INSERT INTO experiments (name, created_at) VALUES ('e', 1)")
        connection.exec_driver_sql(
            "INSERT INTO runs (id, experiment_id, status, start_time, heartbeat_at) "
            "VALUES ('" + "ab" * 16 + "', 1, 'finished', 1, 1)"
        )
    old.dispose()
    store = open_store(uri)
    try:
        assert store.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
        assert store.get_run("ab" * 16).experiment == "e"
        record, _ = _create(store, "tx", "sha256:" + "1" * 64)
        assert record.version == 1
    finally:
        store.close()


@pytest.mark.postgres
def test_a_postgresql_store_at_revision_0001_waits_for_db_upgrade(pg_uri: str) -> None:
    from loopml.store._engine import make_engine

    engine = make_engine(pg_uri)
    _migrate.upgrade(engine, "0001")
    engine.dispose()
    with pytest.raises(MigrationRequiredError, match=r"revision 0001.*loopml db upgrade"):
        open_store(pg_uri)
    store = open_store(pg_uri, auto_upgrade=True)
    try:
        assert store.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
    finally:
        store.close()
