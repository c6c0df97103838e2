"""The Store contract, checked on every backend (SQLite and PostgreSQL) through ``store``."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterable

import pytest

from loopml._errors import (
    ConflictError,
    FilterSyntaxError,
    InvalidInputError,
    NotFoundError,
)
from loopml.store import ArtifactRef, Experiment, MetricPoint, Run, Store

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_C = "sha256:" + "c" * 64


def point(key: str, value: float, step: int, timestamp: int) -> MetricPoint:
    return MetricPoint(key=key, value=value, step=step, timestamp=timestamp)


def names(runs: Iterable[Run]) -> list[str | None]:
    return [run.name for run in runs]


def name_set(runs: Iterable[Run]) -> set[str | None]:
    return {run.name for run in runs}


def make_runs(store: Store, experiment: str, count: int) -> list[Run]:
    return [store.create_run(experiment, name=f"r{i}") for i in range(count)]


# -- experiments ----------------------------------------------------------------------------------
def test_get_or_create_experiment_returns_the_same_experiment_every_time(store: Store) -> None:
    first = store.get_or_create_experiment("churn")
    again = store.get_or_create_experiment("churn")
    other = store.get_or_create_experiment("fraud")

    assert isinstance(first, Experiment)
    assert first.name == "churn"
    assert again.id == first.id
    assert again.created_at == first.created_at
    assert other.id != first.id
    assert [e.name for e in store.list_experiments()] == ["churn", "fraud"]


def test_list_experiments_gives_every_experiment_oldest_first_with_its_run_count(
    store: Store,
) -> None:
    store.get_or_create_experiment("empty")
    store.create_run("busy")
    store.create_run("busy")
    store.create_run("busy")
    store.create_run("single")

    listed = store.list_experiments()

    assert [(e.name, e.run_count) for e in listed] == [("empty", 0), ("busy", 3), ("single", 1)]


def test_an_experiment_name_of_256_characters_is_accepted(store: Store) -> None:
    name = "x" * 256
    assert store.get_or_create_experiment(name).name == name


@pytest.mark.parametrize("bad", ["", "   ", "x" * 257, None, 42])
def test_a_bad_experiment_name_is_an_invalid_input(store: Store, bad: object) -> None:
    with pytest.raises(InvalidInputError, match="experiment name"):
        store.get_or_create_experiment(bad)  # type: ignore[arg-type]
    assert store.list_experiments() == []


# -- runs -----------------------------------------------------------------------------------------
def test_a_new_run_is_running_and_get_run_returns_what_was_created(store: Store) -> None:
    before = int(time.time() * 1000)
    created = store.create_run(
        "exp", name="first", tags={"team": "ml"}, host="box", pid=1234, proc_start=99
    )

    assert created.status == "running"
    assert created.end_time is None
    assert created.experiment == "exp"
    assert len(created.id) == 32
    assert all(c in "0123456789abcdef" for c in created.id)
    assert created.start_time >= before - 1

    fetched = store.get_run(created.id)
    assert fetched.id == created.id
    assert fetched.experiment == "exp"
    assert fetched.name == "first"
    assert fetched.status == "running"
    assert fetched.start_time == created.start_time
    assert fetched.end_time is None
    assert fetched.tags == {"team": "ml"}
    assert fetched.params == {}
    assert fetched.metrics == {}
    assert fetched.artifacts == {}
    assert fetched.host == "box"
    assert fetched.pid == 1234
    assert fetched.error is None
    assert fetched.parent_id is None


def test_a_child_run_knows_its_parent(store: Store) -> None:
    parent = store.create_run("exp", name="parent")
    child = store.create_run("exp", name="child", parent_id=parent.id)

    assert store.get_run(child.id).parent_id == parent.id
    assert store.get_run(parent.id).parent_id is None


def test_a_run_cannot_have_a_parent_that_does_not_exist(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.create_run("exp", parent_id="f" * 32)


def test_end_run_sets_the_final_status_end_time_and_error(store: Store) -> None:
    ok = store.create_run("exp", name="ok")
    bad = store.create_run("exp", name="bad")

    store.end_run(ok.id, "finished")
    store.end_run(bad.id, "failed", error="Traceback: boom")

    finished = store.get_run(ok.id)
    failed = store.get_run(bad.id)
    assert finished.status == "finished"
    assert finished.end_time is not None
    assert finished.end_time >= finished.start_time
    assert finished.error is None
    assert failed.status == "failed"
    assert failed.error == "Traceback: boom"
    assert failed.end_time is not None


def test_get_run_of_an_unknown_id_is_not_found(store: Store) -> None:
    store.create_run("exp")
    with pytest.raises(NotFoundError):
        store.get_run("0" * 32)


# -- run id prefixes ------------------------------------------------------------------------------
def _shortest_unique_prefix(run_id: str, others: list[str]) -> str:
    for length in range(1, len(run_id) + 1):
        prefix = run_id[:length]
        if not any(other.startswith(prefix) for other in others if other != run_id):
            return prefix
    raise AssertionError("ids are unique")


def test_a_unique_run_id_prefix_finds_the_run(store: Store) -> None:
    runs = make_runs(store, "exp", 17)
    ids = [run.id for run in runs]
    target = runs[5]
    prefix = _shortest_unique_prefix(target.id, ids)

    assert store.resolve_run_id(prefix) == target.id
    assert store.get_run(prefix).id == target.id
    assert store.get_run(prefix.upper()).id == target.id
    assert store.resolve_run_id(target.id) == target.id


def test_a_run_id_prefix_shared_by_two_runs_is_ambiguous(store: Store) -> None:
    # 17 runs over 16 hexadecimal first characters: at least two share their first character.
    ids = [run.id for run in make_runs(store, "exp", 17)]
    firsts = [run_id[0] for run_id in ids]
    shared = next(c for c in firsts if firsts.count(c) > 1)

    with pytest.raises(InvalidInputError, match="more than one run"):
        store.resolve_run_id(shared)
    with pytest.raises(InvalidInputError, match="more than one run"):
        store.get_run(shared)


def test_a_run_id_prefix_matching_no_run_is_not_found(store: Store) -> None:
    ids = [run.id for run in make_runs(store, "exp", 3)]
    unknown = next(
        f"{a}{b}"
        for a in "0123456789abcdef"
        for b in "0123456789abcdef"
        if not any(run_id.startswith(f"{a}{b}") for run_id in ids)
    )

    with pytest.raises(NotFoundError):
        store.resolve_run_id(unknown)
    with pytest.raises(NotFoundError):
        store.get_run(unknown)


@pytest.mark.parametrize("bad", ["xyz", "12g4", "", "ab-cd", "%", "a_"])
def test_a_run_id_that_is_not_hexadecimal_is_an_invalid_input(store: Store, bad: str) -> None:
    store.create_run("exp")
    with pytest.raises(InvalidInputError, match="not a run id"):
        store.resolve_run_id(bad)
    with pytest.raises(InvalidInputError):
        store.get_run(bad)


# -- params and tags ------------------------------------------------------------------------------
def test_params_are_stored_and_logging_the_same_value_again_is_fine(store: Store) -> None:
    run = store.create_run("exp")
    store.log_params(run.id, {"lr": "0.1", "optimizer": "adam"})
    store.log_params(run.id, {"lr": "0.1"})
    store.log_params(run.id, {"epochs": "10", "optimizer": "adam"})

    assert store.get_run(run.id).params == {"lr": "0.1", "optimizer": "adam", "epochs": "10"}


def test_a_param_cannot_change_once_logged(store: Store) -> None:
    run = store.create_run("exp")
    store.log_params(run.id, {"lr": "0.1"})

    with pytest.raises(ConflictError, match="'lr'") as caught:
        store.log_params(run.id, {"batch": "32", "lr": "0.2"})

    assert "0.1" in str(caught.value)
    assert "0.2" in str(caught.value)
    # the whole batch is refused: nothing of it was written
    assert store.get_run(run.id).params == {"lr": "0.1"}


def test_the_same_param_key_in_two_runs_is_independent(store: Store) -> None:
    a = store.create_run("exp")
    b = store.create_run("exp")
    store.log_params(a.id, {"lr": "0.1"})
    store.log_params(b.id, {"lr": "0.2"})

    assert store.get_run(a.id).params == {"lr": "0.1"}
    assert store.get_run(b.id).params == {"lr": "0.2"}


def test_set_tags_adds_new_tags_and_overwrites_existing_ones(store: Store) -> None:
    run = store.create_run("exp", tags={"team": "ml", "stage": "dev"})
    store.set_tags(run.id, {"stage": "prod", "owner": "ana"})
    store.set_tags(run.id, {"stage": "archived"})

    assert store.get_run(run.id).tags == {"team": "ml", "stage": "archived", "owner": "ana"}


# -- metrics --------------------------------------------------------------------------------------
def test_metric_history_is_in_step_order_whatever_order_points_were_logged(store: Store) -> None:
    run = store.create_run("exp")
    store.log_metrics(run.id, [point("loss", 0.5, 2, 1_000), point("loss", 0.9, 0, 1_001)])
    store.log_metrics(run.id, [point("loss", 0.7, 1, 1_002), point("acc", 0.1, 0, 1_003)])

    history = store.metric_history(run.id, "loss")

    assert [(p.step, p.value, p.timestamp) for p in history] == [
        (0, 0.9, 1_001),
        (1, 0.7, 1_002),
        (2, 0.5, 1_000),
    ]
    assert all(p.key == "loss" for p in history)
    assert [p.value for p in store.metric_history(run.id, "acc")] == [0.1]
    assert store.metric_history(run.id, "never-logged") == []


def test_metric_history_orders_points_of_the_same_step_by_time(store: Store) -> None:
    run = store.create_run("exp")
    store.log_metrics(run.id, [point("x", 3.0, 1, 300), point("x", 1.0, 1, 100)])
    store.log_metrics(run.id, [point("x", 2.0, 1, 200)])

    assert [p.value for p in store.metric_history(run.id, "x")] == [1.0, 2.0, 3.0]


def test_the_latest_metric_is_the_highest_step_even_if_logged_earlier(store: Store) -> None:
    run = store.create_run("exp")
    store.log_metrics(run.id, [point("loss", 0.2, 10, 1_000)])
    store.log_metrics(run.id, [point("loss", 0.9, 3, 5_000)])  # older step, newer time

    assert store.get_run(run.id).metrics == {"loss": 0.2}

    store.log_metrics(run.id, [point("loss", 0.1, 11, 500)])  # newer step, older time
    assert store.get_run(run.id).metrics == {"loss": 0.1}


def test_the_latest_metric_at_equal_steps_is_the_newest_timestamp_across_batches(
    store: Store,
) -> None:
    run = store.create_run("exp")
    store.log_metrics(run.id, [point("m", 1.0, 5, 2_000)])
    store.log_metrics(run.id, [point("m", 2.0, 5, 1_000)])  # same step, older

    assert store.get_run(run.id).metrics["m"] == 1.0

    store.log_metrics(run.id, [point("m", 3.0, 5, 3_000)])  # same step, newer
    assert store.get_run(run.id).metrics["m"] == 3.0


def test_the_latest_metric_within_one_batch_ignores_the_order_of_points(store: Store) -> None:
    run = store.create_run("exp")
    store.log_metrics(
        run.id,
        [
            point("a", 4.0, 4, 10),
            point("a", 9.0, 9, 5),
            point("a", 7.0, 9, 1),
            point("a", 1.0, 1, 99),
            point("b", 2.0, 0, 7),
            point("b", 3.0, 0, 8),
            point("b", 1.0, 0, 6),
        ],
    )

    assert store.get_run(run.id).metrics == {"a": 9.0, "b": 3.0}


def test_nan_and_infinite_metric_values_round_trip(store: Store) -> None:
    run = store.create_run("exp")
    store.log_metrics(
        run.id,
        [
            point("nan", math.nan, 0, 1),
            point("pinf", math.inf, 0, 1),
            point("ninf", -math.inf, 0, 1),
            point("mixed", 1.5, 0, 1),
            point("mixed", math.nan, 1, 2),
            point("mixed", math.inf, 2, 3),
            point("mixed", -math.inf, 3, 4),
        ],
    )

    latest = store.get_run(run.id).metrics
    assert math.isnan(latest["nan"])
    assert latest["pinf"] == math.inf
    assert latest["ninf"] == -math.inf
    assert latest["mixed"] == -math.inf

    values = [p.value for p in store.metric_history(run.id, "mixed")]
    assert values[0] == 1.5
    assert math.isnan(values[1])
    assert values[2] == math.inf
    assert values[3] == -math.inf


def test_a_nan_latest_value_is_replaced_by_a_later_step(store: Store) -> None:
    run = store.create_run("exp")
    store.log_metrics(run.id, [point("m", math.nan, 0, 1)])
    store.log_metrics(run.id, [point("m", 0.25, 1, 2)])

    assert store.get_run(run.id).metrics == {"m": 0.25}


def test_large_steps_and_timestamps_are_kept_exactly(store: Store) -> None:
    run = store.create_run("exp")
    big_step = 2**40 + 3
    big_time = 4_102_444_800_000  # year 2100 in epoch ms
    store.log_metrics(run.id, [point("m", 1.0, big_step, big_time)])

    [stored] = store.metric_history(run.id, "m")
    assert stored == point("m", 1.0, big_step, big_time)


# -- artifacts ------------------------------------------------------------------------------------
def test_add_artifact_replaces_an_artifact_of_the_same_name(store: Store) -> None:
    run = store.create_run("exp")
    store.add_artifact(run.id, "model", DIGEST_A, 10)
    store.add_artifact(run.id, "model", DIGEST_B, 20)

    [ref] = store.list_artifacts(run.id)
    assert ref.name == "model"
    assert ref.digest == DIGEST_B
    assert ref.size == 20
    assert store.get_run(run.id).artifacts["model"].digest == DIGEST_B


def test_list_artifacts_gives_a_runs_artifacts_by_name(store: Store) -> None:
    run = store.create_run("exp")
    other = store.create_run("exp")
    store.add_artifact(run.id, "zeta/data.csv", DIGEST_A, 1)
    store.add_artifact(run.id, "alpha", DIGEST_B, 2)
    store.add_artifact(run.id, "model.pkl", DIGEST_A, 3)
    store.add_artifact(other.id, "elsewhere", DIGEST_C, 4)

    listed = store.list_artifacts(run.id)

    assert [(r.name, r.digest, r.size) for r in listed] == [
        ("alpha", DIGEST_B, 2),
        ("model.pkl", DIGEST_A, 3),
        ("zeta/data.csv", DIGEST_A, 1),
    ]
    assert all(isinstance(r, ArtifactRef) and r.created_at > 0 for r in listed)
    assert sorted(store.get_run(run.id).artifacts) == ["alpha", "model.pkl", "zeta/data.csv"]
    assert [r.name for r in store.list_artifacts(other.id)] == ["elsewhere"]
    assert store.list_artifacts(store.create_run("exp").id) == []


def test_referenced_digests_are_the_digests_artifacts_point_to_now(store: Store) -> None:
    assert store.referenced_digests() == set()
    a = store.create_run("exp")
    b = store.create_run("other")
    store.add_artifact(a.id, "model", DIGEST_A, 1)
    store.add_artifact(a.id, "data", DIGEST_B, 1)
    store.add_artifact(b.id, "model", DIGEST_B, 1)

    assert store.referenced_digests() == {DIGEST_A, DIGEST_B}

    store.add_artifact(a.id, "model", DIGEST_C, 1)  # DIGEST_A is no longer referenced
    assert store.referenced_digests() == {DIGEST_B, DIGEST_C}


# -- liveness -------------------------------------------------------------------------------------
def test_running_runs_lists_only_runs_still_running_with_their_process(store: Store) -> None:
    alive = store.create_run("exp", host="box", pid=11, proc_start=1234)
    done = store.create_run("exp")
    store.end_run(done.id, "finished")

    [liveness] = store.running_runs()

    assert liveness.id == alive.id
    assert liveness.host == "box"
    assert liveness.pid == 11
    assert liveness.proc_start == 1234
    assert liveness.heartbeat_at >= alive.start_time


def test_heartbeat_moves_the_heartbeat_of_running_runs_forward(store: Store) -> None:
    run = store.create_run("exp")
    [before] = store.running_runs()
    time.sleep(0.01)
    store.heartbeat([run.id])
    [after] = store.running_runs()

    assert after.heartbeat_at > before.heartbeat_at


def test_mark_killed_changes_only_runs_that_are_still_running(store: Store) -> None:
    stale = store.create_run("exp", name="stale")
    finished = store.create_run("exp", name="finished")
    untouched = store.create_run("exp", name="untouched")
    store.end_run(finished.id, "finished")
    time.sleep(0.01)
    store.heartbeat([stale.id])
    heartbeat = {r.id: r.heartbeat_at for r in store.running_runs()}[stale.id]
    time.sleep(0.01)

    changed = store.mark_killed([stale.id, finished.id], "process 11 on box is gone")

    assert changed == [stale.id]
    killed = store.get_run(stale.id)
    assert killed.status == "killed"
    assert killed.end_time == heartbeat
    assert killed.error == "process 11 on box is gone"
    kept = store.get_run(finished.id)
    assert kept.status == "finished"
    assert kept.error is None
    assert store.get_run(untouched.id).status == "running"
    assert [r.id for r in store.running_runs()] == [untouched.id]
    assert store.mark_killed([stale.id], "again") == []
    assert store.get_run(stale.id).error == "process 11 on box is gone"
    assert store.mark_killed([], "nothing") == []


# -- search: metrics ------------------------------------------------------------------------------
@pytest.fixture
def scored(store: Store) -> Store:
    """Runs a (0.5), b (0.7), c (0.9) and d (no score) in experiment ``exp``."""
    for name, score in (("a", 0.5), ("b", 0.7), ("c", 0.9), ("d", None)):
        run = store.create_run("exp", name=name)
        if score is not None:
            store.log_metrics(run.id, [point("score", score, 0, 1)])
    return store


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("metrics.score = 0.7", {"b"}),
        ("metrics.score == 0.7", {"b"}),
        ("metrics.score != 0.7", {"a", "c"}),
        ("metrics.score <> 0.7", {"a", "c"}),
        ("metrics.score < 0.7", {"a"}),
        ("metrics.score <= 0.7", {"a", "b"}),
        ("metrics.score > 0.7", {"c"}),
        ("metrics.score >= 0.7", {"b", "c"}),
        ("metrics.score > 1", set()),
        ("metrics.score in (0.5, 0.9)", {"a", "c"}),
        ("metrics.score not in (0.5, 0.9)", {"b"}),
        ("METRICS.score > 0.6 AND metrics.score < 0.8", {"b"}),
    ],
)
def test_metric_filters_compare_the_latest_value(
    scored: Store, expression: str, expected: set[str]
) -> None:
    assert name_set(scored.search_runs(filter=expression)) == expected


def test_a_metric_filter_uses_the_latest_value_not_older_ones(store: Store) -> None:
    run = store.create_run("exp", name="improving")
    store.log_metrics(run.id, [point("acc", 0.95, 0, 1), point("acc", 0.5, 1, 2)])

    assert store.search_runs(filter="metrics.acc > 0.9") == []
    assert names(store.search_runs(filter="metrics.acc = 0.5")) == ["improving"]


def test_a_backtick_quoted_metric_key_can_hold_spaces(store: Store) -> None:
    run = store.create_run("exp", name="spaced")
    store.create_run("exp", name="other")
    store.log_metrics(run.id, [point("val loss", 0.2, 0, 1)])

    assert names(store.search_runs(filter="metrics.`val loss` < 0.3")) == ["spaced"]


# -- search: params and tags ----------------------------------------------------------------------
@pytest.fixture
def optimizers(store: Store) -> Store:
    """Runs with params.opt Adam, adam, sgd and one without opt; params.C '1.0' or '1'."""
    for name, opt, c in (
        ("upper", "Adam", "1.0"),
        ("lower", "adam", "1"),
        ("sgd", "sgd", "1.0"),
        ("none", None, None),
    ):
        run = store.create_run("exp", name=name, tags={"team": "vision" if opt else "nlp"})
        if opt is not None:
            store.log_params(run.id, {"opt": opt, "C": c})
    return store


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("params.opt = 'adam'", {"lower"}),
        ('params.opt = "Adam"', {"upper"}),
        ("params.opt != 'adam'", {"upper", "sgd"}),
        ("params.opt like 'a%'", {"lower"}),
        ("params.opt like '%am'", {"upper", "lower"}),
        ("params.opt ilike 'a%'", {"upper", "lower"}),
        ("params.opt ilike 'ADAM'", {"upper", "lower"}),
        ("params.opt not like 'a%'", {"upper", "sgd"}),
        ("params.opt not ilike 'a%'", {"sgd"}),
        ("params.opt in ('adam', 'sgd')", {"lower", "sgd"}),
        ("params.opt not in ('adam', 'sgd')", {"upper"}),
        ("params.opt in ('nothing')", set()),
        ("tags.team = 'vision'", {"upper", "lower", "sgd"}),
        ("tags.team != 'vision'", {"none"}),
        ("tags.team like 'n%'", {"none"}),
        ("tags.team in ('nlp')", {"none"}),
    ],
)
def test_param_and_tag_filters_compare_text(
    optimizers: Store, expression: str, expected: set[str]
) -> None:
    assert name_set(optimizers.search_runs(filter=expression)) == expected


def test_a_number_compared_with_a_param_matches_the_text_as_written(optimizers: Store) -> None:
    assert name_set(optimizers.search_runs(filter="params.C = 1.0")) == {"upper", "sgd"}
    assert name_set(optimizers.search_runs(filter="params.C = 1")) == {"lower"}
    assert name_set(optimizers.search_runs(filter="params.C != 1")) == {"upper", "sgd"}


def test_numbers_in_a_param_in_list_match_the_text_as_written(optimizers: Store) -> None:
    assert name_set(optimizers.search_runs(filter="params.C in (1, 2)")) == {"lower"}
    assert name_set(optimizers.search_runs(filter="params.C in (1.0)")) == {"upper", "sgd"}


def test_a_like_pattern_on_params_is_case_sensitive_on_every_backend(optimizers: Store) -> None:
    assert name_set(optimizers.search_runs(filter="params.opt like 'A%'")) == {"upper"}
    assert name_set(optimizers.search_runs(filter="params.opt like 'ADAM'")) == set()


# -- search: attributes ---------------------------------------------------------------------------
def test_attribute_filters_on_status_name_run_id_and_experiment(store: Store) -> None:
    a = store.create_run("alpha", name="train-1")
    b = store.create_run("alpha", name="train-2")
    c = store.create_run("beta", name="eval")
    store.end_run(a.id, "finished")
    store.end_run(c.id, "failed", error="boom")

    def found(expression: str) -> set[str | None]:
        return name_set(store.search_runs(filter=expression))

    assert found("status = 'finished'") == {"train-1"}
    assert found("attributes.status = 'running'") == {"train-2"}
    assert found("status in ('finished', 'failed')") == {"train-1", "eval"}
    assert found("status != 'running'") == {"train-1", "eval"}
    assert found("name = 'eval'") == {"eval"}
    assert found("name like 'train-%'") == {"train-1", "train-2"}
    assert found("attributes.name ilike 'TRAIN%'") == {"train-1", "train-2"}
    assert found(f"run_id = '{b.id}'") == {"train-2"}
    assert found(f"id in ('{a.id}', '{c.id}')") == {"train-1", "eval"}
    assert found(f"run_id like '{b.id[:10]}%'") == {"train-2"}
    assert found("experiment = 'beta'") == {"eval"}
    assert found("attributes.experiment != 'beta'") == {"train-1", "train-2"}
    assert found("experiment = 'beta' and status = 'running'") == set()


def test_start_time_compares_with_an_iso_date_or_epoch_milliseconds(store: Store) -> None:
    early = store.create_run("exp", name="early")
    time.sleep(0.02)
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.02)
    late = store.create_run("exp", name="late")
    assert early.start_time < int(between.timestamp() * 1000) < late.start_time

    def found(expression: str) -> set[str | None]:
        return name_set(store.search_runs(filter=expression))

    assert found("start_time > '2000-01-01'") == {"early", "late"}
    assert found("start_time < '2000-01-01'") == set()
    assert found("start_time > '2999-01-01T00:00:00+00:00'") == set()
    assert found(f"start_time > '{between.isoformat()}'") == {"late"}
    assert found(f"start_time < '{between.isoformat()}'") == {"early"}
    # a naive ISO time is UTC
    naive = between.replace(tzinfo=None).isoformat()
    assert found(f"start_time <= '{naive}'") == {"early"}
    assert found(f"start_time >= {late.start_time}") == {"late"}
    assert found(f"start_time = {early.start_time}") == {"early"}


def test_is_null_and_is_not_null_select_runs_without_and_with_a_value(store: Store) -> None:
    full = store.create_run("exp", name="full", tags={"note": "x"})
    store.create_run("exp", name="bare")
    store.log_metrics(full.id, [point("loss", 0.1, 0, 1)])
    store.log_params(full.id, {"lr": "0.1"})
    store.end_run(full.id, "finished")

    def found(expression: str) -> set[str | None]:
        return name_set(store.search_runs(filter=expression))

    assert found("metrics.loss is null") == {"bare"}
    assert found("metrics.loss is not null") == {"full"}
    assert found("params.lr IS NULL") == {"bare"}
    assert found("params.lr is not null") == {"full"}
    assert found("tags.note is null") == {"bare"}
    assert found("tags.note is not null") == {"full"}
    assert found("end_time is null") == {"bare"}
    assert found("end_time is not null") == {"full"}
    assert found("name is not null") == {"full", "bare"}
    assert name_set(store.search_runs(filter="name is null")) == set()


def test_and_binds_tighter_than_or_and_parentheses_group(store: Store) -> None:
    for name, lr, acc in (("x", "1", 0.9), ("y", "2", 0.9), ("z", "2", 0.1), ("w", "3", 0.9)):
        run = store.create_run("exp", name=name)
        store.log_params(run.id, {"lr": lr})
        store.log_metrics(run.id, [point("acc", acc, 0, 1)])

    def found(expression: str) -> set[str | None]:
        return name_set(store.search_runs(filter=expression))

    assert found("params.lr = '1' or params.lr = '2' and metrics.acc > 0.5") == {"x", "y"}
    assert found("(params.lr = '1' or params.lr = '2') and metrics.acc > 0.5") == {"x", "y"}
    assert found("(params.lr = '1' or params.lr = '2') and metrics.acc < 0.5") == {"z"}
    assert found("params.lr = '1' or params.lr = '2' and metrics.acc < 0.5") == {"x", "z"}
    assert found("metrics.acc > 0.5 and (params.lr = '3' or (params.lr = '1'))") == {"x", "w"}
    assert found("params.lr = '1' OR params.lr = '3' OR metrics.acc < 0.5") == {"x", "w", "z"}


def test_a_filter_that_does_not_parse_is_a_filter_syntax_error(store: Store) -> None:
    store.create_run("exp")
    with pytest.raises(FilterSyntaxError):
        store.search_runs(filter="metrics.auc >")
    with pytest.raises(InvalidInputError):
        store.search_runs(filter="params.x < 'a'")
    with pytest.raises(FilterSyntaxError):
        store.search_runs(order_by="metrics.auc sideways")


def test_a_blank_filter_matches_every_run(store: Store) -> None:
    make_runs(store, "exp", 3)
    assert len(store.search_runs(filter="   ")) == 3
    assert len(store.search_runs(filter=None)) == 3


# -- search: ordering and paging ------------------------------------------------------------------
def test_runs_come_newest_first_by_default(store: Store) -> None:
    for name in ("one", "two", "three"):
        store.create_run("exp", name=name)
        time.sleep(0.002)

    assert names(store.search_runs()) == ["three", "two", "one"]


def test_order_by_a_metric_descending_puts_runs_without_it_last(scored: Store) -> None:
    assert names(scored.search_runs(order_by="metrics.score desc")) == ["c", "b", "a", "d"]
    assert names(scored.search_runs(order_by=["metrics.score DESC"])) == ["c", "b", "a", "d"]


def test_order_by_a_metric_ascending_also_puts_runs_without_it_last(scored: Store) -> None:
    assert names(scored.search_runs(order_by="metrics.score")) == ["a", "b", "c", "d"]
    assert names(scored.search_runs(order_by="metrics.score asc")) == ["a", "b", "c", "d"]


def test_order_by_several_keys_sorts_by_the_first_then_the_next(store: Store) -> None:
    for name, group, score in (
        ("g1-low", "1", 0.1),
        ("g2-high", "2", 0.9),
        ("g1-high", "1", 0.8),
        ("g2-low", "2", 0.2),
        ("g1-none", "1", None),
    ):
        run = store.create_run("exp", name=name)
        store.log_params(run.id, {"group": group})
        if score is not None:
            store.log_metrics(run.id, [point("score", score, 0, 1)])

    expected = ["g1-high", "g1-low", "g1-none", "g2-high", "g2-low"]
    assert names(store.search_runs(order_by="params.group asc, metrics.score desc")) == expected
    assert names(store.search_runs(order_by=["params.group", "metrics.score desc"])) == expected
    assert names(store.search_runs(order_by=["params.group desc", "name"])) == [
        "g2-high",
        "g2-low",
        "g1-high",
        "g1-low",
        "g1-none",
    ]


def test_order_by_an_attribute(store: Store) -> None:
    for name in ("beta", "alpha", "gamma"):
        store.create_run("exp", name=name)
    assert names(store.search_runs(order_by="name")) == ["alpha", "beta", "gamma"]
    assert names(store.search_runs(order_by="attributes.name desc")) == ["gamma", "beta", "alpha"]


def test_limit_and_offset_page_through_the_ordered_runs(store: Store) -> None:
    for i in range(5):
        run = store.create_run("exp", name=f"r{i}")
        store.log_metrics(run.id, [point("i", float(i), 0, 1)])

    assert names(store.search_runs(order_by="metrics.i", limit=2)) == ["r0", "r1"]
    assert names(store.search_runs(order_by="metrics.i", limit=2, offset=2)) == ["r2", "r3"]
    assert names(store.search_runs(order_by="metrics.i", limit=2, offset=4)) == ["r4"]
    assert names(store.search_runs(order_by="metrics.i", limit=2, offset=9)) == []
    assert names(store.search_runs(order_by="metrics.i", limit=None, offset=3)) == ["r3", "r4"]
    assert names(store.search_runs(order_by="metrics.i", limit=0)) == []


def test_search_runs_returns_at_most_100_runs_by_default(store: Store) -> None:
    make_runs(store, "exp", 102)
    assert len(store.search_runs()) == 100
    assert len(store.search_runs(limit=None)) == 102


@pytest.mark.parametrize("bad", [{"limit": -1}, {"offset": -1}, {"limit": "10"}])
def test_a_negative_limit_or_offset_is_an_invalid_input(store: Store, bad: dict) -> None:
    with pytest.raises(InvalidInputError):
        store.search_runs(**bad)


def test_search_runs_can_be_restricted_to_some_experiments(store: Store) -> None:
    store.create_run("a", name="a1")
    store.create_run("a", name="a2")
    store.create_run("b", name="b1")
    store.create_run("c", name="c1")

    assert name_set(store.search_runs(experiments=["a"])) == {"a1", "a2"}
    assert name_set(store.search_runs(experiments=["a", "c"])) == {"a1", "a2", "c1"}
    assert name_set(store.search_runs(experiments=["missing"])) == set()
    assert name_set(store.search_runs(experiments=["a", "b"], filter="name != 'a1'")) == {
        "a2",
        "b1",
    }
    assert {r.experiment for r in store.search_runs(experiments=["b"])} == {"b"}


def test_search_results_carry_the_full_run(store: Store) -> None:
    run = store.create_run("exp", name="full", tags={"t": "1"})
    store.log_params(run.id, {"p": "v"})
    store.log_metrics(run.id, [point("m", 2.0, 0, 1)])
    store.add_artifact(run.id, "model", DIGEST_A, 5)

    [found] = store.search_runs(filter="name = 'full'")

    assert found == store.get_run(run.id)
    assert found.params == {"p": "v"}
    assert found.metrics == {"m": 2.0}
    assert found.tags == {"t": "1"}
    assert found.artifacts["model"].digest == DIGEST_A


def test_count_runs_counts_all_runs_or_those_of_some_experiments(store: Store) -> None:
    assert store.count_runs() == 0
    make_runs(store, "a", 3)
    make_runs(store, "b", 2)
    store.get_or_create_experiment("empty")

    assert store.count_runs() == 5
    assert store.count_runs(experiments=["a"]) == 3
    assert store.count_runs(experiments=["a", "b"]) == 5
    assert store.count_runs(experiments=["empty"]) == 0
    assert store.count_runs(experiments=["missing"]) == 0
