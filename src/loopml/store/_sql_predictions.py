"""The prediction log's segments and labels in the SQL store (mixed into ``SqlStore``).

A segment is registered once per blob digest (``ON CONFLICT DO NOTHING``: a worker that
registers the same compacted file twice, e.g. after a crash between upload and cleanup, adds
nothing). A label is one row per (model, request id); a newer label replaces an older one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from loopml._errors import InvalidInputError
from loopml.store._records import PredictionSegment
from loopml.store._sql_datasets import _now_ms
from loopml.store._tables import (
    MAX_NAME_LENGTH,
    MAX_REQUEST_ID_LENGTH,
    prediction_labels,
    prediction_segments,
)

#: Labels written per statement (bulk feedback files can hold millions).
LABEL_CHUNK = 2_000


def check_request_id(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_REQUEST_ID_LENGTH:
        raise InvalidInputError(
            f"a request id must be a non-empty string of at most {MAX_REQUEST_ID_LENGTH} "
            f"characters, not {value!r}"
        )
    return value


def _label_json(request_id: str, label: object) -> str:
    try:
        return json.dumps(label, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"the label of request {request_id!r} must be a JSON value (a number, a string, a "
            f"bool or a list of them), not {label!r}"
        ) from None


class PredictionsMixin:
    """Prediction segments and labels, on SQLAlchemy Core."""

    dialect: str
    _write: Callable[..., Any]
    _read: Callable[..., Any]
    _insert: Callable[[Any], Any]

    def add_prediction_segment(
        self,
        model: str,
        version: str,
        digest: str,
        rows: int,
        first_ms: int,
        last_ms: int,
        source: str,
    ) -> None:
        """Register a compacted segment (a blob already in the artifact store)."""
        if not model or len(model) > MAX_NAME_LENGTH:
            raise InvalidInputError(f"a model name must be 1-{MAX_NAME_LENGTH} characters")
        stmt = (
            self._insert(prediction_segments)
            .values(
                model=model,
                version=str(version),
                digest=digest,
                rows=int(rows),
                first_ms=int(first_ms),
                last_ms=int(last_ms),
                source=source[:MAX_NAME_LENGTH],
                created_ms=_now_ms(),
            )
            .on_conflict_do_nothing(index_elements=["digest"])
        )
        self._write(lambda connection: connection.execute(stmt))

    def list_prediction_segments(
        self,
        model: str | None = None,
        *,
        version: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> list[PredictionSegment]:
        """Segments (of one model, version, overlapping a time range), oldest first."""
        t = prediction_segments
        stmt = select(t).order_by(t.c.first_ms, t.c.pk)
        if model is not None:
            stmt = stmt.where(t.c.model == model)
        if version is not None:
            stmt = stmt.where(t.c.version == str(version))
        if since_ms is not None:
            stmt = stmt.where(t.c.last_ms >= since_ms)
        if until_ms is not None:
            stmt = stmt.where(t.c.first_ms <= until_ms)

        def body(connection: Connection) -> list[PredictionSegment]:
            return [
                PredictionSegment(
                    id=int(r.pk),
                    model=r.model,
                    version=r.version,
                    digest=r.digest,
                    rows=int(r.rows),
                    first_ms=int(r.first_ms),
                    last_ms=int(r.last_ms),
                    source=r.source,
                    created_ms=int(r.created_ms),
                )
                for r in connection.execute(stmt)
            ]

        result: list[PredictionSegment] = self._read(body)
        return result

    def add_prediction_labels(
        self, model: str, labels: Iterable[tuple[str, object]], *, source: str = "api"
    ) -> int:
        """Store ``(request_id, label)`` pairs for ``model`` (a newer label replaces an older
        one); returns how many were written. All or nothing: a bad pair writes none."""
        if not model or len(model) > MAX_NAME_LENGTH:
            raise InvalidInputError(f"a model name must be 1-{MAX_NAME_LENGTH} characters")
        now = _now_ms()
        rows = {}
        for request_id, label in labels:
            check_request_id(request_id)
            rows[request_id] = {
                "model": model,
                "request_id": request_id,
                "label": _label_json(request_id, label),
                "source": source[:MAX_NAME_LENGTH],
                "labelled_ms": now,
            }
        values = list(rows.values())

        def body(connection: Connection) -> int:
            for start in range(0, len(values), LABEL_CHUNK):
                chunk = values[start : start + LABEL_CHUNK]
                stmt = self._insert(prediction_labels).values(chunk)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["model", "request_id"],
                    set_={
                        "label": stmt.excluded.label,
                        "source": stmt.excluded.source,
                        "labelled_ms": stmt.excluded.labelled_ms,
                    },
                )
                connection.execute(stmt)
            return len(values)

        if not values:
            return 0
        written: int = self._write(body)
        return written

    def get_prediction_labels(
        self, model: str, request_ids: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """``{request_id: label}`` for ``model`` (only ``request_ids``, if given)."""
        t = prediction_labels

        def body(connection: Connection) -> dict[str, Any]:
            found: dict[str, Any] = {}
            if request_ids is None:
                chunks: list[Sequence[str] | None] = [None]
            else:
                ids = list(request_ids)
                chunks = [ids[i : i + LABEL_CHUNK] for i in range(0, len(ids), LABEL_CHUNK)]
            for chunk in chunks:
                stmt = select(t.c.request_id, t.c.label).where(t.c.model == model)
                if chunk is not None:
                    stmt = stmt.where(t.c.request_id.in_(chunk))
                for row in connection.execute(stmt):
                    found[row.request_id] = json.loads(row.label)
            return found

        result: dict[str, Any] = self._read(body)
        return result
