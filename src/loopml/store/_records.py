"""Plain records the store returns: frozen dataclasses, no database handles inside."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from loopml._errors import InvalidInputError

RunStatus = Literal["running", "finished", "failed", "killed"]
RUN_STATUSES: tuple[str, ...] = ("running", "finished", "failed", "killed")


def ms_to_datetime(ms: int | None) -> dt.datetime | None:
    """Epoch milliseconds (as stored) to an aware UTC datetime."""
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    id: int
    name: str
    created_at: int
    description: str | None = None
    run_count: int = 0


@dataclass(frozen=True)
class MetricPoint:
    """One logged value of a metric: ``value`` at ``step``, logged at ``timestamp`` (epoch ms)."""

    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True)
class ArtifactRef:
    """A run's logical artifact name and the content digest it points to."""

    name: str
    digest: str
    size: int
    created_at: int


@dataclass(frozen=True)
class RunLiveness:
    """What tells whether a running run's process is still alive."""

    id: str
    host: str | None
    pid: int | None
    proc_start: int | None
    heartbeat_at: int


@dataclass(frozen=True)
class Run:
    """Everything stored about one run.

    ``metrics`` holds the latest value of each metric (highest step); use
    ``loopml.metric_history(run_id, key)`` for every point.
    """

    id: str
    experiment: str
    name: str | None
    status: str
    start_time: int
    end_time: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, ArtifactRef] = field(default_factory=dict)
    error: str | None = None
    parent_id: str | None = None
    host: str | None = None
    pid: int | None = None

    @property
    def started(self) -> dt.datetime:
        """Start time as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.start_time / 1000, tz=dt.UTC)

    @property
    def ended(self) -> dt.datetime | None:
        """End time as an aware UTC datetime, or None while running."""
        return ms_to_datetime(self.end_time)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or None while running."""
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time) / 1000

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (used by ``--json`` in the CLI)."""
        return {
            "id": self.id,
            "experiment": self.experiment,
            "name": self.name,
            "status": self.status,
            "start_time": self.started.isoformat(),
            "end_time": self.ended.isoformat() if self.ended else None,
            "duration_s": self.duration,
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "tags": dict(self.tags),
            "artifacts": {
                name: {"digest": ref.digest, "size": ref.size}
                for name, ref in self.artifacts.items()
            },
            "error": self.error,
            "parent_id": self.parent_id,
        }


@dataclass(frozen=True)
class DatasetFile:
    """One Parquet part of a dataset version: its blob digest, size and row count."""

    part: int
    digest: str
    size: int
    rows: int


@dataclass(frozen=True)
class DatasetVersionRecord:
    """What the store keeps about one immutable version of a named dataset."""

    name: str
    version: int
    content_id: str
    row_count: int
    columns: list[tuple[str, str]]
    roles: dict[str, str]
    source: dict[str, object]
    files: list[DatasetFile]
    size_bytes: int
    created_at: int
    run_id: str | None = None
    parents: list[tuple[str, int, str]] = field(default_factory=list)
    description: str | None = None


@dataclass(frozen=True)
class SchemaRecord:
    """One version of a dataset's schema: the digest of its YAML blob in the artifact store.

    ``inferred_from`` is the number of the dataset version the schema was inferred from (None
    when it was written by hand, or when that version is gone); ``created_at`` is epoch ms.
    """

    dataset: str
    version: int
    digest: str
    inferred_from: int | None
    created_at: int


LINEAGE_DIRECTIONS: tuple[str, ...] = ("in", "out")


@dataclass(frozen=True)
class LineageEdge:
    """One input ("in") or output ("out") of an execution, named as the step names it.

    ``content_hash`` is the sha256 of the value's content (for a table, the dataset content id),
    so the same data has one hash wherever it is stored. ``digest`` is the artifact-store blob
    holding the materialized value; ``dataset`` is (dataset name, version) when the value is (or
    was registered as) a dataset version. At least one of the two is set; on a stored edge
    ``dataset`` becomes None if that dataset version is deleted. ``type`` is the Python type
    (e.g. ``"pandas.DataFrame"``), ``materializer`` the name of the materializer that wrote or
    reads it, ``size`` the stored size in bytes, if known.
    """

    direction: str
    name: str
    content_hash: str
    digest: str | None
    dataset: tuple[str, int] | None
    type: str
    materializer: str
    size: int | None


@dataclass(frozen=True)
class RunEdge:
    """An execution that read or wrote an object: the run, and the edge that links them.

    ``created_at`` is when the edge was recorded (epoch ms).
    """

    run_id: str
    run_name: str | None
    experiment: str
    status: str
    edge: LineageEdge
    created_at: int


@dataclass(frozen=True)
class CacheEntry:
    """A step cache entry: cache ``key`` -> the execution (``run_id``) whose outputs a hit reuses.

    ``hits`` counts the times the entry was used, ``last_hit_at`` is the last of them (epoch ms,
    None before the first); ``created_at`` is when this execution was put under the key.
    """

    key: str
    step: str
    run_id: str
    created_at: int
    hits: int
    last_hit_at: int | None


#: A trigger is named after its pipeline: letters, digits, ``_``, ``.`` and ``-``.
TRIGGER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}")


def check_trigger_name(trigger: object) -> str:
    """``trigger`` if it can name a pipeline (and its trigger); a clear error otherwise."""
    if not isinstance(trigger, str) or not TRIGGER_NAME.fullmatch(trigger):
        raise InvalidInputError(
            f"pipeline (trigger) name {trigger!r} is not allowed: use 1 to 256 letters, digits, "
            "'_', '.' and '-', e.g. 'retrain_on_new_data'"
        )
    return trigger


FIRING_KINDS: tuple[str, ...] = ("schedule", "new_data", "manual", "event")
FIRING_STATES: tuple[str, ...] = ("pending", "claimed", "started", "done", "failed", "skipped")


@dataclass(frozen=True)
class Firing:
    """One time a trigger fired, and where the run it asked for stands.

    ``kind`` is one of :data:`FIRING_KINDS`; ``dedupe_key`` makes the firing unique per trigger
    (e.g. ``data:transactions:sha256:...``); ``payload`` is the JSON object the trigger passed.
    ``state`` is one of :data:`FIRING_STATES`: ``pending`` until an agent claims it (``agent``,
    ``claimed_at``, ``attempts`` counts claims), ``started`` once its run (``run_id``, the latest
    one it started) exists, then ``done``, ``failed`` (with ``error``) or ``skipped``. Times are
    epoch ms.
    """

    id: int
    trigger: str
    pipeline: str
    kind: str
    dedupe_key: str
    reason: str
    payload: dict[str, Any]
    state: str
    attempts: int
    agent: str | None
    claimed_at: int | None
    run_id: str | None
    error: str | None
    fired_at: int


APPROVAL_STATES: tuple[str, ...] = ("pending", "approved", "rejected")


@dataclass(frozen=True)
class ModelFile:
    """One file of a model version's bundle: its name in the bundle and its blob."""

    name: str
    digest: str
    size: int


@dataclass(frozen=True)
class ModelVersionRecord:
    """A version of a registered model, as the registry stores it.

    ``bundle_digest`` is the blob of its ``model.yaml``; ``files`` are the bundle's files.
    ``trusted_types`` is what loading it may allow (decided when it was logged, never read from
    the bundle). ``approval`` is one of :data:`APPROVAL_STATES`; ``blessed`` is the latest gate
    verdict (None: never gated), ``verdict`` its details. Times are epoch ms.
    """

    name: str
    version: int
    bundle_digest: str
    flavor: str
    format: str
    trusted_types: list[str]
    signature: dict[str, Any]
    files: list[ModelFile]
    run_id: str | None
    dataset: tuple[str, int] | None
    status: str
    approval: str
    approval_by: str | None
    approval_at: int | None
    approval_reason: str | None
    blessed: bool | None
    verdict: dict[str, Any] | None
    description: str | None
    created_at: int
    created_by: str | None
    deleted_at: int | None
    deleted_by: str | None
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def file(self, name: str) -> ModelFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model: its versions' count, aliases (alias -> version) and tags."""

    name: str
    description: str | None
    created_at: int
    updated_at: int
    latest_version: int | None
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelEvent:
    """One change in the registry's append-only history."""

    id: int
    model: str
    version: int | None
    kind: str
    alias: str | None
    actor: str | None
    reason: str | None
    payload: dict[str, Any]
    at: int


@dataclass(frozen=True)
class PredictionSegment:
    """One Parquet segment of the prediction log (one worker, one model version, a stretch of
    time): the blob ``digest`` holds ``rows`` predictions made from ``first_ms`` to ``last_ms``
    (milliseconds since the epoch)."""

    id: int
    model: str
    version: str
    digest: str
    rows: int
    first_ms: int
    last_ms: int
    source: str
    created_ms: int
