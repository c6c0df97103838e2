"""The prediction log, read back: what the server predicted, and the labels that came later.

``loopml serve`` writes every prediction (see ``loopml.serving._predlog``); this module reads
it for monitoring and debugging::

    import loopml

    frame = loopml.predictions.read("fraud", since="2026-11-25")   # pandas, labels joined
    loopml.predictions.label("fraud", {"req-1": 1, "req-2": 0})     # ground truth, later
    loopml.predictions.segments("fraud")                            # the Parquet segments

A row's ``prediction_id`` is its request id when the request had one row, and
``<request id>/<row>`` otherwise; labels attach to prediction ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from loopml._errors import InvalidInputError

__all__ = ["export", "label", "read", "segments", "summary"]


def _workspace(path: Any = None) -> Any:
    from loopml._workspace import workspace

    return workspace(path)


def _ms(value: Any, what: str) -> int | None:
    """Milliseconds since the epoch from None, a datetime, an ISO date/time or epoch ms."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a date/time, not {value!r}")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(
                f"{what} {value!r} is not an ISO date or time; e.g. 2026-11-25 or "
                "2026-11-25T14:00:00+00:00"
            ) from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp() * 1000)
    raise InvalidInputError(f"{what} must be a date/time, not {type(value).__name__}")


def segments(model: str | None = None, *, version: Any = None, path: Any = None) -> list[Any]:
    """The compacted segments of the log (of one model, one version), oldest first."""
    ws = _workspace(path)
    return list(
        ws.store.list_prediction_segments(model, version=None if version is None else str(version))
    )


def _live_files(ws: Any, model: str, version: str | None) -> list[Path]:
    from loopml.serving._predlog import LOG_DIRNAME, _safe

    folder = ws.settings.workspace_dir / LOG_DIRNAME / _safe(model)
    if not folder.is_dir():
        return []
    pattern = f"{_safe(version)}/*.arrows*" if version is not None else "*/*.arrows*"
    return sorted(p for p in folder.glob(pattern) if not p.name.endswith(".parquet"))


def summary(model: str | None = None, *, path: Any = None) -> list[dict[str, Any]]:
    """One row per model version in the log: rows, segments, rows not yet compacted
    (``live_rows``), predictions with a label (``labelled``), first and last time (ms)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from loopml.serving._predlog import read_stream

    ws = _workspace(path)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    ids: dict[tuple[str, str], list[Any]] = {}

    def entry(key: tuple[str, str]) -> dict[str, Any]:
        if key not in rows:
            rows[key] = {
                "model": key[0],
                "version": key[1],
                "rows": 0,
                "segments": 0,
                "live_rows": 0,
                "labelled": 0,
                "first_ms": None,
                "last_ms": None,
            }
            ids[key] = []
        return rows[key]

    def span(row: dict[str, Any], first: int, last: int) -> None:
        row["first_ms"] = first if row["first_ms"] is None else min(row["first_ms"], first)
        row["last_ms"] = last if row["last_ms"] is None else max(row["last_ms"], last)

    for segment in ws.store.list_prediction_segments(model):
        key = (segment.model, segment.version)
        row = entry(key)
        row["rows"] += segment.rows
        row["segments"] += 1
        span(row, segment.first_ms, segment.last_ms)
        data = ws.artifacts.get_bytes(segment.digest)
        ids[key].append(pq.read_table(pa.BufferReader(data), columns=["prediction_id"]))
    models = [model] if model is not None else _logged_models(ws)
    for name in models:
        for file in _live_files(ws, name, None):
            try:
                table, _torn = read_stream(file)
            except OSError:
                continue
            if table is None or not table.num_rows:
                continue
            version = str(table.column("version")[0].as_py())
            key = (name, version)
            row = entry(key)
            row["rows"] += table.num_rows
            row["live_rows"] += table.num_rows
            ts = table.column("ts").cast("int64").to_pylist()
            span(row, min(ts), max(ts))
            ids[key].append(table.select(["prediction_id"]))
    for key, row in rows.items():
        wanted = [i for t in ids[key] for i in t.column("prediction_id").to_pylist()]
        row["labelled"] = len(ws.store.get_prediction_labels(key[0], wanted)) if wanted else 0
    return [rows[k] for k in sorted(rows)]


def _logged_models(ws: Any) -> list[str]:
    from loopml.serving._predlog import LOG_DIRNAME

    folder = ws.settings.workspace_dir / LOG_DIRNAME
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _read_labels(file: Path, *, id_column: str = "id", label_column: str = "label") -> list[Any]:
    """``(prediction id, label)`` pairs from a .csv, .parquet or .jsonl file."""
    import pandas as pd

    file = Path(file)
    if not file.is_file():
        raise InvalidInputError(f"{file} is not a file; give a .csv, .parquet or .jsonl of labels")
    suffix = file.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(file, dtype={id_column: str})
        elif suffix == ".parquet":
            frame = pd.read_parquet(file)
        elif suffix in (".jsonl", ".json"):
            frame = pd.read_json(file, lines=suffix == ".jsonl", dtype={id_column: str})
        else:
            raise InvalidInputError(
                f"cannot tell the format of {file.name!r}: use .csv, .parquet or .jsonl"
            )
    except (ValueError, OSError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(f"cannot read labels from {file}: {exc}") from None
    missing = [c for c in (id_column, label_column) if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"{file.name} has no column {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(map(str, frame.columns))} (choose with --id-column / --label-column)"
        )
    labels = frame[label_column].astype(object).where(frame[label_column].notna(), None)
    pairs = []
    for request_id, value in zip(frame[id_column].astype(str), labels, strict=True):
        if value is None:
            raise InvalidInputError(f"{file.name}: prediction {request_id!r} has no label")
        pairs.append((request_id, value.item() if hasattr(value, "item") else value))
    return pairs


def read(
    model: str,
    *,
    version: Any = None,
    since: Any = None,
    until: Any = None,
    labels: bool = True,
    live: bool = True,
    path: Any = None,
) -> Any:
    """The predictions of ``model`` (one ``version``; from ``since`` to ``until``) as a pandas
    DataFrame, newest last, with a ``label`` column joined from the feedback (``labels=False``
    leaves it out). ``live=True`` includes what running servers have written but not yet
    compacted."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not isinstance(model, str) or not model:
        raise InvalidInputError("which model? e.g. loopml.predictions.read('fraud')")
    since_ms, until_ms = _ms(since, "since"), _ms(until, "until")
    wanted_version = None if version is None else str(version)
    ws = _workspace(path)
    tables = []
    for segment in ws.store.list_prediction_segments(
        model, version=wanted_version, since_ms=since_ms, until_ms=until_ms
    ):
        tables.append(pq.read_table(pa.BufferReader(ws.artifacts.get_bytes(segment.digest))))
    if live:
        from loopml.serving._predlog import read_stream

        for file in _live_files(ws, model, wanted_version):
            try:
                table, _torn = read_stream(file)
            except OSError:  # rotated away meanwhile: it is a segment now
                continue
            if table is not None and table.num_rows:
                tables.append(table)
    if not tables:
        import pandas as pd

        return pd.DataFrame(
            columns=["prediction_id", "request_id", "ts", "model", "version", "prediction"]
        )
    table = pa.concat_tables(tables, promote_options="permissive")
    ts = table.column("ts").cast("int64")
    mask = None
    if since_ms is not None:
        mask = pc.greater_equal(ts, since_ms)
    if until_ms is not None:
        upper = pc.less_equal(ts, until_ms)
        mask = upper if mask is None else pc.and_(mask, upper)
    if mask is not None:
        table = table.filter(mask)
    table = table.sort_by([("ts", "ascending")])
    frame = table.to_pandas()
    if labels:
        found = ws.store.get_prediction_labels(model, list(frame["prediction_id"]))
        import pandas as pd

        frame["label"] = pd.Series(
            [found.get(i) for i in frame["prediction_id"]], index=frame.index, dtype=object
        )
    return frame


def label(
    model: str,
    labels: Mapping[str, Any] | Iterable[tuple[str, Any]],
    *,
    source: str = "api",
    path: Any = None,
) -> int:
    """Record the true outcome of predictions: ``{prediction_id: label}`` (or pairs). A newer
    label for the same prediction replaces the older. Returns how many were stored."""
    if not isinstance(model, str) or not model:
        raise InvalidInputError("which model? e.g. loopml.predictions.label('fraud', {...})")
    pairs = list(labels.items()) if isinstance(labels, Mapping) else list(labels)
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise InvalidInputError(
                f"labels must be {{prediction_id: label}} or (prediction_id, label) pairs, "
                f"not {pair!r}"
            )
    ws = _workspace(path)
    written: int = ws.store.add_prediction_labels(
        model, [(str(k) if isinstance(k, int) else k, v) for k, v in pairs], source=source
    )
    return written


def export(
    model: str,
    destination: str | Path,
    *,
    version: Any = None,
    since: Any = None,
    until: Any = None,
    path: Any = None,
) -> int:
    """Write the predictions of ``model`` (labels joined) to a ``.parquet``, ``.csv`` or
    ``.jsonl`` file; returns the number of rows."""
    target = Path(destination)
    suffix = target.suffix.lower()
    if suffix not in (".parquet", ".csv", ".jsonl"):
        raise InvalidInputError(
            f"cannot tell the format of {target.name!r}: name it .parquet, .csv or .jsonl"
        )
    frame = read(model, version=version, since=since, until=until, path=path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.to_parquet(target, index=False)
    elif suffix == ".csv":
        frame.to_csv(target, index=False)
    else:
        frame.to_json(target, orient="records", lines=True, date_format="iso")
    return len(frame)
