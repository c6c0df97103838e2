"""Plain helpers shared by the store tests (the fixtures ``store``, ``store_uri`` and ``pg_uri``
live in tests/conftest.py): threads that start together, SQL run past the Store API, and
databases built at an older revision for the upgrade tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Connection

from loopml import MigrationRequiredError
from loopml.store import DatasetFile, DatasetVersionRecord, Store, _migrate, open_store
from loopml.store._engine import make_engine
from loopml.store._tables import dataset_files, dataset_versions, datasets, experiments, runs

T = TypeVar("T")

FILE_DIGEST = "sha256:" + "f" * 64


def numbered_digest(n: int) -> str:
    """A well-formed sha256 digest that is ``n`` written in hex."""
    return "sha256:" + f"{n:064x}"


def register(store: Store, name: str, n: int) -> DatasetVersionRecord:
    """A new version of dataset ``name``: three rows of one int column in one file."""
    record, _ = store.create_dataset_version(
        name,
        content_id=numbered_digest(10_000 + n),
        row_count=3,
        columns=[("a", "int64")],
        roles={"a": "feature"},
        source={"kind": "arrow"},
        files=[DatasetFile(0, FILE_DIGEST, 10, 3)],
    )
    return record


def in_threads(count: int, action: Callable[[int], T]) -> list[T]:
    """Run ``action(i)`` in ``count`` threads that start together; re-raise the first error."""
    results: list[T] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def work(i: int) -> None:
        try:
            start.wait()
            results.append(action(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# -- SQL past the Store API -----------------------------------------------------------------------
@contextmanager
def connected(uri: str, *, write: bool = False) -> Iterator[Connection]:
    """A connection to ``uri`` on an engine of its own, disposed afterwards. With ``write`` it is
    a write connection (on SQLite: foreign keys enforced, transactions begun immediately)."""
    engine = make_engine(uri)
    try:
        with engine.connect() as connection:
            if write:
                connection = connection.execution_options(loopml_write=True)
            yield connection
    finally:
        engine.dispose()


def execute(uri: str, statement: Any) -> None:
    """Run one statement in its own write transaction."""
    with connected(uri, write=True) as connection, connection.begin():
        connection.execute(statement)


# -- databases at an older revision, and the upgrade tests ----------------------------------------
@contextmanager
def database_at(uri: str, revision: str) -> Iterator[Connection]:
    """Migrate the empty database at ``uri`` up to ``revision`` only; yield a connection in a
    write transaction on it, to store the rows that revision knew."""
    engine = make_engine(uri)
    try:
        _migrate.upgrade(engine, revision)
        with engine.connect() as connection:
            connection = connection.execution_options(loopml_write=True)
            with connection.begin():
                assert _migrate.current_revision(connection) == revision
                yield connection
    finally:
        engine.dispose()


def insert_old_run(connection: Connection, run_id: str, experiment: str) -> int:
    """Experiment ``experiment`` with one finished run "old" in it; the run's primary key."""
    experiment_id = connection.execute(
        experiments.insert().values(name=experiment, created_at=500)
    ).inserted_primary_key[0]  # type: ignore[index]
    run_pk: int = connection.execute(
        runs.insert().values(
            id=run_id,
            experiment_id=experiment_id,
            name="old",
            status="finished",
            start_time=600,
            end_time=700,
            heartbeat_at=650,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return run_pk


def insert_old_dataset_version(connection: Connection, content_id: str) -> tuple[int, int]:
    """Version 1 of dataset "tx" (three rows, one file): the dataset's id and the version's pk."""
    dataset_id: int = connection.execute(
        datasets.insert().values(name="tx", created_at=1_000)
    ).inserted_primary_key[0]  # type: ignore[index]
    version_pk: int = connection.execute(
        dataset_versions.insert().values(
            dataset_id=dataset_id,
            version=1,
            content_id=content_id,
            row_count=3,
            column_count=1,
            size_bytes=10,
            columns='[["a", "int64"]]',
            roles='{"a": "feature"}',
            source='{"kind": "arrow"}',
            created_at=2_000,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    connection.execute(
        dataset_files.insert().values(
            version_pk=version_pk, part=0, digest=FILE_DIGEST, size=10, rows=3
        )
    )
    return dataset_id, version_pk


@contextmanager
def opened(uri: str, *, auto_upgrade: bool | None = None) -> Iterator[Store]:
    """The store at ``uri``, closed afterwards (``auto_upgrade`` as in :func:`open_store`)."""
    store = open_store(uri, auto_upgrade=auto_upgrade)
    try:
        yield store
    finally:
        store.close()


def upgrades_on_open(
    tmp_path: Path, build: Callable[[str], None], check: Callable[[Store, str], None]
) -> None:
    """A SQLite store that ``build`` left at an older revision upgrades when opened, and then
    passes ``check(store, uri)``."""
    uri = f"sqlite:///{tmp_path / 'old.db'}"
    build(uri)

    with opened(uri) as store:
        check(store, uri)


def upgrades_on_request(
    uri: str,
    revision: str,
    build: Callable[[str], None],
    check: Callable[[Store, str], None],
    *,
    refuses_twice: bool = False,
) -> None:
    """A PostgreSQL store that ``build`` left at ``revision`` is refused until upgraded on
    request (``refuses_twice``: a second refusal shows the first changed nothing), and then
    passes ``check(store, uri)``."""
    build(uri)

    with pytest.raises(MigrationRequiredError, match=rf"revision {revision}.*loopml db upgrade"):
        open_store(uri)
    if refuses_twice:
        with pytest.raises(MigrationRequiredError):
            open_store(uri)  # refusing changed nothing

    with opened(uri, auto_upgrade=True) as store:  # what `loopml db upgrade` does
        check(store, uri)
