"""Schema revisions: detect, upgrade, and refuse a database written by a newer loopml.

Opening a store compares the database's Alembic revision with :data:`HEAD_REVISION` (a constant,
so the common case costs one SELECT and never loads Alembic). SQLite workspaces upgrade
automatically; PostgreSQL stores are shared, so they are upgraded on purpose with
``loopml db upgrade``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text

from loopml._errors import MigrationRequiredError, StoreVersionError

#: The newest revision in ``migrations/versions``; a test checks they agree.
HEAD_REVISION = "0005"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


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
    upgrade(engine)
    return HEAD_REVISION
