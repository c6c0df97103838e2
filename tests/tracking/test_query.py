"""loopml.runs(): a DataFrame of runs, filtered and ordered in the store."""

from __future__ import annotations

import pandas as pd
import pytest

import loopml


@pytest.fixture
def three_runs(workspace_env: str) -> list[str]:
    ids = []
    for name, c, auc in (("a", "0.1", 0.80), ("b", "1.0", 0.95), ("c", "1.0", 0.91)):
        with loopml.start_run(experiment="fraud", name=name) as run:
            run.log_params({"C": c})
            run.log_metric("auc", auc)
        ids.append(run.id)
    with loopml.start_run(experiment="other", name="d") as run:
        run.log_metric("auc", 0.99)
    ids.append(run.id)
    return ids


def test_runs_returns_one_row_per_run_with_prefixed_columns(three_runs: list[str]) -> None:
    frame = loopml.runs(experiment="fraud")
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 3
    for column in (
        "run_id",
        "experiment",
        "name",
        "status",
        "start_time",
        "params.C",
        "metrics.auc",
        "tags.loopml.python",
    ):
        assert column in frame.columns
    assert str(frame["start_time"].dtype).startswith("datetime64")


def test_filter_and_order_by_select_and_sort_in_the_store(three_runs: list[str]) -> None:
    frame = loopml.runs(
        experiment="fraud",
        filter="metrics.auc > 0.9 and params.C = '1.0'",
        order_by="metrics.auc desc",
    )
    assert list(frame["name"]) == ["b", "c"]
    assert list(frame["metrics.auc"]) == [0.95, 0.91]


def test_without_an_experiment_every_experiment_is_searched(three_runs: list[str]) -> None:
    frame = loopml.runs(order_by="metrics.auc desc", limit=2)
    assert list(frame["name"]) == ["d", "b"]


def test_several_experiments_can_be_searched_at_once(three_runs: list[str]) -> None:
    assert len(loopml.runs(experiment=["fraud", "other"])) == 4


def test_an_unknown_experiment_lists_the_known_ones(three_runs: list[str]) -> None:
    with pytest.raises(loopml.NotFoundError, match="fraud, other"):
        loopml.runs(experiment="frau")


def test_an_empty_result_still_has_the_base_columns(three_runs: list[str]) -> None:
    frame = loopml.runs(filter="metrics.auc > 2")
    assert frame.empty
    assert list(frame.columns[:4]) == ["run_id", "experiment", "name", "status"]


def test_a_bad_filter_raises_filter_syntax_error(three_runs: list[str]) -> None:
    with pytest.raises(loopml.FilterSyntaxError, match="ends too early"):
        loopml.runs(filter="metrics.auc >")


def test_get_run_takes_a_unique_prefix(three_runs: list[str]) -> None:
    assert loopml.get_run(three_runs[0][:10]).id == three_runs[0]


def test_reading_without_a_workspace_says_how_to_create_one() -> None:
    with pytest.raises(loopml.WorkspaceNotFoundError, match="loopml init"):
        loopml.runs()


def test_the_first_write_creates_a_workspace_and_says_so_once(
    project,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    with loopml.start_run():
        pass
    with loopml.start_run():
        pass
    err = capsys.readouterr().err
    assert err.count("created a workspace") == 1
    assert (project / ".loopml" / "loopml.db").is_file()


def test_experiments_lists_run_counts(three_runs: list[str]) -> None:
    counts = {e.name: e.run_count for e in loopml.experiments()}
    assert counts == {"fraud": 3, "other": 1}
