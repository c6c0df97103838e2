"""Shared fixtures: an isolated project folder per test, and real PostgreSQL databases.

PostgreSQL tests use the server on 127.0.0.1:5432 (``LOOPML_TEST_PG`` overrides the admin URL).
Each test that asks for ``pg_uri`` gets a fresh database, dropped afterwards. If the server is
not reachable the tests fail loudly: `.ci/run` starts it, nothing skips them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Two cores shared with other tests: a per-example deadline only measures the neighbours' load.
settings.register_profile("loopml", deadline=None)
settings.load_profile("loopml")

PG_ADMIN = os.environ.get("LOOPML_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _reset_loopml_state() -> None:
    from loopml import _workspace
    from loopml.tracking import _api

    for run in list(_api._stack):
        try:
            run.end("finished")
        except Exception:
            _api._forget(run)
    _api._stack.clear()
    _api._pending_seed = None
    for ws in list(_workspace._open.values()):
        ws.close()
    _workspace._open.clear()
    _workspace._announced = False


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test runs in its own empty folder with no loopml settings from outside."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    for name in ("LOOPML_URI", "LOOPML_ARTIFACTS", "LOOPML_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    yield folder
    _reset_loopml_state()


def _admin_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")


@pytest.fixture
def pg_uri() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the real server; dropped after the test."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"loopml_test_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at {PG_ADMIN} is not reachable ({exc}); start it (make services) "
            "or set LOOPML_TEST_PG"
        )
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        # End runs and close stores before the database goes away under them.
        _reset_loopml_state()
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for each backend: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    uri: str = request.getfixturevalue("pg_uri")
    from loopml.store import open_store

    open_store(uri, auto_upgrade=True).close()
    return uri


@pytest.fixture
def store(store_uri: str) -> Iterator[object]:
    """An open :class:`loopml.store.Store` on each backend."""
    from loopml.store import open_store

    opened = open_store(store_uri)
    yield opened
    opened.close()


@pytest.fixture
def workspace_env(store_uri: str, monkeypatch: pytest.MonkeyPatch, project: Path) -> str:
    """Point the Python API and CLI at ``store_uri`` through LOOPML_URI (and init the folder)."""
    monkeypatch.setenv("LOOPML_URI", store_uri)
    import loopml

    loopml.init(project)
    return store_uri
