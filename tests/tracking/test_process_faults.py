"""Runs survive what happens to their process: normal exit, crashes, SIGKILL, other writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import loopml
from loopml import _liveness
from loopml.store import open_store
from tests.tracking._scripts import child_env, run_script


def test_points_logged_without_a_with_block_are_flushed_at_interpreter_exit(
    project: Path,
) -> None:
    done = run_script(
        project,
        """
        import loopml
        run = loopml.start_run(experiment="exit")
        for i in range(5000):
            loopml.log_metric("loss", 1.0 / (i + 1), step=i)
        print(run.id)
        """,
    )
    run_id = done.stdout.split()[-1]
    run = loopml.get_run(run_id)
    assert run.status == "finished"
    assert len(loopml.metric_history(run_id, "loss")) == 5000


def test_an_uncaught_exception_without_a_with_block_marks_the_run_failed(project: Path) -> None:
    done = run_script(
        project,
        """
        import loopml
        run = loopml.start_run(experiment="exit")
        loopml.log_metric("x", 1.0)
        print(run.id, flush=True)
        raise RuntimeError("boom in the training loop")
        """,
        check=False,
    )
    assert done.returncode == 1
    run = loopml.get_run(done.stdout.split()[-1])
    assert run.status == "failed"
    assert run.error is not None and "boom in the training loop" in run.error
    assert run.metrics == {"x": 1.0}


@pytest.mark.slow
def test_a_sigkilled_run_is_marked_killed_and_keeps_what_was_flushed(project: Path) -> None:
    script = project / "victim.py"
    script.write_text(
        textwrap.dedent(
            """
            import time, loopml
            run = loopml.start_run(experiment="victim")
            for i in range(100):
                loopml.log_metric("loss", float(i), step=i)
            print(run.id, flush=True)
            time.sleep(60)
            """
        )
    )
    child = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=project,
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    time.sleep(2.5)  # longer than the 1 s flush interval
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    run = loopml.get_run(run_id)  # opening the store reaps dead runs
    assert run.status == "killed"
    assert run.error is not None and "ended without ending the run" in run.error
    assert len(loopml.metric_history(run_id, "loss")) == 100


def test_a_run_whose_heartbeat_went_stale_on_another_host_is_marked_killed(
    store_uri: str,
) -> None:
    store = open_store(store_uri)
    try:
        stale = store.create_run("e", host="elsewhere", pid=4242)
        fresh = store.create_run("e", host="elsewhere", pid=4243)
        old = int((time.time() - _liveness.STALE_AFTER_S - 60) * 1000)
        engine = store._engine  # type: ignore[attr-defined]
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE runs SET heartbeat_at = :old WHERE id = :id"),
                {"old": old, "id": stale.id},
            )
        killed = _liveness.reap(store)
        assert killed == [stale.id]
        assert store.get_run(stale.id).status == "killed"
        assert store.get_run(stale.id).end_time == old
        assert store.get_run(fresh.id).status == "running"
    finally:
        store.close()


def test_a_run_on_this_host_whose_pid_is_gone_is_marked_killed(store_uri: str) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store = open_store(store_uri)
    try:
        dead = store.create_run("e", host=_liveness.hostname(), pid=gone.pid)
        alive = store.create_run(
            "e",
            host=_liveness.hostname(),
            pid=os.getpid(),
            proc_start=_liveness.process_start(os.getpid()),
        )
        assert _liveness.reap(store) == [dead.id]
        assert store.get_run(alive.id).status == "running"
    finally:
        store.close()


def test_a_reused_pid_does_not_keep_a_dead_run_alive(store_uri: str) -> None:
    store = open_store(store_uri)
    try:
        # Our own pid, but a different process start time: the pid was reused.
        run = store.create_run("e", host=_liveness.hostname(), pid=os.getpid(), proc_start=1)
        assert _liveness.reap(store) == [run.id]
    finally:
        store.close()


WRITER = """
import sys, loopml
n = int(sys.argv[1])
with loopml.start_run(experiment="parallel", name=f"writer-{n}") as run:
    for i in range(1000):
        run.log_metric("value", float(n * 1000 + i), step=i)
        if i % 50 == 49:
            run.flush()  # many small transactions: maximal contention on the store
        if i % 250 == 0:
            run.set_tag(f"progress", str(i))
print(run.id)
"""


@pytest.mark.slow
def test_eight_processes_logging_at_once_lose_no_point_and_see_no_lock_error(
    workspace_env: str, project: Path
) -> None:
    script = project / "writer.py"
    script.write_text(textwrap.dedent(WRITER))
    env = child_env(LOOPML_URI=workspace_env)
    children = [
        subprocess.Popen(
            [sys.executable, str(script), str(n)],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    outputs = [child.communicate(timeout=180) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert "locked" not in err.lower(), err
    run_ids = [out.split()[-1] for out, _ in outputs]
    total = 0
    for run_id in run_ids:
        run = loopml.get_run(run_id)
        assert run.status == "finished"
        history = loopml.metric_history(run_id, "value")
        assert [p.step for p in history] == list(range(1000))
        total += len(history)
    assert total == 8000
