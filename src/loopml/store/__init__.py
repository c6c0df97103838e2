"""The metadata store: one interface (:class:`Store`), SQLite and PostgreSQL behind it."""

from __future__ import annotations

import sys

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
    if "loopml.store._sql" not in sys.modules:
        _import_sql_store(uri)
    from loopml.store._sql import SqlStore

    return SqlStore(uri, auto_upgrade=auto_upgrade)


def _import_sql_store(uri: str) -> None:
    """Import SQLAlchemy and the store built on it with the collector paused (see
    :mod:`loopml._heavy`: about 14 ms at import and 50 ms at exit in a short process)."""
    from loopml._heavy import import_paused

    names = ["loopml.store._sql"]
    if uri.startswith("sqlite"):
        names.append("sqlalchemy.dialects.sqlite")
    import_paused(*names)
