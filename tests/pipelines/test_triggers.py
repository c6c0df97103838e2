"""Triggers and the agent: schedules, new dataset versions, watched folders, fired events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import loopml
from loopml.pipelines._triggers import Agent

FLOW = textwrap.dedent(
    """
    import loopml
    from loopml.data import datasets


    @loopml.step
    def count(dataset: str) -> int:
        name, version = dataset.rsplit("/", 1)
        return datasets.get(name, int(version)).rows


    @loopml.pipeline(on_new_data="transactions")
    def retrain(dataset: str = "transactions/1"):
        return count(dataset)


    @loopml.pipeline(on_new_data="incoming/*.csv")
    def ingest(dataset: str = ""):
        return count(dataset)


    @loopml.step
    def hello(x: int) -> int:
        return x + 1


    @loopml.pipeline(schedule="*/5 * * * *")
    def every_five(x: int = 1):
        return hello(x)


    @loopml.pipeline
    def on_demand(x: int = 2):
        return hello(x)


    @loopml.step
    def slow(x: int) -> int:
        import os
        import time

        if not os.path.exists("second-time"):
            open("second-time", "w").close()
            time.sleep(60)
        return x


    @loopml.pipeline
    def long_job(x: int = 3):
        return slow(x)
    """
)


@pytest.fixture
def flow(project: Path) -> Path:
    (project / "flow.py").write_text(FLOW)
    (project / "incoming").mkdir()
    loopml.init(project)
    yield project / "flow.py"
    sys.modules.pop("flow", None)


def _runs(experiment: str) -> list[loopml.Run]:
    if experiment not in {e.name for e in loopml.experiments()}:
        return []
    return loopml.search_runs(experiment, filter="tags.loopml.kind = 'pipeline'")


def test_a_new_dataset_version_starts_its_pipeline_once(flow: Path) -> None:
    loopml.datasets.register(pd.DataFrame({"a": [1, 2, 3]}), "transactions")
    agent = Agent([f"{flow}:retrain"], report=lambda _: None)
    agent.tick()
    agent.tick()  # the same version again: nothing new
    assert len(_runs("retrain")) == 1
    second = Agent([f"{flow}:retrain"], report=lambda _: None)  # a restarted agent
    second.tick()
    assert len(_runs("retrain")) == 1
    loopml.datasets.register(pd.DataFrame({"a": [1, 2, 3, 4]}), "transactions")
    second.tick()
    runs = _runs("retrain")
    assert len(runs) == 2 and runs[0].params["dataset"] == '"transactions/2"'
    firings = loopml.workspace().store.list_firings("retrain")
    assert [f.state for f in firings] == ["done", "done"] and firings[0].run_id == runs[0].id


def test_a_file_dropped_in_a_watched_folder_is_registered_and_started_when_stable(
    flow: Path,
) -> None:
    agent = Agent([f"{flow}:ingest"], report=lambda _: None)
    (flow.parent / "incoming" / "batch-1.csv").write_text("a,b\n1,2\n3,4\n")
    agent.tick()  # first sight: not yet stable
    assert _runs("ingest") == []
    agent.tick()
    runs = _runs("ingest")
    assert len(runs) == 1 and runs[0].params["dataset"] == '"ingest.incoming/1"'
    assert loopml.datasets.get("ingest.incoming").rows == 2
    agent.tick()
    assert len(_runs("ingest")) == 1


def test_a_schedule_fires_once_per_due_time(flow: Path) -> None:
    agent = Agent([f"{flow}:every_five"], report=lambda _: None)
    agent.started = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    agent.tick(datetime(2026, 1, 1, 12, 3, tzinfo=UTC))  # due 12:00
    agent.tick(datetime(2026, 1, 1, 12, 4, tzinfo=UTC))  # still 12:00
    assert len(_runs("every_five")) == 1
    agent.tick(datetime(2026, 1, 1, 12, 5, tzinfo=UTC) + timedelta(seconds=1))
    assert len(_runs("every_five")) == 2


def test_fire_starts_a_pipeline_and_the_same_key_fires_once(flow: Path) -> None:
    agent = Agent([f"{flow}:on_demand"], report=lambda _: None)
    assert loopml.triggers.fire("on_demand", "drift on amount", {"share": 0.6}) is not None
    assert loopml.triggers.fire("on_demand", "drift on amount", {"share": 0.6}) is None
    agent.tick()
    assert len(_runs("on_demand")) == 1


def test_bad_schedules_and_unimportable_pipelines_get_clear_errors(flow: Path) -> None:
    with pytest.raises(loopml.InvalidInputError, match="5 fields"):
        loopml.pipeline(schedule="0 3 * *")
    with pytest.raises(loopml.InvalidInputError, match="not a cron expression"):
        loopml.pipeline(schedule="61 3 * * *")
    notes: list[str] = []
    agent = Agent([f"{flow}:on_demand", "missing.py:gone"], report=notes.append)
    assert list(agent.pipelines) == ["on_demand"] and "skipping missing.py:gone" in notes[0]
    with pytest.raises(loopml.InvalidInputError, match="no pipeline"):
        Agent(["missing.py:gone"], report=notes.append)


@pytest.mark.slow
def test_the_agent_stops_cleanly_on_sigterm(flow: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    agent = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "loopml"),
            "agent",
            f"{flow}:on_demand",
            "--poll",
            "0.2",
        ],
        cwd=flow.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(4)
        loopml.triggers.fire("on_demand", "test", {})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _runs("on_demand"):
            time.sleep(0.3)
        assert len(_runs("on_demand")) == 1
        agent.send_signal(signal.SIGTERM)
        out, err = agent.communicate(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
    assert agent.returncode == 0, err
    assert "stopped" in out


@pytest.mark.slow
def test_an_agent_killed_mid_run_leaves_a_killed_run_and_the_firing_is_run_again(
    flow: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    loopml.triggers.fire("long_job", "test", {})
    agent = subprocess.Popen(
        [str(Path(sys.executable).parent / "loopml"), "agent", f"{flow}:long_job", "--poll", "0.2"],
        cwd=flow.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        store = loopml.workspace().store
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            firing = store.list_firings("long_job")[0]
            if firing.state == "started" and (flow.parent / "second-time").exists():
                break
            time.sleep(0.2)
        assert firing.state == "started" and firing.run_id is not None
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
    from loopml import _workspace

    for ws in list(_workspace._open.values()):  # reopen the store: dead runs are reaped on open
        ws.close()
    _workspace._open.clear()
    killed_run = loopml.get_run(firing.run_id)
    assert killed_run.status == "killed"
    Agent([f"{flow}:long_job"], report=lambda _: None).tick()
    again = loopml.workspace().store.list_firings("long_job")[0]
    assert again.state == "done" and again.attempts == 2 and again.run_id != firing.run_id
    assert loopml.get_run(again.run_id).status == "finished"
