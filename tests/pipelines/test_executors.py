"""The process and Ray executors: same results, caching and lineage as in-process; faults."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import loopml
from loopml.pipelines._loader import load_pipeline
from loopml.pipelines._runner import StepFailedError

FLOW = textwrap.dedent(
    """
    import os
    import signal
    import time

    import loopml
    import pandas as pd


    @loopml.step
    def make(n: int) -> pd.DataFrame:
        return pd.DataFrame({"x": range(n)})


    @loopml.step
    def total(data: pd.DataFrame, tag: str) -> dict:
        print("working on", tag)
        start = time.time()
        time.sleep(0.5)
        return {"tag": tag, "sum": int(data["x"].sum()), "pid": os.getpid(), "start": start,
                "end": time.time()}


    @loopml.step
    def combine(a: dict, b: dict) -> int:
        return a["sum"] + b["sum"]


    @loopml.pipeline
    def fan(n: int = 10):
        data = make(n)
        return combine(total(data, "a"), total(data, "b"))


    @loopml.step
    def die(n: int) -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return n


    @loopml.pipeline
    def killed(n: int = 1):
        return die(n)


    @loopml.step(resources={"cpu": 64})
    def greedy(n: int) -> int:
        return n


    @loopml.pipeline
    def too_big(n: int = 1):
        return greedy(n)


    @loopml.step
    def scored(n: int) -> int:
        loopml.log_metric("loss", 0.5, step=1)
        loopml.log_metric("loss", 0.25, step=2)
        loopml.log_metrics({"auc": 0.9})
        loopml.log_params({"layers": 3})
        loopml.set_tag("stage", "train")
        loopml.log_artifact(b"hello", name="notes.txt")
        assert loopml.active_run().name == "scored"
        return n


    @loopml.pipeline
    def logging(n: int = 2):
        return scored(n)


    @loopml.step
    def relog(n: int) -> int:
        loopml.log_param("n", 5)  # the step's own parameter n is 1
        return n


    @loopml.pipeline
    def conflicting(n: int = 1):
        return relog(n)
    """
)


def _check_logged_on_the_step_run(executor: str) -> None:
    result = load_pipeline("flow.py:logging").run(executor=executor, cache=False)
    run = loopml.get_run(result.steps["scored"].run_id)
    assert run.metrics == {"loss": 0.25, "auc": 0.9}
    assert [p.value for p in loopml.metric_history(run.id, "loss")] == [0.5, 0.25]
    assert run.params["layers"] == "3" and run.tags["stage"] == "train"
    assert loopml.load_artifact(run.id, "notes.txt") == b"hello"


@pytest.fixture
def flow(project: Path) -> Path:
    path = project / "flow.py"
    path.write_text(FLOW)
    loopml.init(project)
    yield path
    sys.modules.pop("flow", None)


def test_the_process_executor_gives_the_in_process_result_and_runs_steps_in_parallel(
    flow: Path,
) -> None:
    fan = load_pipeline(f"{flow}:fan")
    local = fan.run(n=10, cache=False)
    remote = fan.run(n=10, executor="process", cache=False)
    assert remote.output == local.output == 90
    from loopml.pipelines._runner import load_artifact

    a, b = (
        load_artifact(loopml.workspace(), remote.steps[s].outputs["output"])
        for s in ("total", "total_2")
    )
    assert a["pid"] != b["pid"]  # each step in a process of its own
    assert a["start"] < b["end"] and b["start"] < a["end"]  # and the two ran at the same time
    steps = loopml.search_runs("fan", filter=f"tags.loopml.pipeline_run = '{remote.run_id}'")
    runs = {r.name: r for r in steps}
    assert runs["total"].tags["loopml.worker"].startswith("process")
    info = loopml.get_run(remote.steps["total"].run_id)
    assert "loopml/stdout.txt" in info.artifacts


def test_steps_run_on_another_executor_are_cached_like_in_process_ones(flow: Path) -> None:
    fan = load_pipeline(f"{flow}:fan")
    first = fan.run(n=7, executor="process")
    again = fan.run(n=7)  # in-process now: every step comes from the process run's cache
    assert again.output == first.output == 42
    assert sorted(again.cached_steps) == ["combine", "make", "total", "total_2"]
    edges = loopml.workspace().store.lineage_of_run(first.steps["combine"].run_id)
    assert sorted(e.name for e in edges if e.direction == "in") == ["a", "b"]


def test_a_step_killed_by_a_signal_fails_with_the_signal_named(flow: Path) -> None:
    killed = load_pipeline(f"{flow}:killed")
    with pytest.raises(StepFailedError) as caught:
        killed.run(executor="process")
    assert loopml.get_run(caught.value.run_id).status == "failed"
    steps = loopml.search_runs("killed", filter="tags.loopml.kind = 'step'")
    assert steps[0].status == "failed"
    assert "killed by signal SIGKILL" in (steps[0].error or "")


def test_what_a_step_logs_in_a_child_process_goes_to_its_run(flow: Path) -> None:
    _check_logged_on_the_step_run("process")


def test_a_param_a_step_logs_against_its_own_parameter_fails_the_step(flow: Path) -> None:
    with pytest.raises(StepFailedError) as failed:
        load_pipeline("flow.py:conflicting").run(executor="process")
    [run] = loopml.search_runs(
        "conflicting", filter=f"tags.loopml.pipeline_run = '{failed.value.run_id}'"
    )
    assert run.name == "relog" and run.status == "failed"
    assert "params are fixed once logged" in (run.error or "")


def test_an_unknown_executor_is_refused(flow: Path) -> None:
    fan = load_pipeline(f"{flow}:fan")
    with pytest.raises(loopml.InvalidInputError, match="executor must be one of"):
        fan.run(executor="spark")


@pytest.mark.slow
def test_the_ray_executor_runs_steps_as_tasks_with_the_same_results(flow: Path) -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        fan = load_pipeline(f"{flow}:fan")
        on_ray = fan.run(n=10, executor="ray", cache=False)
        assert on_ray.output == 90
        steps = loopml.search_runs("fan", filter="tags.loopml.kind = 'step'")
        assert all(s.tags.get("loopml.worker", "").startswith("ray") for s in steps)
        again = fan.run(n=10)  # cached from the Ray run
        assert len(again.cached_steps) == 4
        _check_logged_on_the_step_run("ray")
        too_big = load_pipeline(f"{flow}:too_big")
        with pytest.raises(loopml.InvalidInputError, match="asks for 64 CPUs"):
            too_big.run(executor="ray")
    finally:
        ray.shutdown()
