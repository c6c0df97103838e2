"""Schema revisions: automatic SQLite upgrades, deliberate PostgreSQL ones, and refusals."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from loopml._errors import (
    MigrationRequiredError,
    StoreUnavailableError,
    StoreVersionError,
)
from loopml.store import _migrate, open_store
from loopml.store._sql import SqlStore
from loopml.store._tables import metadata

MIGRATIONS = Path(_migrate.__file__).with_name("migrations")
TABLES = {
    # 0001
    "experiments",
    "runs",
    "params",
    "tags",
    "metrics",
    "latest_metrics",
    "artifacts",
    # 0002
    "datasets",
    "dataset_versions",
    "dataset_files",
    "dataset_lineage",
    # 0003
    "schemas",
    "profiles",
    # 0004
    "lineage",
    "step_cache",
    # 0005
    "trigger_firings",
    # 0006
    "registered_models",
    "model_versions",
    "model_files",
    "model_aliases",
    "model_tags",
    "model_events",
    # 0007
    "prediction_segments",
    "prediction_labels",
}


def _schema_differences(uri: str) -> list[object]:
    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _revision(uri: str) -> str | None:
    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            return _migrate.current_revision(connection)
    finally:
        engine.dispose()


def _stamp(uri: str, revision: str) -> None:
    engine = create_engine(uri)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    finally:
        engine.dispose()


def _table_names(uri: str) -> set[str]:
    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.db'}"


# -- the revision list ----------------------------------------------------------------------------
def test_head_revision_is_the_head_of_the_migration_scripts() -> None:
    scripts = ScriptDirectory(str(MIGRATIONS))
    assert scripts.get_heads() == [_migrate.HEAD_REVISION]
    assert scripts.get_current_head() == _migrate.HEAD_REVISION


def test_known_revisions_list_every_migration_script() -> None:
    scripts = ScriptDirectory(str(MIGRATIONS))
    revisions = [script.revision for script in scripts.walk_revisions()]
    assert sorted(revisions) == sorted(_migrate.KNOWN_REVISIONS)
    assert len(set(_migrate.KNOWN_REVISIONS)) == len(_migrate.KNOWN_REVISIONS)
    assert _migrate.HEAD_REVISION in _migrate.KNOWN_REVISIONS


# -- SQLite ---------------------------------------------------------------------------------------
def test_a_fresh_sqlite_file_is_migrated_when_first_opened(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    uri = f"sqlite:///{path}"
    assert not path.exists()

    store = open_store(uri)
    try:
        assert store.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
        store.create_run("exp")  # the schema is usable at once
        assert store.count_runs() == 1
    finally:
        store.close()

    assert path.is_file()
    assert _revision(uri) == _migrate.HEAD_REVISION
    assert _table_names(uri) == TABLES | {"alembic_version"}


def test_opening_a_migrated_sqlite_store_again_keeps_its_data(sqlite_uri: str) -> None:
    first = open_store(sqlite_uri)
    run = first.create_run("exp", name="kept")
    first.close()

    again = open_store(sqlite_uri)
    try:
        assert again.get_run(run.id).name == "kept"
        assert again.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
    finally:
        again.close()


def test_the_migrated_sqlite_schema_matches_the_table_definitions(sqlite_uri: str) -> None:
    open_store(sqlite_uri).close()
    assert _schema_differences(sqlite_uri) == []


def _alembic_built(tmp_path: Path) -> str:
    """A SQLite file migrated to head by Alembic itself (never the dump)."""
    uri = f"sqlite:///{tmp_path / 'alembic.db'}"
    engine = create_engine(uri)
    try:
        _migrate.upgrade(engine)
    finally:
        engine.dispose()
    return uri


def test_the_sqlite_head_dump_is_what_the_migrations_build(tmp_path: Path) -> None:
    dumped = _migrate.dump_sqlite_schema(_alembic_built(tmp_path))
    assert _migrate.SQLITE_HEAD.read_text() == dumped, (
        "migrations/sqlite_head.sql is stale: run `python -m loopml.store._migrate`"
    )


def test_a_new_sqlite_store_gets_the_migrations_schema_without_loading_alembic(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    uri = f"sqlite:///{tmp_path / 'fast.db'}"
    code = (
        "import sys; from loopml.store import open_store; s = open_store(sys.argv[1]); "
        "s.create_run('exp'); s.close(); print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, uri], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
    fast = _migrate.dump_sqlite_schema(uri)
    assert fast == _migrate.dump_sqlite_schema(_alembic_built(tmp_path))
    assert _schema_differences(uri) == []


def test_a_stale_sqlite_dump_is_ignored_and_alembic_builds_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "stale.sql"
    stale.write_text("-- The SQLite schema at revision 0001, as ...\nCREATE TABLE nope (x);\n")
    monkeypatch.setattr(_migrate, "SQLITE_HEAD", stale)
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    open_store(uri).close()
    assert "nope" not in _table_names(uri)
    assert _revision(uri) == _migrate.HEAD_REVISION
    assert _schema_differences(uri) == []


def test_processes_creating_the_same_new_sqlite_store_at_once_all_succeed(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    uri = f"sqlite:///{tmp_path / 'race.db'}"
    code = (
        "import sys; from loopml.store import open_store; s = open_store(sys.argv[1]); "
        "s.create_run('exp'); s.close()"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, uri]) for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    store = open_store(uri)
    try:
        assert store.count_runs() == 4
    finally:
        store.close()


def test_a_sqlite_store_from_a_newer_loopml_is_refused(sqlite_uri: str) -> None:
    open_store(sqlite_uri).close()
    _stamp(sqlite_uri, "9999")

    with pytest.raises(StoreVersionError, match="upgrade loopml") as caught:
        open_store(sqlite_uri)

    message = str(caught.value)
    assert "'9999'" in message
    assert "newer" in message
    assert _revision(sqlite_uri) == "9999"  # left untouched


def test_a_sqlite_store_in_a_folder_that_does_not_exist_is_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such" / "folder"
    with pytest.raises(StoreUnavailableError, match="does not exist") as caught:
        open_store(f"sqlite:///{folder / 'store.db'}")

    assert str(folder) in str(caught.value)
    assert not folder.exists()


def test_a_sqlite_store_that_is_a_folder_is_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(StoreUnavailableError, match="cannot reach the store"):
        open_store(f"sqlite:///{folder}")


# -- PostgreSQL -----------------------------------------------------------------------------------
@pytest.mark.postgres
def test_an_empty_postgresql_database_needs_loopml_db_upgrade(pg_uri: str) -> None:
    with pytest.raises(MigrationRequiredError, match="`loopml db upgrade`") as caught:
        open_store(pg_uri)

    assert "is empty" in str(caught.value)
    assert _revision(pg_uri) is None
    assert _table_names(pg_uri) == set()  # nothing was created behind the user's back


@pytest.mark.postgres
def test_auto_upgrade_creates_the_postgresql_schema_on_open(pg_uri: str) -> None:
    store = open_store(pg_uri, auto_upgrade=True)
    try:
        assert store.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
        run = store.create_run("exp")
        assert store.get_run(run.id).experiment == "exp"
    finally:
        store.close()

    plain = open_store(pg_uri)  # no upgrade needed any more
    try:
        assert plain.count_runs() == 1
    finally:
        plain.close()


@pytest.mark.postgres
def test_store_upgrade_recreates_the_schema_of_an_emptied_postgresql_database(
    pg_uri: str,
) -> None:
    store = open_store(pg_uri, auto_upgrade=True)
    assert isinstance(store, SqlStore)
    try:
        engine = create_engine(pg_uri)
        try:
            with engine.begin() as connection:
                metadata.drop_all(connection)
                connection.execute(text("DROP TABLE alembic_version"))
        finally:
            engine.dispose()
        assert store.schema_status() == (None, _migrate.HEAD_REVISION)
        with pytest.raises(MigrationRequiredError):
            open_store(pg_uri)

        store.upgrade()

        assert store.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
    finally:
        store.close()
    reopened = open_store(pg_uri)
    try:
        assert reopened.count_runs() == 0
    finally:
        reopened.close()


@pytest.mark.postgres
def test_the_migrated_postgresql_schema_matches_the_table_definitions(pg_uri: str) -> None:
    open_store(pg_uri, auto_upgrade=True).close()
    assert _schema_differences(pg_uri) == []


@pytest.mark.postgres
def test_a_postgresql_store_from_a_newer_loopml_is_refused(pg_uri: str) -> None:
    open_store(pg_uri, auto_upgrade=True).close()
    _stamp(pg_uri, "9999")

    with pytest.raises(StoreVersionError, match="upgrade loopml"):
        open_store(pg_uri)
    with pytest.raises(StoreVersionError, match="upgrade loopml"):
        open_store(pg_uri, auto_upgrade=True)  # never downgrades or touches it
    assert _revision(pg_uri) == "9999"


@pytest.mark.postgres
def test_an_unreachable_postgresql_server_is_unavailable_quickly() -> None:
    uri = "postgresql+psycopg://loopml:secret@127.0.0.1:1/loopml"
    started = time.monotonic()

    with pytest.raises(StoreUnavailableError, match="cannot reach the store") as caught:
        open_store(uri)

    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "127.0.0.1:1" in message
    assert "secret" not in message  # the password is never shown
