"""Prometheus metrics of the prediction server, served at ``GET /metrics``.

* ``loopml_requests_total{model, version, protocol, status}``
* ``loopml_request_seconds{model, version, protocol}`` (histogram)
* ``loopml_predicted_rows_total{model, version}`` and, for classifiers,
  ``loopml_predicted_class_total{model, version, class}``; for regressors the histogram
  ``loopml_predicted_value{model, version}``
* ``loopml_prediction_log_lost_rows_total{reason}`` (predictions the log could not keep)
* ``loopml_batch_size{model, version}`` (histogram of rows per batched prediction)
* ``loopml_in_flight{model, version}`` (requests waiting or running: the queue depth)
* ``loopml_model_loaded{model, version}`` (1 for each version served and ready)

With several uvicorn workers the values live in files under ``PROMETHEUS_MULTIPROC_DIR`` (one
folder per server, set by ``loopml serve``), and any worker's ``/metrics`` answers for all of
them (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from typing import Any

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
MAX_CLASSES = 50  # more distinct predicted values than this are not counted by class


class Metrics:
    """The server's metric objects (one set per process)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.registry = CollectorRegistry()
        # Multiprocess values live in files and are collected at render; nothing registers.
        registry: CollectorRegistry | None = None if self.multiprocess else self.registry
        self.requests = Counter(
            "loopml_requests",
            "Prediction requests by model, version, protocol and status.",
            ["model", "version", "protocol", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "loopml_request_seconds",
            "Time to answer a prediction request.",
            ["model", "version", "protocol"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.rows = Counter(
            "loopml_predicted_rows", "Rows predicted.", ["model", "version"], registry=registry
        )
        self.classes = Counter(
            "loopml_predicted_class",
            "Predicted classes (classifiers).",
            ["model", "version", "class"],
            registry=registry,
        )
        self.values = Histogram(
            "loopml_predicted_value",
            "Predicted values (regressors).",
            ["model", "version"],
            registry=registry,
        )
        self.batch_size = Histogram(
            "loopml_batch_size",
            "Rows per batched prediction (adaptive batching).",
            ["model", "version"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.lost_rows = Counter(
            "loopml_prediction_log_lost_rows",
            "Predictions the prediction log could not keep, by reason (disk_full, write_error, "
            "buffer_full, unloggable).",
            ["reason"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "loopml_in_flight",
            "Requests waiting or running, per model.",
            ["model", "version"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.loaded = Gauge(
            "loopml_model_loaded",
            "1 for each model version served and ready.",
            ["model", "version"],
            multiprocess_mode="livemax",
            registry=registry,
        )

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, cached: a request's metrics cost dict lookups."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def predicted(self, model: str, version: str, outputs: Any, classifier: bool) -> None:
        import numpy as np

        values = np.ravel(np.asarray(outputs))
        self.child(self.rows, model, version).inc(len(values))
        if classifier:
            if len(values) == 1:
                self.child(self.classes, model, version, str(values[0])).inc()
                return
            kinds, counts = np.unique(values.astype(str), return_counts=True)
            if len(kinds) <= MAX_CLASSES:
                for kind, count in zip(kinds, counts, strict=True):
                    self.child(self.classes, model, version, str(kind)).inc(int(count))
        elif values.dtype.kind in "fiu":
            for value in values[:1000]:
                self.values.labels(model, version).observe(float(value))

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
