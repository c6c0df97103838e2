"""What the benchmark scripts share: the child protocol, running a child, and tool venvs.

A benchmark runs every measurement in a fresh interpreter (often the benchmark script itself,
as ``--child``), which prints progress lines and one result line, each behind a marker. The
children of some benchmarks run in other tools' venvs, so this module, like the scripts, only
imports the standard library.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

RESULT, PROGRESS = "@@RESULT ", "@@PROGRESS "


# --------------------------------------------------------------------------
# Child side.
# --------------------------------------------------------------------------


def emit(result: dict[str, Any]) -> None:
    """Hand ``result`` to the parent (the child's one result line)."""
    print(RESULT + json.dumps(result), flush=True)


def progress(msg: str) -> None:
    """Tell the parent how far the child is; the parent shows it on stderr."""
    print(PROGRESS + msg, flush=True)


# --------------------------------------------------------------------------
# Parent side.
# --------------------------------------------------------------------------


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def child_env(
    drop: Iterable[str] = (), *, drop_prefixes: tuple[str, ...] = (), **values: str
) -> dict[str, str]:
    """This process's environment without the variables in ``drop`` or starting with one of
    ``drop_prefixes``, and with ``values`` set."""
    dropped = set(drop)
    env = {
        var: value
        for var, value in os.environ.items()
        if var not in dropped and not (drop_prefixes and var.startswith(drop_prefixes))
    }
    env.update(values)
    return env


def run_child(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str],
    verbose: bool,
    *,
    indent: str = "  ",
    tail_lines: int = 40,
    shown: str | None = None,
    timed: bool = False,
) -> dict[str, Any]:
    """Run ``cmd`` in ``cwd``; forward its progress lines (with ``verbose``, all its output) to
    stderr, indented by ``indent``; return its result dict. ``timed`` adds the wall time of the
    whole child process (start to exit) as ``wall_s``. If the child fails or gives no result,
    raise RuntimeError with its exit code, ``shown`` (default: the command) and the last
    ``tail_lines`` lines it printed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    tail: deque[str] = deque(maxlen=tail_lines)
    result: dict[str, Any] | None = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(RESULT):
            result = json.loads(line[len(RESULT) :])
        elif line.startswith(PROGRESS):
            say(indent + line[len(PROGRESS) :].rstrip())
        else:
            tail.append(line)
            if verbose:
                say(indent + "| " + line.rstrip())
    code = proc.wait()
    wall = time.perf_counter() - t0
    if code != 0 or result is None:
        shown = " ".join(cmd) if shown is None else shown
        raise RuntimeError(f"child failed (exit {code}): {shown}\n" + "".join(tail))
    if timed:
        result["wall_s"] = wall
    return result


def ensure_venv(
    venv: Path,
    pins: Sequence[str],
    probe: str,
    *,
    what: str | None = None,
    takes: str = "takes a few minutes",
) -> Path:
    """A venv at ``venv`` in which the Python statement ``probe`` runs; if it does not yet, make
    the venv (with python3.11 if there is one) and pip-install ``pins`` into it, saying
    ``installing {what} ({takes})`` (``what`` defaults to the pins). Returns its python."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", probe]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    if not python.exists():
        base = shutil.which("python3.11") or sys.executable
        say(f"creating {venv} ...")
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    say(f"installing {' '.join(pins) if what is None else what} ({takes}) ...")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--upgrade", "pip", *pins],
        check=True,
        stdout=sys.stderr,
    )
    return python


def show_report(
    report: dict[str, Any], as_json: bool, show: Callable[[dict[str, Any]], None], passed: bool
) -> int:
    """Print ``report`` as JSON or with ``show``; the exit code: 0 if ``passed``, else 1."""
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        show(report)
    return 0 if passed else 1
