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
    """Import SQLAlchemy and the store built on it, with the garbage collector paused.

    SQLAlchemy creates tens of thousands of long-lived objects at import (about 140 ms), and
    the collections they trigger on the way find nothing to free (about 14 ms). Afterwards,
    every object alive is moved to the permanent generation, which spares each later
    collection, and the one at interpreter exit (about 50 ms in a short process), from
    scanning them again. The cost: cyclic garbage that exists at this moment is never freed.
    """
    import gc
    import importlib

    enabled = gc.isenabled()
    gc.disable()
    try:
        importlib.import_module("loopml.store._sql")
        if uri.startswith("sqlite"):
            importlib.import_module("sqlalchemy.dialects.sqlite")
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
