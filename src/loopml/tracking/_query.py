"""Reading runs back: ``loopml.runs()`` as a DataFrame, ``loopml.get_run()`` as a record."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from loopml._errors import InvalidInputError, NotFoundError
from loopml.store import Experiment, MetricPoint, Run

if TYPE_CHECKING:
    import pandas as pd

    from loopml._workspace import Workspace


def _workspace(path: str | os.PathLike[str] | None) -> Workspace:
    from loopml._workspace import workspace

    return workspace(path)


def _check_experiments(ws: Workspace, names: list[str]) -> None:
    known = {e.name for e in ws.store.list_experiments()}
    missing = [n for n in names if n not in known]
    if missing:
        listing = ", ".join(sorted(known)) or "none yet"
        raise NotFoundError(
            f"no experiment named {', '.join(map(repr, missing))}; experiments: {listing}"
        )


def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    limit: int | None = 1000,
    offset: int = 0,
    path: str | os.PathLike[str] | None = None,
) -> list[Run]:
    """Like :func:`runs`, as a list of :class:`Run` records (no pandas)."""
    ws = _workspace(path)
    names = (
        None
        if experiment is None
        else [experiment]
        if isinstance(experiment, str)
        else list(experiment)
    )
    found = ws.store.search_runs(
        experiments=names, filter=filter, order_by=order_by, limit=limit, offset=offset
    )
    if not found and names:
        _check_experiments(ws, names)  # nothing found: say so if a name is mistyped
    return found


def runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    limit: int | None = 1000,
    offset: int = 0,
    path: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Search runs; one row per run, newest first unless ``order_by`` says otherwise.

    Columns: ``run_id, experiment, name, status, start_time, end_time, duration_s``, then
    ``params.*``, ``metrics.*`` (latest values) and ``tags.*``::

        loopml.runs(experiment="fraud", filter="metrics.auc > 0.9 and params.C = '1.0'",
                    order_by="metrics.auc desc", limit=10)

    See :mod:`loopml.store._filter` (or docs/guide/tracking.md) for the filter language.
    """
    import pandas as pd

    found = search_runs(experiment, filter, order_by, limit, offset, path)
    base = ["run_id", "experiment", "name", "status", "start_time", "end_time", "duration_s"]
    rows = []
    param_keys: dict[str, None] = {}
    metric_keys: dict[str, None] = {}
    tag_keys: dict[str, None] = {}
    for run in found:
        row: dict[str, object] = {
            "run_id": run.id,
            "experiment": run.experiment,
            "name": run.name,
            "status": run.status,
            "start_time": run.started,
            "end_time": run.ended,
            "duration_s": run.duration,
        }
        for key, value in run.params.items():
            param_keys[key] = None
            row[f"params.{key}"] = value
        for key, number in run.metrics.items():
            metric_keys[key] = None
            row[f"metrics.{key}"] = number
        for key, value in run.tags.items():
            tag_keys[key] = None
            row[f"tags.{key}"] = value
        rows.append(row)
    columns = (
        base
        + [f"params.{k}" for k in sorted(param_keys)]
        + [f"metrics.{k}" for k in sorted(metric_keys)]
        + [f"tags.{k}" for k in sorted(tag_keys)]
    )
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def get_run(run_id: str, path: str | os.PathLike[str] | None = None) -> Run:
    """Everything stored about one run (a full id or a unique prefix)."""
    from loopml.tracking._api import active_run

    current = active_run()
    if current is not None and run_id == current.id:
        current.flush()
    return _workspace(path).store.get_run(run_id)


def metric_history(
    run_id: str, key: str, path: str | os.PathLike[str] | None = None
) -> list[MetricPoint]:
    """Every logged point of one metric of a run, by step."""
    from loopml.tracking._api import active_run

    current = active_run()
    if current is not None and run_id == current.id:
        current.flush()
    return _workspace(path).store.metric_history(run_id, key)


def experiments(path: str | os.PathLike[str] | None = None) -> list[Experiment]:
    """Every experiment with its number of runs."""
    return _workspace(path).store.list_experiments()


def load_artifact(run_id: str, name: str, path: str | os.PathLike[str] | None = None) -> bytes:
    """The verified content of a run's artifact."""
    ws = _workspace(path)
    run = ws.store.get_run(run_id)
    ref = run.artifacts.get(name)
    if ref is None:
        listing = ", ".join(sorted(run.artifacts)) or "none"
        raise NotFoundError(f"run {run.id} has no artifact {name!r}; it has: {listing}")
    return ws.artifacts.get_bytes(ref.digest)


def download_artifacts(
    run_id: str,
    destination: str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write a run's artifacts under ``destination``, each at its name as a relative path.

    A name that would land outside ``destination`` (``..``, absolute, drive letters) is
    refused with :class:`InvalidInputError`; nothing is written for it.
    """
    ws = _workspace(path)
    run = ws.store.get_run(run_id)
    root = Path(destination).resolve()
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for name, ref in run.artifacts.items():
        target = safe_join(root, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        ws.artifacts.copy_to(ref.digest, target)
        written.append(target)
    return written


def safe_join(root: Path, name: str) -> Path:
    """``root / name`` if it stays inside ``root``, else InvalidInputError."""
    parts = name.replace("\\", "/").split("/")
    if (
        not name
        or name.startswith(("/", "\\"))
        or (len(parts[0]) == 2 and parts[0][1] == ":")
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise InvalidInputError(
            f"artifact name {name!r} cannot be written as a file under {root}: it is absolute "
            "or climbs out of the folder; read it with loopml.load_artifact instead"
        )
    target = root.joinpath(*parts).resolve()
    if not target.is_relative_to(root):
        raise InvalidInputError(f"artifact name {name!r} leads outside {root}; refused")
    return target
