"""The metadata store: one interface (:class:`Store`), SQLite and PostgreSQL behind it."""

from __future__ import annotations

from loopml.store._base import Store
from loopml.store._records import (
    FIRING_KINDS,
    FIRING_STATES,
    LINEAGE_DIRECTIONS,
    RUN_STATUSES,
    ArtifactRef,
    CacheEntry,
    DatasetFile,
    DatasetVersionRecord,
    Experiment,
    Firing,
    LineageEdge,
    MetricPoint,
    Run,
    RunEdge,
    RunLiveness,
    SchemaRecord,
)

__all__ = [
    "FIRING_KINDS",
    "FIRING_STATES",
    "LINEAGE_DIRECTIONS",
    "RUN_STATUSES",
    "ArtifactRef",
    "CacheEntry",
    "DatasetFile",
    "DatasetVersionRecord",
    "Experiment",
    "Firing",
    "LineageEdge",
    "MetricPoint",
    "Run",
    "RunEdge",
    "RunLiveness",
    "SchemaRecord",
    "Store",
    "open_store",
]


def open_store(uri: str, *, auto_upgrade: bool | None = None) -> Store:
    """Open the metadata store at ``uri`` (a normalised SQLAlchemy URL)."""
    from loopml.store._sql import SqlStore

    return SqlStore(uri, auto_upgrade=auto_upgrade)
