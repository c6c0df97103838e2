"""The module-level tracking API, familiar to MLflow users.

``loopml.start_run`` returns an :class:`ActiveRun`; the ``loopml.log_*`` functions act on the
innermost active run, starting one in experiment ``default`` if none is active.
"""

from __future__ import annotations

import atexit
import os
import random
import sys
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError
from loopml.store import ArtifactRef
from loopml.tracking._active import ActiveRun, _Background, check_key, to_text

if TYPE_CHECKING:
    from loopml._workspace import Workspace

DEFAULT_EXPERIMENT = "default"

_lock = threading.RLock()
_stack: list[ActiveRun] = []
_background = _Background()
_hooks_installed = False
_uncaught: str | None = None
_pending_seed: int | None = None


def _install_hooks() -> None:
    """Chain sys.excepthook and register atexit, the first time a run starts (not on import)."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        global _uncaught
        _uncaught = "".join(traceback.format_exception(exc_type, exc, tb))
        previous(exc_type, exc, tb)

    sys.excepthook = hook
    atexit.register(_end_all_at_exit)


def _end_all_at_exit() -> None:
    while _stack:
        run = _stack[-1]
        try:
            if _uncaught is not None:
                run.end("failed", error=_uncaught)
            else:
                run.end("finished")
        except Exception as exc:
            print(f"loopml: could not end run {run.id} at exit: {exc}", file=sys.stderr)
            _forget(run)


def _forget(run: ActiveRun) -> None:
    with _lock:
        if run in _stack:
            _stack.remove(run)
    _background.remove(run)


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    parent: ActiveRun | str | None = None,
    nested: bool = True,
    path: str | os.PathLike[str] | None = None,
) -> ActiveRun:
    """Start a tracked run and make it the active one.

    ``experiment`` defaults to the active run's experiment, else ``default``. A run started
    while another is active becomes its child (``parent``), unless ``nested=False``. Each run
    records its git commit, a hash of uncommitted changes, Python, platform, packages and
    command line. Use it as a context manager::

        with loopml.start_run(experiment="fraud", name="baseline") as run:
            loopml.log_metric("auc", 0.91)
    """
    from loopml import _liveness
    from loopml._workspace import workspace
    from loopml.tracking import _capture

    if experiment is not None and not isinstance(experiment, str):
        raise InvalidInputError(f"experiment must be a name (str), not {experiment!r}")
    if name is not None and (not isinstance(name, str) or len(name) > 256):
        raise InvalidInputError(f"run name must be a string of at most 256 characters: {name!r}")
    current = active_run()
    parent_id: str | None
    if isinstance(parent, ActiveRun):
        parent_id = parent.id
    elif isinstance(parent, str):
        parent_id = parent
    else:
        parent_id = current.id if (current is not None and nested) else None
    if experiment is None:
        experiment = current.experiment if current is not None else DEFAULT_EXPERIMENT
    user_tags = {check_key(k, "tag"): to_text(v, "tag", k) for k, v in (tags or {}).items()}
    if params is not None and not isinstance(params, Mapping):
        raise InvalidInputError(f"params must be a dict of name -> value, not {params!r}")
    param_rows = {check_key(k, "param"): to_text(v, "param", k) for k, v in (params or {}).items()}

    ws = workspace(path, create=True)
    store = ws.store
    git = _capture.git_state(Path.cwd())
    host = _liveness.hostname()
    pid = os.getpid()
    all_tags = {**_capture.system_tags(git, host), **user_tags}
    if _pending_seed is not None:
        all_tags["loopml.seed"] = str(_pending_seed)
    if parent_id is not None:
        parent_id = store.resolve_run_id(parent_id)
    first_artifacts = [_stored(ws, "loopml/requirements.txt", _capture.requirements_txt())]
    if git.diff:
        first_artifacts.append(_stored(ws, "loopml/git.diff", git.diff))
    record = store.create_run(
        experiment,
        name=name,
        tags=all_tags,
        parent_id=parent_id,
        host=host,
        pid=pid,
        proc_start=_liveness.process_start(pid),
        artifacts=first_artifacts,
        params=param_rows,
    )
    run = ActiveRun(ws, record)
    _install_hooks()
    with _lock:
        _stack.append(run)
    _background.add(run)
    return run


def _stored(ws: Workspace, name: str, data: bytes) -> ArtifactRef:
    digest, size = ws.artifacts.put_bytes(data)
    return ArtifactRef(name, digest, size, 0)


def active_run() -> ActiveRun | None:
    """The innermost run in progress, or None."""
    with _lock:
        return _stack[-1] if _stack else None


def _current() -> ActiveRun:
    run = active_run()
    return run if run is not None else start_run()


def end_run(status: str = "finished") -> None:
    """End the active run (no-op if none)."""
    run = active_run()
    if run is not None:
        run.end(status)


def log_param(key: str, value: Any) -> None:
    """Record a parameter of the active run."""
    _current().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Record several parameters of the active run."""
    _current().log_params(params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Record a metric value of the active run (buffered; see :class:`ActiveRun`)."""
    _current().log_metric(key, value, step=step, timestamp=timestamp)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Record several metric values of the active run at one step."""
    _current().log_metrics(metrics, step=step)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _current().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run."""
    _current().set_tags(tags)


def log_artifact(
    data: str | os.PathLike[str] | bytes | bytearray | memoryview, name: str | None = None
) -> ArtifactRef:
    """Store a file or bytes as an artifact of the active run."""
    return _current().log_artifact(data, name=name)


def log_artifacts(folder: str | os.PathLike[str], name: str | None = None) -> list[ArtifactRef]:
    """Store every file under a folder as artifacts of the active run."""
    return _current().log_artifacts(folder, name=name)


def seed(n: int) -> int:
    """Seed ``random``, NumPy and (when installed) PyTorch with ``n`` and record it.

    The seed is stored as the tag ``loopml.seed`` on the active run, or on the next run started.
    ``PYTHONHASHSEED`` is set for child processes.
    """
    global _pending_seed
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 2**32:
        raise InvalidInputError(f"seed must be an integer from 0 to 2**32 - 1, not {n!r}")
    import importlib.util

    import numpy as np

    random.seed(n)
    np.random.seed(n)
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.manual_seed(n)
    os.environ["PYTHONHASHSEED"] = str(n)
    _pending_seed = n
    run = active_run()
    if run is not None:
        run.set_tag("loopml.seed", str(n))
    return n
