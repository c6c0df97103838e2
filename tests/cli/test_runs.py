"""``loopml runs list|show|compare`` and ``loopml experiments`` on each store backend."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Cli, Track


@pytest.fixture
def three_runs(workspace_env: str, track: Track) -> dict[str, str]:
    """Two runs in experiment ``e`` and one in ``f``; name -> run id (created a, b, c)."""
    return {
        "a": track("e", "a", params={"C": 0.1, "seed": 7}, metrics={"auc": 0.8, "loss": 0.5}),
        "b": track("e", "b", params={"C": 1.0, "seed": 7}, metrics={"auc": 0.9, "loss": 0.4}),
        "c": track("f", "c", params={"C": 10.0}, metrics={"auc": 0.7}),
    }


def assert_one_line_error(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err


# -- runs list ---------------------------------------------------------------------------------


def test_runs_list_shows_every_run_in_a_table(cli: Cli, three_runs: dict[str, str]) -> None:
    result = cli("runs", "list")
    assert result.code == 0, result.err
    header = result.out.splitlines()[0].split()
    assert header[:6] == ["run", "experiment", "name", "status", "started", "duration"]
    assert {"C", "auc"} <= set(header)
    for run_id in three_runs.values():
        assert run_id[:8] in result.out
    assert result.out.count("finished") == 3


def test_runs_list_json_is_a_list_with_ids_params_and_metrics(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    result = cli("runs", "list", "--json")
    assert result.code == 0, result.err
    runs = result.json()
    assert isinstance(runs, list)
    by_name = {r["name"]: r for r in runs}
    assert {name: r["id"] for name, r in by_name.items()} == three_runs
    assert by_name["a"]["params"] == {"C": "0.1", "seed": "7"}
    assert by_name["a"]["metrics"] == {"auc": 0.8, "loss": 0.5}
    assert by_name["c"]["experiment"] == "f"
    assert by_name["b"]["status"] == "finished"


def test_runs_list_is_newest_first_by_default(cli: Cli, three_runs: dict[str, str]) -> None:
    names = [r["name"] for r in cli("runs", "list", "--json").json()]
    assert names == ["c", "b", "a"]


def test_runs_list_experiment_option_keeps_only_that_experiment(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    only_e = cli("runs", "list", "-e", "e", "--json").json()
    assert sorted(r["name"] for r in only_e) == ["a", "b"]
    both = cli("runs", "list", "-e", "e", "-e", "f", "--json").json()
    assert len(both) == 3


def test_runs_list_filter_option_selects_matching_runs(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    found = cli("runs", "list", "-f", "metrics.auc > 0.75", "--json").json()
    assert sorted(r["name"] for r in found) == ["a", "b"]
    found = cli("runs", "list", "--filter", "params.C = '1.0' and metrics.loss < 1", "--json")
    assert [r["name"] for r in found.json()] == ["b"]


def test_runs_list_order_by_option_sorts_runs(cli: Cli, three_runs: dict[str, str]) -> None:
    ascending = cli("runs", "list", "-o", "metrics.auc asc", "--json").json()
    assert [r["name"] for r in ascending] == ["c", "a", "b"]
    descending = cli("runs", "list", "--order-by", "metrics.auc desc", "--json").json()
    assert [r["name"] for r in descending] == ["b", "a", "c"]


def test_runs_list_limit_option_caps_the_number_of_runs(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    assert [r["name"] for r in cli("runs", "list", "-n", "1", "--json").json()] == ["c"]
    top = cli("runs", "list", "-n", "2", "-o", "metrics.auc desc", "--json").json()
    assert [r["name"] for r in top] == ["b", "a"]


def test_runs_list_says_so_when_nothing_matches(cli: Cli, three_runs: dict[str, str]) -> None:
    result = cli("runs", "list", "-f", "metrics.auc > 5")
    assert result.code == 0
    assert "No runs match" in result.out
    assert cli("runs", "list", "-f", "metrics.auc > 5", "--json").json() == []


@pytest.mark.parametrize(
    "option",
    [
        ["-f", "metrics.auc >>"],
        ["-f", "metrics.auc > 0.9 and"],
        ["-f", "nonsense.key = 1"],
        ["-o", "metrics.auc sideways"],
    ],
)
def test_a_bad_filter_or_order_exits_1_with_one_error_line_and_no_traceback(
    cli: Cli, three_runs: dict[str, str], option: list[str]
) -> None:
    result = cli("runs", "list", *option)
    assert result.code == 1
    assert result.out == ""
    assert_one_line_error(result.err)


def test_an_unknown_experiment_exits_1_naming_the_known_ones(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    result = cli("runs", "list", "-e", "nope")
    assert result.code == 1
    assert_one_line_error(result.err)
    assert "'nope'" in result.err
    assert "e, f" in result.err


def test_a_limit_below_one_is_a_usage_error(cli: Cli, three_runs: dict[str, str]) -> None:
    result = cli("runs", "list", "-n", "0")
    assert result.code == 2
    assert "Traceback" not in result.err


# -- runs show ---------------------------------------------------------------------------------


def test_runs_show_accepts_a_unique_prefix_of_the_run_id(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    run_id = three_runs["a"]
    result = cli("runs", "show", run_id[:8])
    assert result.code == 0, result.err
    assert run_id in result.out
    assert "finished" in result.out
    for text in ("params", "metrics", "C", "0.1", "auc", "0.8", "loss", "0.5"):
        assert text in result.out
    assert "loopml/requirements.txt" in result.out  # recorded with every run


def test_runs_show_accepts_an_upper_case_id(cli: Cli, three_runs: dict[str, str]) -> None:
    result = cli("runs", "show", three_runs["b"].upper())
    assert result.code == 0, result.err
    assert three_runs["b"] in result.out


def test_runs_show_json_is_the_full_run_record(cli: Cli, three_runs: dict[str, str]) -> None:
    result = cli("runs", "show", three_runs["b"][:10], "--json")
    assert result.code == 0, result.err
    run = result.json()
    assert run["id"] == three_runs["b"]
    assert run["experiment"] == "e"
    assert run["name"] == "b"
    assert run["params"] == {"C": "1.0", "seed": "7"}
    assert run["metrics"] == {"auc": 0.9, "loss": 0.4}
    assert run["error"] is None
    assert run["duration_s"] >= 0
    assert "loopml/requirements.txt" in run["artifacts"]
    assert run["artifacts"]["loopml/requirements.txt"]["digest"].startswith("sha256:")


def test_runs_show_of_a_failed_run_shows_its_error(
    cli: Cli, workspace_env: str, track: Track
) -> None:
    run_id = track("e", "broken", fail="the data loader exploded")
    result = cli("runs", "show", run_id)
    assert result.code == 0, result.err
    assert "failed" in result.out
    assert "error" in result.out
    assert "RuntimeError: the data loader exploded" in result.out
    data = cli("runs", "show", run_id, "--json").json()
    assert data["status"] == "failed"
    assert "RuntimeError: the data loader exploded" in data["error"]
    assert "Traceback" in data["error"]


def test_runs_show_of_an_unknown_id_exits_1_with_a_hint(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    result = cli("runs", "show", "0" * 32)
    assert result.code == 1
    assert_one_line_error(result.err)
    assert "loopml runs list" in result.err


def test_runs_show_of_something_that_is_not_an_id_exits_1(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    result = cli("runs", "show", "../../etc/passwd")
    assert result.code == 1
    assert_one_line_error(result.err)
    assert "not a run id" in result.err


def test_runs_show_of_an_ambiguous_prefix_asks_for_more_characters(
    cli: Cli, workspace_env: str, track: Track
) -> None:
    ids = [track("e", f"r{i}") for i in range(40)]
    # With 40 random hex ids, some first character is shared by at least two of them.
    first = [i[0] for i in ids]
    shared = next(c for c in first if first.count(c) > 1)
    result = cli("runs", "show", shared)
    assert result.code == 1
    assert_one_line_error(result.err)
    assert "more than one run" in result.err


# -- runs compare ------------------------------------------------------------------------------


def test_runs_compare_shows_the_runs_side_by_side(cli: Cli, three_runs: dict[str, str]) -> None:
    a, b = three_runs["a"], three_runs["b"]
    result = cli("runs", "compare", a[:8], b[:8])
    assert result.code == 0, result.err
    assert a[:8] in result.out
    assert b[:8] in result.out
    for text in ("experiment", "status", "param", "metric", "C", "auc", "0.1", "1.0", "0.8"):
        assert text in result.out


def test_runs_compare_json_has_one_row_per_param_and_metric(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    a, b = three_runs["a"], three_runs["b"]
    result = cli("runs", "compare", a, b, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["runs"] == [a, b]
    rows = {(r["kind"], r["key"]): r["values"] for r in data["rows"]}
    assert rows[("", "experiment")] == ["e", "e"]
    assert rows[("", "status")] == ["finished", "finished"]
    assert rows[("param", "C")] == ["0.1", "1.0"]
    assert rows[("param", "seed")] == ["7", "7"]
    assert rows[("metric", "auc")] == [0.8, 0.9]
    assert rows[("metric", "loss")] == [0.5, 0.4]


def test_runs_compare_marks_a_missing_value_as_null(cli: Cli, three_runs: dict[str, str]) -> None:
    data = cli("runs", "compare", three_runs["a"], three_runs["c"], "--json").json()
    rows = {(r["kind"], r["key"]): r["values"] for r in data["rows"]}
    assert rows[("metric", "loss")] == [0.5, None]
    assert rows[("param", "seed")] == ["7", None]


def test_runs_compare_diff_keeps_only_rows_that_differ(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    data = cli("runs", "compare", three_runs["a"], three_runs["b"], "--diff", "--json").json()
    keys = {(r["kind"], r["key"]) for r in data["rows"]}
    assert keys == {("param", "C"), ("metric", "auc"), ("metric", "loss")}
    text = cli("runs", "compare", three_runs["a"], three_runs["b"], "--diff")
    assert text.code == 0
    assert "seed" not in text.out
    assert "experiment" not in text.out


def test_runs_compare_needs_at_least_two_runs(cli: Cli, three_runs: dict[str, str]) -> None:
    result = cli("runs", "compare", three_runs["a"])
    assert result.code == 1
    assert_one_line_error(result.err)
    assert "at least two" in result.err


def test_runs_compare_with_an_unknown_run_exits_1(cli: Cli, three_runs: dict[str, str]) -> None:
    result = cli("runs", "compare", three_runs["a"], "0" * 32)
    assert result.code == 1
    assert_one_line_error(result.err)


# -- experiments -------------------------------------------------------------------------------


def test_experiments_json_counts_the_runs_of_each_experiment(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    result = cli("experiments", "--json")
    assert result.code == 0, result.err
    found = result.json()
    assert {e["name"]: e["runs"] for e in found} == {"e": 2, "f": 1}
    assert all(e["created_at"] for e in found)


def test_experiments_lists_names_and_counts_in_a_table(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    result = cli("experiments")
    assert result.code == 0, result.err
    rows = {line.split()[0]: line.split()[1] for line in result.out.splitlines()[1:] if line}
    assert rows == {"e": "2", "f": "1"}


def test_experiments_in_an_empty_workspace_says_there_are_none(
    cli: Cli, workspace_env: str
) -> None:
    result = cli("experiments")
    assert result.code == 0
    assert "No experiments yet" in result.out
    assert cli("experiments", "--json").json() == []


# -- user text and odd numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("experiment", "name", "param"),
    [
        ("grid[/]", "a", "1"),
        ("e", "[bold]b[/bold]", "1"),
        ("e", "a", "[/x]"),
        ("e", "a", "list[int]"),
    ],
    ids=["experiment", "name", "param-closing-tag", "param-type-hint"],
)
def test_runs_list_shows_square_brackets_in_user_text_literally(
    cli: Cli, track: Track, experiment: str, name: str, param: str
) -> None:
    assert cli("init").code == 0
    track(experiment, name, params={"p": param})
    result = cli("runs", "list")
    assert result.code == 0, result.err
    for text in (experiment, name, param):
        assert text in result.out


def test_experiments_shows_square_brackets_in_names_literally(cli: Cli, track: Track) -> None:
    assert cli("init").code == 0
    track("grid[/]", "a")
    result = cli("experiments")
    assert result.code == 0, result.err
    assert "grid[/]" in result.out


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_runs_show_and_compare_display_non_finite_metrics(
    cli: Cli, track: Track, value: float
) -> None:
    assert cli("init").code == 0
    odd = track("e", "odd", metrics={"loss": value})
    fine = track("e", "fine", metrics={"loss": 0.25})
    shown = cli("runs", "show", odd)
    assert shown.code == 0, shown.err
    assert str(value) in shown.out
    compared = cli("runs", "compare", odd, fine)
    assert compared.code == 0, compared.err
    assert str(value) in compared.out
    assert "0.25" in compared.out
    listed = cli("runs", "list")
    assert listed.code == 0, listed.err
    assert str(value) in listed.out


def test_json_output_turns_non_finite_metrics_into_null(cli: Cli, track: Track) -> None:
    assert cli("init").code == 0
    odd = track("e", "odd", metrics={"a": float("inf"), "b": float("nan")})

    def strict(text: str) -> object:
        def refuse(constant: str) -> object:
            raise AssertionError(f"{constant} is not JSON")

        return json.loads(text, parse_constant=refuse)

    listed = strict(cli("runs", "list", "--json").out)
    assert listed[0]["metrics"] == {"a": None, "b": None}  # type: ignore[index]
    shown = strict(cli("runs", "show", odd, "--json").out)
    assert shown["metrics"] == {"a": None, "b": None}  # type: ignore[index]
