"""What every run records about where it ran: git, interpreter, packages, command, seed."""

from __future__ import annotations

import hashlib
import platform
import random
import subprocess
from pathlib import Path

import pytest

import loopml
from loopml.tracking import _capture
from tests.tracking._scripts import run_script


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=folder, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(project: Path) -> Path:
    _git(project, "init", "-q", "-b", "main")
    _git(project, "config", "user.email", "t@example.com")
    _git(project, "config", "user.name", "t")
    (project / "train.py").write_text("print('v1')\n")
    (project / ".gitignore").write_text(".loopml/\nscript.py\n")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "first")
    return project


TRACK = """
import loopml
with loopml.start_run(experiment="env") as run:
    pass
print(run.id)
"""


def test_a_run_records_the_git_commit_of_a_clean_tree(repo: Path) -> None:
    run_id = run_script(repo, TRACK).stdout.split()[-1]
    tags = loopml.get_run(run_id).tags
    assert tags["loopml.git.commit"] == _git(repo, "rev-parse", "HEAD")
    assert tags["loopml.git.dirty"] == "false"
    assert tags["loopml.git.branch"] == "main"
    assert "loopml.git.changes_sha256" not in tags


def test_uncommitted_changes_are_hashed_and_the_diff_kept(repo: Path) -> None:
    (repo / "train.py").write_text("print('v2')\n")
    first = run_script(repo, TRACK).stdout.split()[-1]
    (repo / "train.py").write_text("print('v3')\n")
    second = run_script(repo, TRACK).stdout.split()[-1]
    a, b = loopml.get_run(first), loopml.get_run(second)
    assert a.tags["loopml.git.dirty"] == "true"
    assert a.tags["loopml.git.changes_sha256"] != b.tags["loopml.git.changes_sha256"]
    diff = loopml.load_artifact(first, "loopml/git.diff").decode()
    assert "+print('v2')" in diff


def test_untracked_files_change_the_changes_hash(repo: Path) -> None:
    (repo / "new.py").write_text("x = 1\n")
    first = _capture.git_state.__wrapped__(repo)
    (repo / "new.py").write_text("x = 2\n")
    second = _capture.git_state.__wrapped__(repo)
    assert first.dirty and second.dirty
    assert first.changes_sha256 != second.changes_sha256


def test_a_run_outside_git_records_no_commit(project: Path) -> None:
    run_id = run_script(project, TRACK).stdout.split()[-1]
    tags = loopml.get_run(run_id).tags
    assert "loopml.git.commit" not in tags


def test_a_run_records_python_platform_command_and_packages(project: Path) -> None:
    run_id = run_script(project, TRACK).stdout.split()[-1]
    run = loopml.get_run(run_id)
    assert run.tags["loopml.python"] == platform.python_version()
    assert "script.py" in run.tags["loopml.command"]
    assert run.tags["loopml.host"]
    requirements = loopml.load_artifact(run_id, "loopml/requirements.txt").decode()
    assert "SQLAlchemy==" in requirements or "sqlalchemy==" in requirements.lower()
    assert run.pid is not None


def test_seed_seeds_random_and_numpy_and_is_recorded(workspace_env: str) -> None:
    import numpy as np

    with loopml.start_run() as run:
        loopml.seed(123)
        first = (random.random(), np.random.rand())
        loopml.seed(123)
        again = (random.random(), np.random.rand())
    assert first == again
    assert loopml.get_run(run.id).tags["loopml.seed"] == "123"


def test_a_seed_set_before_a_run_is_recorded_on_the_next_run(workspace_env: str) -> None:
    loopml.seed(7)
    with loopml.start_run() as run:
        pass
    assert loopml.get_run(run.id).tags["loopml.seed"] == "7"


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "7", True])
def test_a_bad_seed_is_refused(bad: object) -> None:
    with pytest.raises(loopml.InvalidInputError, match="seed"):
        loopml.seed(bad)  # type: ignore[arg-type]


def test_the_changes_hash_covers_the_diff_bytes(repo: Path) -> None:
    (repo / "train.py").write_text("print('changed')\n")
    state = _capture.git_state.__wrapped__(repo)
    diff = subprocess.run(
        ["git", "diff", "HEAD", "--binary"], cwd=repo, capture_output=True, check=True
    ).stdout
    assert state.changes_sha256 == hashlib.sha256(diff).hexdigest()
    assert state.diff == diff


def test_the_recorded_packages_are_the_installed_distributions() -> None:
    from importlib.metadata import distributions

    from loopml.tracking._capture import requirements_txt

    def normal(pin: str) -> str:  # PEP 503: zope.event, zope_event and zope-event are one
        import re

        name, _, version = pin.partition("==")
        return f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}"

    # Uncached: sys.path may have grown since the first call (Ray adds a folder when imported).
    recorded = {normal(line) for line in requirements_txt.__wrapped__().decode().split()}
    installed = {normal(f"{d.name}=={d.version}") for d in distributions() if d.name}
    assert recorded == installed


@pytest.mark.parametrize(
    ("folder", "pin"),
    [
        ("scikit_learn-1.7.2.dist-info", "scikit-learn==1.7.2"),
        ("PyYAML-6.0.3.dist-info", "PyYAML==6.0.3"),
        ("zope.interface-7.0.dist-info", "zope.interface==7.0"),
        ("six-1.16.0-py3.11.egg-info", "six==1.16.0"),
        ("__editable___loopml_0_1_0_finder.py", None),
        ("numpy", None),
        ("broken.dist-info", None),
    ],
)
def test_a_pin_is_read_from_a_distribution_folder_name(folder: str, pin: str | None) -> None:
    from loopml.tracking._capture import _pin

    assert _pin(folder) == pin
