"""Fixtures for pipeline tests: project code that tests write, edit and re-import."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipelines._project import CodeProject, forget_modules_under


@pytest.fixture
def code(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CodeProject]:
    """The test's project folder as importable code; its modules are forgotten afterwards."""
    monkeypatch.setattr(sys, "path", [str(project), *sys.path])
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield CodeProject(project)
    forget_modules_under(project)
