"""What a run records about where it ran: code version, interpreter, platform, packages.

Git state and the package list are computed once per process and folder (they rarely change
while a process lives), so starting many runs stays cheap.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

MAX_DIFF_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class GitState:
    """The commit a run's code came from and a hash of uncommitted changes."""

    commit: str | None = None
    branch: str | None = None
    dirty: bool = False
    changes_sha256: str | None = None
    diff: bytes | None = field(default=None, repr=False)


def _git(args: list[str], cwd: Path) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


@cache
def git_state(cwd: Path) -> GitState:
    """Commit, branch and a sha256 over the diff against HEAD plus untracked files' content."""
    if not os.environ.get("GIT_DIR") and not any(
        (folder / ".git").exists() for folder in (cwd, *cwd.parents)
    ):
        return GitState()  # not in a repository: no git process to start
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return GitState()
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
    diff = _git(["diff", "HEAD", "--binary"], cwd) or b""
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], cwd) or b""
    hasher = hashlib.sha256(diff)
    if untracked:
        names = [n for n in untracked.split(b"\0") if n]
        # git hashes the files' contents itself: fast, and no file is read into Python.
        done = subprocess.run(
            ["git", "hash-object", "--stdin-paths"],
            cwd=cwd,
            input=b"\n".join(names),
            capture_output=True,
            timeout=30,
            check=False,
        )
        hashes = done.stdout if done.returncode == 0 else b""
        hasher.update(b"\0untracked\0" + b"\0".join(names) + b"\0" + hashes)
    dirty = bool(diff or untracked)
    return GitState(
        commit=commit.decode().strip(),
        branch=branch.decode().strip() if branch else None,
        dirty=dirty,
        changes_sha256=hasher.hexdigest() if dirty else None,
        diff=diff if diff and len(diff) <= MAX_DIFF_BYTES else None,
    )


@cache
def requirements_txt() -> bytes:
    """Installed distributions as ``name==version`` lines, sorted (pip freeze style).

    Read from the names of the ``*.dist-info`` and ``*.egg-info`` folders on ``sys.path``
    (``name-version.dist-info``, as the wheel spec writes them): about 1 ms, where parsing
    every distribution's METADATA file with :mod:`importlib.metadata` takes 40-100 ms, paid
    by every new process that starts a run. Names are shown with ``-`` for ``_``.
    """
    pins = set()
    for entry in sys.path:
        try:
            children = os.scandir(entry or ".")
        except OSError:  # a zip file, a missing folder
            continue
        with children:
            for child in children:
                pin = _pin(child.name)
                if pin is not None:
                    pins.add(pin)
    return ("\n".join(sorted(pins, key=str.lower)) + "\n").encode()


def _pin(folder: str) -> str | None:
    """``name==version`` from ``name-version.dist-info`` (or ``.egg-info``), else None."""
    stem, dot, suffix = folder.rpartition(".")
    if not dot or suffix not in ("dist-info", "egg-info"):
        return None
    name, dash, rest = stem.partition("-")
    version = rest.split("-", 1)[0]  # egg-info may add -pyX.Y
    if not (dash and name and version):
        return None
    return f"{name.replace('_', '-')}=={version}"


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@cache
def system_tags(git: GitState, host: str) -> dict[str, str]:
    """The ``loopml.*`` tags every run gets."""
    tags = {
        "loopml.python": platform.python_version(),
        "loopml.platform": platform.platform(),
        "loopml.command": shlex.join(sys.argv) if sys.argv and sys.argv[0] else "<interactive>",
        "loopml.user": _user(),
        "loopml.host": host,
    }
    if git.commit:
        tags["loopml.git.commit"] = git.commit
        tags["loopml.git.dirty"] = "true" if git.dirty else "false"
        if git.branch:
            tags["loopml.git.branch"] = git.branch
        if git.changes_sha256:
            tags["loopml.git.changes_sha256"] = git.changes_sha256
    return tags
