"""Run lifecycle through the public API: statuses, params, tags, metrics, nesting."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import loopml


def test_a_run_in_a_with_block_ends_finished_with_everything_logged(workspace_env: str) -> None:
    with loopml.start_run(experiment="fraud", name="baseline") as run:
        loopml.log_params({"C": 1.0, "penalty": "l2"})
        loopml.log_param("max_iter", 100)
        loopml.log_metric("auc", 0.91)
        loopml.log_metrics({"precision": 0.5, "recall": 0.25})
        loopml.set_tag("team", "risk")
        loopml.set_tags({"stage": "dev"})
    stored = loopml.get_run(run.id)
    assert stored.status == "finished"
    assert stored.experiment == "fraud"
    assert stored.name == "baseline"
    assert stored.params == {"C": "1.0", "penalty": "l2", "max_iter": "100"}
    assert stored.metrics == {"auc": 0.91, "precision": 0.5, "recall": 0.25}
    assert stored.tags["team"] == "risk" and stored.tags["stage"] == "dev"
    assert stored.end_time is not None and stored.end_time >= stored.start_time


def test_an_exception_marks_the_run_failed_with_its_traceback(workspace_env: str) -> None:
    with pytest.raises(ZeroDivisionError), loopml.start_run(experiment="e") as run:
        loopml.log_metric("x", 1.0)
        _ = 1 / 0
    stored = loopml.get_run(run.id)
    assert stored.status == "failed"
    assert stored.error is not None
    assert "ZeroDivisionError" in stored.error and "Traceback" in stored.error
    assert stored.metrics == {"x": 1.0}


def test_keyboard_interrupt_marks_the_run_killed(workspace_env: str) -> None:
    with pytest.raises(KeyboardInterrupt), loopml.start_run(experiment="e") as run:
        raise KeyboardInterrupt
    assert loopml.get_run(run.id).status == "killed"


def test_logging_without_a_run_starts_one_in_the_default_experiment(workspace_env: str) -> None:
    loopml.log_metric("loss", 0.5)
    run = loopml.active_run()
    assert run is not None and run.experiment == "default"
    loopml.end_run()
    assert loopml.active_run() is None
    assert loopml.get_run(run.id).metrics == {"loss": 0.5}


def test_a_run_started_inside_another_becomes_its_child(workspace_env: str) -> None:
    with loopml.start_run(experiment="tune") as parent:
        with loopml.start_run(name="trial-1") as child:
            assert loopml.active_run() is child
        assert loopml.active_run() is parent
        with loopml.start_run(name="free", nested=False) as free:
            pass
    assert loopml.get_run(child.id).parent_id == parent.id
    assert loopml.get_run(child.id).experiment == "tune"
    assert loopml.get_run(free.id).parent_id is None


def test_a_param_cannot_change_once_logged(workspace_env: str) -> None:
    with loopml.start_run() as run:
        run.log_param("C", 1.0)
        run.log_param("C", 1.0)  # the same value again is fine
        with pytest.raises(loopml.ConflictError, match="'C'"):
            run.log_param("C", 2.0)


def test_metric_steps_default_to_one_more_than_the_last(workspace_env: str) -> None:
    with loopml.start_run() as run:
        for value in (0.9, 0.7, 0.5):
            run.log_metric("loss", value)
        run.log_metric("loss", 0.4, step=10)
        run.log_metric("loss", 0.3)
    history = loopml.metric_history(run.id, "loss")
    assert [p.step for p in history] == [0, 1, 2, 10, 11]
    assert [p.value for p in history] == [0.9, 0.7, 0.5, 0.4, 0.3]
    assert loopml.get_run(run.id).metrics["loss"] == 0.3


def test_nan_and_infinite_metric_values_are_kept(workspace_env: str) -> None:
    with loopml.start_run() as run:
        run.log_metric("nan", float("nan"))
        run.log_metric("inf", float("inf"))
        run.log_metric("ninf", float("-inf"))
    metrics = loopml.get_run(run.id).metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == math.inf and metrics["ninf"] == -math.inf


def test_numpy_numbers_are_accepted_as_metric_values_and_steps(workspace_env: str) -> None:
    import numpy as np

    with loopml.start_run() as run:
        run.log_metric("auc", np.float32(0.5), step=np.int64(3))
        run.log_metric("count", np.int64(7))
    history = loopml.metric_history(run.id, "auc")
    assert history[0].value == 0.5 and history[0].step == 3
    assert loopml.get_run(run.id).metrics["count"] == 7.0


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda r: r.log_metric("", 1.0), "metric key"),
        (lambda r: r.log_metric("x" * 251, 1.0), "at most 250"),
        (lambda r: r.log_metric("auc", "0.9"), "must be a number"),
        (lambda r: r.log_metric("auc", None), "must be a number"),
        (lambda r: r.log_metric("auc", 0.9, step=1.5), "integer"),
        (lambda r: r.log_metric("bad\nkey", 0.9), "newlines"),
        (lambda r: r.log_params(["C"]), "dict"),
        (lambda r: r.log_param("C", "x" * 9000), "limit"),
        (lambda r: r.set_tag(5, "x"), "tag key"),
        (lambda r: r.log_artifact(b"data"), "needs a name"),
        (lambda r: r.log_artifact(12), "file path or bytes"),
        (lambda r: r.log_artifact("missing.txt"), "no such file"),
    ],
)
def test_bad_input_raises_an_error_that_names_the_problem(
    workspace_env: str, call: object, words: str
) -> None:
    with loopml.start_run() as run, pytest.raises(loopml.InvalidInputError, match=words):
        call(run)  # type: ignore[operator]


def test_logging_to_an_ended_run_says_so(workspace_env: str) -> None:
    with loopml.start_run() as run:
        pass
    with pytest.raises(loopml.InvalidInputError, match="already ended"):
        run.log_metric("x", 1.0)


def test_a_folder_given_to_log_artifact_points_to_log_artifacts(
    workspace_env: str, project: Path
) -> None:
    (project / "plots").mkdir()
    (project / "plots" / "a.txt").write_text("a")
    (project / "plots" / "sub").mkdir()
    (project / "plots" / "sub" / "b.txt").write_text("b")
    with loopml.start_run() as run:
        with pytest.raises(loopml.InvalidInputError, match="log_artifacts"):
            run.log_artifact(project / "plots")
        refs = run.log_artifacts(project / "plots")
    assert sorted(r.name for r in refs) == ["plots/a.txt", "plots/sub/b.txt"]
    assert loopml.load_artifact(run.id, "plots/sub/b.txt") == b"b"


def test_an_artifact_logged_twice_under_one_name_keeps_the_newest(workspace_env: str) -> None:
    with loopml.start_run() as run:
        run.log_artifact(b"first", name="notes.txt")
        run.log_artifact(b"second", name="notes.txt")
    assert loopml.load_artifact(run.id, "notes.txt") == b"second"


def test_the_same_content_is_stored_once(workspace_env: str) -> None:
    ws = loopml.workspace()
    with loopml.start_run() as a:
        a.log_artifact(b"shared" * 1000, name="x")
    with loopml.start_run() as b:
        b.log_artifact(b"shared" * 1000, name="y")
    digest_a = loopml.get_run(a.id).artifacts["x"].digest
    assert digest_a == loopml.get_run(b.id).artifacts["y"].digest
    assert sum(1 for blob in ws.artifacts.list_blobs() if blob.digest == digest_a) == 1


def test_params_can_be_given_when_the_run_starts(workspace_env: str) -> None:
    with loopml.start_run(params={"lr": 0.1}, tags={"owner": "ana"}) as run:
        pass
    stored = loopml.get_run(run.id)
    assert stored.params == {"lr": "0.1"} and stored.tags["owner"] == "ana"


def test_the_run_info_shows_unflushed_metrics(workspace_env: str) -> None:
    with loopml.start_run() as run:
        run.log_metric("x", 2.0)
        assert run.info().metrics == {"x": 2.0}
