"""``loopml triggers list|fire`` and ``loopml agent --once``."""

from __future__ import annotations

from tests.cli.conftest import Cli, CodeProject, one_line_error


def test_list_says_when_nothing_has_fired(cli: Cli, flow: CodeProject) -> None:
    result = cli("triggers", "list")
    assert result.code == 0
    assert "no trigger has fired yet" in result.out
    assert cli("triggers", "list", "--json").json() == []


def test_fire_records_a_manual_firing_once_per_key(cli: Cli, flow: CodeProject) -> None:
    first = cli("triggers", "fire", "flow", "-r", "new labels", "-p", "rows=4", "--key", "b1")
    assert first.code == 0 and "fired flow (firing 1)" in first.out
    again = cli("triggers", "fire", "flow", "-r", "new labels", "-p", "rows=4", "--key", "b1")
    assert again.code == 0 and "already fired" in again.out
    [firing] = cli("triggers", "list", "--json").json()
    assert firing["kind"] == "manual" and firing["state"] == "pending"
    assert firing["payload"] == {"rows": 4} and firing["reason"] == "new labels"
    table = cli("triggers", "list").out
    assert "flow" in table and "manual" in table and "pending" in table


def test_the_agent_runs_a_fired_pipeline_and_list_shows_its_run(
    cli: Cli, flow: CodeProject
) -> None:
    assert cli("triggers", "fire", "flow", "-r", "by hand").code == 0
    ran = cli("agent", "flow.py:flow", "--once")
    assert ran.code == 0, ran
    assert "running flow for firing 1" in ran.out
    [firing] = cli("triggers", "list", "--state", "done", "--json").json()
    assert firing["run_id"] and firing["attempts"] == 1
    assert firing["run_id"][:8] in cli("triggers", "list").out
    assert cli("triggers", "list", "--state", "pending", "--json").json() == []


def test_bad_states_and_payloads_are_one_line_errors(cli: Cli, flow: CodeProject) -> None:
    one_line_error(cli("triggers", "list", "--state", "bogus"), "bogus", "pending")
    one_line_error(cli("triggers", "fire", "flow", "-p", "novalue"), "key=value")
    one_line_error(cli("triggers", "fire", "bad name!"), "bad name!")
