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


def _ms(value: Any, what: str, *, end: bool = False) -> int | None:
    """Milliseconds since the epoch from None, a datetime, a date, an ISO date/time, or a
    number of milliseconds since the epoch. A bare date as ``end`` means the end of that day;
    a time without a zone is UTC."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a date/time, not {value!r}")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value
        try:
            value = (
                dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
            )
        except ValueError:
            raise InvalidInputError(
                f"{what} {text!r} is not an ISO date or time; e.g. 2026-11-25 or "
                "2026-11-25T14:00:00+00:00"
            ) from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        if end:
            return int((day + dt.timedelta(days=1)).timestamp() * 1000) - 1
        value = day
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
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


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
    ids = frame[id_column]
    if ids.dtype.kind == "f" and ids.notna().all() and (ids == ids.round()).all():
        ids = ids.astype("int64")  # 7.0 in a Parquet float column is prediction 7
    pairs = []
    for request_id, value in zip(ids.astype(str), frame[label_column], strict=True):
        value = _plain(value)
        if value is None or (isinstance(value, float) and value != value):
            raise InvalidInputError(f"{file.name}: prediction {request_id!r} has no label")
        pairs.append((request_id, value))
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
    since_ms, until_ms = _ms(since, "since"), _ms(until, "until", end=True)
    wanted_version = None if version is None else str(version)
    ws = _workspace(path)
    tables = []
    if live:  # first the live files, then the segments: a file published meanwhile is found
        from loopml.serving._predlog import read_stream

        for file in _live_files(ws, model, wanted_version):
            try:
                table, _torn = read_stream(file)
            except OSError:  # rotated away meanwhile: it is a segment now
                continue
            if table is not None and table.num_rows:
                tables.append(table)
    for segment in ws.store.list_prediction_segments(
        model, version=wanted_version, since_ms=since_ms, until_ms=until_ms
    ):
        tables.append(pq.read_table(pa.BufferReader(ws.artifacts.get_bytes(segment.digest))))
    if not tables:
        import pandas as pd

        columns = ["prediction_id", "request_id", "ts", "model", "version", "prediction"]
        return pd.DataFrame(columns=[*columns, "label"] if labels else columns)
    table = _concat(tables)
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
    # A file read live and also found as a segment (published between the two reads).
    frame = frame.drop_duplicates(subset=["prediction_id", "version", "ts"], ignore_index=True)
    if labels:
        found = ws.store.get_prediction_labels(model, list(frame["prediction_id"]))
        import pandas as pd

        frame["label"] = pd.Series(
            [found.get(i) for i in frame["prediction_id"]], index=frame.index, dtype=object
        )
    return frame


def _concat(tables: list[Any]) -> Any:
    """One table from segments whose columns may differ in type (a version predicting ints,
    another strings): such columns become text."""
    import pyarrow as pa

    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        types: dict[str, set[Any]] = {}
        for table in tables:
            for field in table.schema:
                types.setdefault(field.name, set()).add(field.type)
        mixed = {name for name, kinds in types.items() if len(kinds) > 1 and name != "ts"}
        fixed = []
        for table in tables:
            for name in mixed & set(table.column_names):
                at = table.column_names.index(name)
                column = table.column(name)
                values = [None if v is None else str(v) for v in column.to_pylist()]
                table = table.set_column(at, name, pa.array(values, pa.string()))
            fixed.append(table)
        return pa.concat_tables(fixed, promote_options="permissive")


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
    example = "{prediction_id: label} or (prediction_id, label) pairs"
    if hasattr(labels, "items") and callable(labels.items):  # a dict or a pandas Series
        pairs = list(labels.items())
    else:
        try:
            pairs = list(labels)
        except TypeError:
            raise InvalidInputError(f"labels must be {example}, not {labels!r}") from None
    clean = []
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise InvalidInputError(f"labels must be {example}, not {pair!r}")
        key, value = (_plain(v) for v in pair)
        clean.append((str(key) if isinstance(key, int) else key, value))
    ws = _workspace(path)
    written: int = ws.store.add_prediction_labels(model, clean, source=source)
    return written


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values (labels are stored as JSON)."""
    tolist = getattr(value, "tolist", None)
    if tolist is not None and type(value).__module__ == "numpy":
        return tolist()
    return value


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
