"""loopml.tune: every trial a tracked child run, the best one marked, failures recorded."""

from __future__ import annotations

from typing import Any

import pytest

import loopml
from loopml.pipelines import choice, integer, loguniform, uniform


def _score(params: dict[str, Any]) -> dict[str, float]:
    if params["depth"] == 7:
        raise ValueError("depth 7 is broken")
    bonus = 0.05 if params["kind"] == "b" else 0.0
    return {"score": -((params["lr"] - 0.1) ** 2) - 0.01 * params["depth"] + bonus, "aux": 1.0}


SPACE = {"lr": loguniform(1e-3, 1.0), "depth": integer(1, 8), "kind": ["a", "b"], "fixed": 3}


def test_a_search_tracks_every_trial_and_marks_the_best() -> None:
    result = loopml.tune(_score, SPACE, metric="score", mode="max", num_samples=15, seed=1)
    assert len(result.trials) == 15
    finished = [t for t in result.trials if t.status == "finished"]
    assert result.value == max(t.value for t in finished if t.value is not None)
    assert result.params["fixed"] == 3 and result.params["kind"] in ("a", "b")
    assert 1 <= result.params["depth"] <= 8 and 1e-3 <= result.params["lr"] <= 1.0
    parent = loopml.get_run(result.run_id)
    assert parent.tags["loopml.kind"] == "tune"
    assert parent.tags["loopml.tune.best_run"] == result.best_run_id
    assert parent.metrics["best_score"] == pytest.approx(result.value)
    children = loopml.search_runs(filter=f"tags.loopml.tune.parent = '{result.run_id}'")
    assert len(children) == 15
    best = loopml.get_run(result.best_run_id)
    assert best.tags["loopml.tune.best"] == "true" and best.parent_id == result.run_id
    assert best.metrics["score"] == pytest.approx(result.value)
    assert sum(1 for c in children if c.tags.get("loopml.tune.best") == "true") == 1


def test_a_failing_trial_is_a_failed_run_and_the_search_goes_on() -> None:
    result = loopml.tune(
        _score, {**SPACE, "depth": integer(6, 7)}, metric="score", num_samples=8, seed=0
    )
    failed = [t for t in result.trials if t.status == "failed"]
    assert failed, "depth 7 must have been tried"
    run = loopml.get_run(failed[0].run_id)
    assert run.status == "failed" and "depth 7 is broken" in (run.error or "")
    assert result.params["depth"] == 6


def test_minimising_and_a_plain_number_as_the_result() -> None:
    result = loopml.tune(
        lambda p: (p["x"] - 2.0) ** 2,
        {"x": uniform(0, 4)},
        metric="loss",
        mode="min",
        num_samples=20,
    )
    assert result.value < 0.5 and abs(result.params["x"] - 2.0) < 0.75


def test_bad_arguments_and_a_bad_return_value_get_clear_errors() -> None:
    with pytest.raises(loopml.InvalidInputError, match="mode must be"):
        loopml.tune(_score, SPACE, metric="score", mode="best")
    with pytest.raises(loopml.InvalidInputError, match="search_space"):
        loopml.tune(_score, {}, metric="score")
    with pytest.raises(loopml.InvalidInputError, match="backend"):
        loopml.tune(_score, SPACE, metric="score", backend="hyperopt")
    with pytest.raises(loopml.InvalidInputError, match="low must"):
        uniform(2, 1)
    with pytest.raises(loopml.InvalidInputError, match="every one of the 2 trials failed"):
        loopml.tune(lambda p: "not a number", {"x": choice([1, 2])}, metric="m", num_samples=2)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_ray_backend_gives_the_same_kind_of_result() -> None:
    import ray

    def score(params: dict[str, Any]) -> dict[str, float]:
        # defined here: Ray ships it by value (workers cannot import the tests package)
        return {"score": -((params["lr"] - 0.1) ** 2) - 0.01 * params["depth"]}

    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        result = loopml.tune(
            score,
            {"lr": loguniform(1e-3, 1.0), "depth": integer(1, 3), "kind": ["a", "b"]},
            metric="score",
            num_samples=4,
            backend="ray",
        )
    finally:
        ray.shutdown()
    assert len(result.trials) == 4
    assert all(t.status == "finished" for t in result.trials)
    assert loopml.get_run(result.best_run_id).tags["loopml.tune.best"] == "true"
