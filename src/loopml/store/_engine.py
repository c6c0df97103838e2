"""Engines for SQLite and PostgreSQL, with the settings that make concurrent use safe.

SQLite: WAL journal (readers never block the writer), ``synchronous=NORMAL`` (durable at each
checkpoint, never corrupt), a busy timeout, and every write transaction opened with
``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of failing with "database is
locked" when a read transaction tries to upgrade. :func:`retrying` retries the rare lock error
that still escapes (e.g. a checkpoint) with backoff, so it never reaches the user.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from loopml._errors import StoreUnavailableError

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
WRITE = {"loopml_write": True}


def make_engine(uri: str) -> Engine:
    """An engine for ``uri`` (already normalised by :mod:`loopml.config`)."""
    if uri.startswith("sqlite"):
        return _sqlite_engine(uri)
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise StoreUnavailableError(
            "PostgreSQL needs the psycopg driver; install it with: pip install 'loopml[postgres]'"
        ) from exc
    return create_engine(
        uri,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"connect_timeout": 5, "application_name": "loopml"},
    )


def _sqlite_engine(uri: str) -> Engine:
    engine = create_engine(uri, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions open (pysqlite otherwise opens
        # them lazily and in DEFERRED mode).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA case_sensitive_like = ON")  # LIKE behaves as on PostgreSQL
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("loopml_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def is_lock_error(exc: BaseException) -> bool:
    """True for SQLite's transient "database is locked / busy" errors."""
    text = str(exc).lower()
    return isinstance(exc, OperationalError) and (
        "database is locked" in text
        or "database is busy" in text
        or "database table is locked" in text
    )


def retrying(action: Callable[[], T], *, deadline_s: float = 120.0) -> T:
    """Run ``action``; on a transient lock error wait (with jittered backoff) and run it again."""
    delay = 0.005
    give_up = time.monotonic() + deadline_s
    while True:
        try:
            return action()
        except OperationalError as exc:
            if not is_lock_error(exc) or time.monotonic() > give_up:
                raise
        time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not security
        delay = min(delay * 2, 0.5)
