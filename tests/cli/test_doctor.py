"""``loopml doctor``: exit 0 when all is well, 1 with a named problem otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli


def checks_by_name(data: dict) -> dict[str, dict]:
    return {c["name"]: c for c in data["checks"]}


def test_doctor_passes_in_a_fresh_workspace(cli: Cli, workspace_env: str) -> None:
    result = cli("doctor")
    assert result.code == 0, result.out + result.err
    assert "all good" in result.out
    assert "✗" not in result.out


def test_doctor_json_says_ok_and_lists_every_check(cli: Cli, workspace_env: str) -> None:
    result = cli("doctor", "--json")
    assert result.code == 0, result.out
    data = result.json()
    assert data["ok"] is True
    checks = checks_by_name(data)
    assert {"loopml", "project", "store", "store reachable", "schema", "artifacts"} <= set(checks)
    assert all(c["ok"] for c in data["checks"])
    assert "LOOPML_URI" in checks["store"]["detail"]


def test_doctor_after_init_uses_the_workspace_sqlite_store_in_wal_mode(
    cli: Cli, project: Path
) -> None:
    assert cli("init").code == 0
    data = cli("doctor", "--json").json()
    assert data["ok"] is True
    checks = checks_by_name(data)
    assert "(from workspace)" in checks["store"]["detail"]
    assert checks["sqlite journal"]["detail"].startswith("wal")


def test_doctor_exits_1_when_there_is_no_workspace(cli: Cli, project: Path) -> None:
    result = cli("doctor")
    assert result.code == 1
    assert "loopml init" in result.out
    assert "problems found" in result.out
    data = cli("doctor", "--json").json()
    assert data["ok"] is False
    assert checks_by_name(data)["workspace"]["ok"] is False
    assert not (project / ".loopml").exists()  # doctor only looks


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://u@h/db", "database 'mysql' is not supported"),
        ("sqlite://", "names no database file"),
        ("postgresql+psycopg://u@h:5432", "names no database"),
    ],
)
def test_doctor_exits_1_and_names_a_malformed_loopml_uri(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, uri: str, message: str
) -> None:
    monkeypatch.setenv("LOOPML_URI", uri)
    result = cli("doctor", "--json")
    assert result.code == 1
    data = result.json()
    assert data["ok"] is False
    config = checks_by_name(data)["configuration"]
    assert config["ok"] is False
    assert "LOOPML_URI" in config["detail"]
    assert message in config["detail"]
    text = cli("doctor")
    assert text.code == 1
    assert "configuration" in text.out
    assert "problems found" in text.out


def test_doctor_exits_1_when_the_store_cannot_be_reached(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPML_URI", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    result = cli("doctor", "--json")
    assert result.code == 1
    check = checks_by_name(result.json())["store reachable"]
    assert check["ok"] is False
    assert "127.0.0.1" in check["detail"]
