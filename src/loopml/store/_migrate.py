"""Schema revisions: detect, upgrade, and refuse a database written by a newer loopml.

Opening a store compares the database's Alembic revision with :data:`HEAD_REVISION` (a constant,
so the common case costs one SELECT and never loads Alembic). SQLite workspaces upgrade
automatically; PostgreSQL stores are shared, so they are upgraded on purpose with
``loopml db upgrade``.

A brand-new SQLite file does not replay the migrations: it runs
``migrations/sqlite_head.sql``, the schema the migrations produce, dumped from
``sqlite_master`` (``python -m loopml.store._migrate`` writes it; a test checks it is what
Alembic builds, statement for statement). That makes a first run about 150 ms faster, because
Alembic is never imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text

from loopml._errors import MigrationRequiredError, StoreVersionError
from loopml.store._revision import HEAD_REVISION, KNOWN_REVISIONS

__all__ = ["HEAD_REVISION", "KNOWN_REVISIONS"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_HEAD = MIGRATIONS_DIR / "sqlite_head.sql"
_HEADER = "-- The SQLite schema at revision {revision}, as Alembic's migrations build it.\n"


def current_revision(connection: Connection) -> str | None:
    """The database's revision, or None for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def peek(uri: str) -> str | None:
    """The revision of the store at ``uri`` without opening, migrating or reaping anything."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from loopml._errors import StoreUnavailableError
    from loopml.store._engine import make_engine

    engine = make_engine(uri)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    except OperationalError as exc:
        shown = make_url(uri).render_as_string(hide_password=True)
        raise StoreUnavailableError(f"cannot reach the store at {shown}: {exc.orig}") from exc
    finally:
        engine.dispose()


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration in one transaction."""
    from alembic import command

    with engine.connect() as connection:
        connection = connection.execution_options(loopml_write=True)
        command.upgrade(_alembic_config(connection), revision)
        connection.commit()


def check(engine: Engine, *, display_uri: str, auto_upgrade: bool) -> str:
    """Make sure the schema is the one this loopml speaks; return the revision in use."""
    with engine.connect() as connection:
        revision = current_revision(connection)
    if revision == HEAD_REVISION:
        return revision
    if revision is not None and revision not in KNOWN_REVISIONS:
        from loopml import __version__

        raise StoreVersionError(
            f"the store at {display_uri} has schema revision {revision!r}, written by a newer "
            f"loopml than this one ({__version__}); upgrade loopml (pip install -U loopml) "
            "to use it"
        )
    if not auto_upgrade:
        state = "is empty" if revision is None else f"is at schema revision {revision}"
        raise MigrationRequiredError(
            f"the store at {display_uri} {state}; this loopml needs revision {HEAD_REVISION}. "
            "Run `loopml db upgrade` to create or upgrade it (back it up first if it holds data)"
        )
    if revision is None and engine.dialect.name == "sqlite" and create_sqlite_head(engine):
        return HEAD_REVISION
    upgrade(engine)
    return HEAD_REVISION


def head_statements() -> list[str]:
    """The statements of ``sqlite_head.sql``, in order (one per ``;``-terminated block)."""
    text_ = SQLITE_HEAD.read_text(encoding="utf-8")
    first = text_.partition("\n")[0] + "\n"
    if first != _HEADER.format(revision=HEAD_REVISION):
        return []  # a stale dump is never used: Alembic builds the schema instead
    body = "\n".join(line for line in text_.splitlines() if not line.startswith("--"))
    return [part.strip() for part in body.split(";\n") if part.strip()]


def create_sqlite_head(engine: Engine) -> bool:
    """Create the head schema in an empty SQLite database in one transaction.

    False (nothing done) when the dump is missing or stale; another process that got there
    first is fine (its schema is kept).
    """
    try:
        statements = head_statements()
    except OSError:
        return False
    if not statements:
        return False
    with engine.connect() as connection:
        connection = connection.execution_options(loopml_write=True)
        with connection.begin():
            if current_revision(connection) is not None:
                return True
            for statement in statements:
                connection.exec_driver_sql(statement)
    return True


def dump_sqlite_schema(uri: str) -> str:
    """The ``sqlite_head.sql`` text of the SQLite database at ``uri`` (tables, indexes and
    triggers in creation order, then its Alembic revision)."""
    from sqlalchemy import create_engine

    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
            rows = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            ).all()
    finally:
        engine.dispose()
    lines = [_HEADER.format(revision=revision).rstrip("\n")]
    lines.append("-- Generated by `python -m loopml.store._migrate`; do not edit.")
    lines += [f"{row[0].strip()};" for row in rows]
    lines.append(f"INSERT INTO alembic_version (version_num) VALUES ('{revision}');")
    return "\n".join(lines) + "\n"


def _write_sqlite_head() -> None:
    """Build the head schema with Alembic in a scratch SQLite file and dump it."""
    import tempfile

    from loopml.store._engine import make_engine

    with tempfile.TemporaryDirectory() as folder:
        uri = f"sqlite:///{Path(folder) / 'head.db'}"
        engine = make_engine(uri)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        SQLITE_HEAD.write_text(dump_sqlite_schema(uri), encoding="utf-8")
    print(f"wrote {SQLITE_HEAD}")


if __name__ == "__main__":
    _write_sqlite_head()
