"""``loopml db current|upgrade`` against an empty PostgreSQL database."""

from __future__ import annotations

import pytest

from loopml.store._migrate import HEAD_REVISION as HEAD
from tests.cli.conftest import Cli


@pytest.fixture
def empty_pg(pg_uri: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOOPML_URI", pg_uri)
    return pg_uri


@pytest.mark.postgres
def test_db_current_reports_an_empty_database(cli: Cli, empty_pg: str) -> None:
    result = cli("db", "current")
    assert result.code == 0, result.err
    assert "(empty)" in result.out
    assert "needs `loopml db upgrade`" in result.out
    assert cli("db", "current", "--json").json() == {"current": None, "head": HEAD}


@pytest.mark.postgres
def test_commands_on_an_empty_database_exit_1_and_name_loopml_db_upgrade(
    cli: Cli, empty_pg: str
) -> None:
    for command in (["runs", "list"], ["experiments"], ["gc"]):
        result = cli(*command)
        assert result.code == 1, command
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert len(lines) == 1, result.err
        assert lines[0].startswith("error: ")
        assert "is empty" in result.err
        assert "loopml db upgrade" in result.err
        assert "Traceback" not in result.err


@pytest.mark.postgres
def test_doctor_flags_an_empty_postgresql_schema(cli: Cli, empty_pg: str) -> None:
    result = cli("doctor", "--json")
    assert result.code == 1
    schema = {c["name"]: c for c in result.json()["checks"]}["schema"]
    assert schema["ok"] is False
    assert "loopml db upgrade" in schema["detail"]


@pytest.mark.postgres
def test_db_upgrade_creates_the_schema_so_commands_work(cli: Cli, empty_pg: str) -> None:
    assert cli("runs", "list").code == 1
    upgraded = cli("db", "upgrade")
    assert upgraded.code == 0, upgraded.err
    assert f"schema revision {HEAD}" in upgraded.out
    assert "up to date" in cli("db", "current").out
    assert cli("db", "current", "--json").json() == {"current": HEAD, "head": HEAD}
    listed = cli("runs", "list")
    assert listed.code == 0, listed.err
    assert "No runs match" in listed.out
    assert cli("runs", "list", "--json").json() == []
    assert cli("doctor", "--json").json()["ok"] is True


@pytest.mark.postgres
def test_db_upgrade_twice_is_harmless(cli: Cli, empty_pg: str) -> None:
    assert cli("db", "upgrade").code == 0
    again = cli("db", "upgrade")
    assert again.code == 0, again.err
    assert f"schema revision {HEAD}" in again.out


@pytest.mark.postgres
def test_db_upgrade_and_doctor_never_print_the_store_password(
    cli: Cli, empty_pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.engine import make_url

    with_password = make_url(empty_pg).set(password="s3cret-pw")
    monkeypatch.setenv("LOOPML_URI", with_password.render_as_string(hide_password=False))
    # Whether or not the server checks passwords, the URL is shown with the password masked.
    upgraded = cli("db", "upgrade")
    assert "s3cret-pw" not in upgraded.out + upgraded.err
    assert "postgres:***@" in upgraded.out + upgraded.err
    doctor = cli("doctor", "--json")
    assert "s3cret-pw" not in doctor.out + doctor.err
    assert "postgres:***@" in doctor.out


def test_db_current_of_a_sqlite_workspace_is_up_to_date(cli: Cli) -> None:
    assert cli("init").code == 0
    result = cli("db", "current")
    assert result.code == 0
    assert f"current {HEAD}, head {HEAD}: up to date" in result.out


def test_db_commands_without_a_workspace_exit_1(cli: Cli) -> None:
    result = cli("db", "current")
    assert result.code == 1
    assert "loopml init" in result.err
