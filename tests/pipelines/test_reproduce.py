"""loopml reproduce: same code, parameters and seed; refuses other code unless told."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import loopml
from loopml.pipelines._loader import load_pipeline
from loopml.pipelines._reproduce import reproduce
from loopml.pipelines._runner import run_pipeline

FLOW = """
import random

import loopml


@loopml.step
def draw(n: int) -> list:
    return [round(x * 1.5, 3) for x in range(n)]


@loopml.step
def total(xs: list) -> float:
    loopml.log_metric("total", sum(xs))
    return float(sum(xs))


@loopml.step(deterministic=False)
def noisy(x: float) -> float:
    return x + random.random()


@loopml.pipeline
def flow(n: int = 5):
    return total(draw(n))


@loopml.pipeline
def noisy_flow(n: int = 5):
    return noisy(total(draw(n)))
"""


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(project: Path) -> Path:
    (project / "flow.py").write_text(FLOW)
    (project / ".gitignore").write_text(".loopml/\n__pycache__/\n")
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "flow")
    loopml.init(project)
    yield project
    sys.modules.pop("flow", None)


def test_a_deterministic_pipeline_run_reproduces_exactly(repo: Path) -> None:
    target = f"{repo / 'flow.py'}:flow"
    first = run_pipeline(load_pipeline(target), {"n": 6}, target=target)
    again = reproduce(first.run_id)
    assert again.matches and again.new_run != first.run_id
    names = {(c.step, c.name) for c in again.comparisons}
    assert ("total", "output") in names and ("total", "metric:total") in names
    assert loopml.get_run(again.new_run).params["n"] == "6"


def test_a_non_deterministic_step_is_reported_as_different(repo: Path) -> None:
    target = f"{repo / 'flow.py'}:noisy_flow"
    first = run_pipeline(load_pipeline(target), {}, target=target)
    again = reproduce(first.run_id)
    assert not again.matches
    assert [c.step for c in again.comparisons if not c.matches] == ["noisy"]


def test_changed_code_is_refused_unless_allowed(repo: Path) -> None:
    target = f"{repo / 'flow.py'}:flow"
    first = run_pipeline(load_pipeline(target), {"n": 4}, target=target)
    (repo / "flow.py").write_text(FLOW.replace("x * 1.5", "x * 2.5"))
    with pytest.raises(loopml.InvalidInputError, match="uncommitted changes differ"):
        reproduce(first.run_id)
    sys.modules.pop("flow", None)
    allowed = reproduce(first.run_id, allow_dirty=True)
    assert not allowed.matches


def test_only_pipeline_runs_with_a_target_can_be_reproduced(repo: Path) -> None:
    with loopml.start_run(name="plain") as run:
        pass
    with pytest.raises(loopml.InvalidInputError, match="not a pipeline run"):
        reproduce(run.id)
    started_from_python = load_pipeline(f"{repo / 'flow.py'}:flow").run(n=2)
    with pytest.raises(loopml.InvalidInputError, match="does not record which file"):
        reproduce(started_from_python.run_id)
