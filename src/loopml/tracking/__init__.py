"""Run tracking: start runs, log params, metrics, tags and artifacts, and query them."""

from __future__ import annotations

from loopml.tracking._active import ActiveRun
from loopml.tracking._api import (
    active_run,
    end_run,
    log_artifact,
    log_artifacts,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    seed,
    set_tag,
    set_tags,
    start_run,
)
from loopml.tracking._query import (
    download_artifacts,
    experiments,
    get_run,
    load_artifact,
    metric_history,
    runs,
    search_runs,
)

__all__ = [
    "ActiveRun",
    "active_run",
    "download_artifacts",
    "end_run",
    "experiments",
    "get_run",
    "load_artifact",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "metric_history",
    "runs",
    "search_runs",
    "seed",
    "set_tag",
    "set_tags",
    "start_run",
]
