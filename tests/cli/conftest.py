"""Helpers for CLI tests: run ``loopml`` in-process, and make runs with the Python API."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import loopml
from tests.pipelines._project import CodeProject, forget_modules_under


@dataclass
class Result:
    """What one ``loopml`` invocation did: exit code, stdout and stderr."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


Cli = Callable[..., Result]
Track = Callable[..., str]


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    return 1


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """``cli("runs", "list", "--json")`` runs ``loopml runs list --json`` through ``main``.

    The Rich consoles are rebuilt for a 120-column terminal (they are cached per process), and
    ``--debug`` (a process-wide switch) is reset, so tests do not leak into each other.
    """
    from loopml._cli import _output
    from loopml._cli import app as app_module

    monkeypatch.setitem(app_module._debug, "on", False)
    monkeypatch.setenv("COLUMNS", "120")
    _output.console.cache_clear()
    _output.err_console.cache_clear()

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            app_module.main(list(args))
        except SystemExit as exc:
            code = _exit_code(exc)
        else:
            code = 0
        out, err = capsys.readouterr()
        return Result(code, out, err)

    yield run
    _output.console.cache_clear()
    _output.err_console.cache_clear()


@pytest.fixture
def track() -> Track:
    """``track("exp", "name", params={...}, metrics={...}, fail=False)`` -> the new run's id."""

    def make(
        experiment: str,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        artifacts: Mapping[str, bytes] | None = None,
        fail: str | None = None,
    ) -> str:
        import loopml

        run_id = ""
        try:
            with loopml.start_run(experiment=experiment, name=name) as run:
                run_id = run.id
                if params:
                    loopml.log_params(params)
                for key, value in (metrics or {}).items():
                    loopml.log_metric(key, value)
                for artifact, data in (artifacts or {}).items():
                    loopml.log_artifact(data, name=artifact)
                if fail is not None:
                    raise RuntimeError(fail)
        except RuntimeError as exc:
            if fail is None or str(exc) != fail:
                raise
        return run_id

    return make


# -- a project with a pipeline file (``loopml run``, ``agent``, ``triggers``) ----------------
FLOW = """
import pandas as pd

import loopml


@loopml.step
def load(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(rows))})


@loopml.step
def total(data: pd.DataFrame, scale: float = 1.0) -> float:
    return float(data["x"].sum()) * scale


@loopml.pipeline
def flow(rows: int = 3, scale: float = 1.0, label: str = "x"):
    return total(load(rows), scale=scale)
"""


@pytest.fixture
def code(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CodeProject]:
    """An initialised project whose Python files the test writes (forgotten afterwards)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    loopml.init(project)
    yield CodeProject(project)
    forget_modules_under(project)


@pytest.fixture
def flow(code: CodeProject) -> CodeProject:
    code.write("flow.py", FLOW)
    return code


def one_line_error(result: Result, *words: str) -> str:
    assert result.code == 1, result
    assert "Traceback" not in result.err + result.out
    assert "internal error" not in result.err
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith("error: "), line
    for word in words:
        assert word in line, (word, line)
    return line
