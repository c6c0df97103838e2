"""``loopml init``: create a workspace, idempotently."""

from __future__ import annotations

from pathlib import Path

from loopml.store._migrate import HEAD_REVISION as HEAD
from tests.cli.conftest import Cli


def test_init_creates_a_workspace_folder_with_a_database_and_a_gitignore(
    cli: Cli, project: Path
) -> None:
    result = cli("init")
    assert result.code == 0, result.err
    workspace = project / ".loopml"
    assert (workspace / "loopml.db").is_file()
    gitignore = (workspace / ".gitignore").read_text()
    assert "*" in gitignore.splitlines()
    assert "Initialised loopml workspace" in result.out
    assert str(project) in result.out
    assert "Reinitialised" not in result.out


def test_running_init_again_says_reinitialised_and_keeps_the_data(
    cli: Cli, project: Path, track
) -> None:
    assert cli("init").code == 0
    run_id = track("e", "kept")
    again = cli("init")
    assert again.code == 0, again.err
    assert "Reinitialised existing loopml workspace" in again.out
    listed = cli("runs", "list", "--json").json()
    assert [r["id"] for r in listed] == [run_id]


def test_init_json_reports_the_store_the_artifacts_and_whether_it_was_created(
    cli: Cli, project: Path
) -> None:
    first = cli("init", "--json")
    assert first.code == 0, first.err
    data = first.json()
    assert data["root"] == str(project)
    assert data["created"] is True
    assert data["schema_revision"] == HEAD
    assert data["store"].startswith("sqlite:///")
    assert data["store"].endswith(str(project / ".loopml" / "loopml.db"))
    assert data["artifacts"] == str(project / ".loopml" / "artifacts")
    second = cli("init", "--json")
    assert second.json()["created"] is False


def test_init_with_a_path_creates_the_workspace_there(cli: Cli, project: Path) -> None:
    result = cli("init", "sub/project")
    assert result.code == 0, result.err
    assert (project / "sub" / "project" / ".loopml" / "loopml.db").is_file()
    assert not (project / ".loopml").exists()
