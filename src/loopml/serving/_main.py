"""Running the server: ``loopml serve`` and the uvicorn factory its workers import.

Each uvicorn worker process builds its own :class:`~loopml.serving._app.Server` from the
model references in ``LOOPML_SERVE_MODELS`` (JSON), so several workers share nothing but
the port.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV = "LOOPML_SERVE_MODELS"


def create_app() -> Any:
    """The uvicorn factory (``loopml.serving._main:create_app``)."""
    import sys

    from loopml.serving._app import create_server

    # The predict and log threads hand the GIL back to the event loop after at most 0.5 ms
    # (Python's default is 5 ms: a request could wait that long behind a log write).
    sys.setswitchinterval(0.0005)
    config = json.loads(os.environ[ENV])
    return create_server(list(config.pop("models")), **config)


def serve(
    models: list[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    trusted: bool = False,
    log_level: str = "warning",
    announce: Any = None,
    **options: Any,
) -> None:
    """Serve ``models`` until Ctrl-C or SIGTERM (uvicorn finishes requests in flight and the
    prediction log is written out). ``options`` go to
    :func:`~loopml.serving._app.create_server` (max_in_flight, timeout_s, max_batch_size,
    max_batch_wait_ms, prediction_log, log_flush_s)."""
    import uvicorn

    from loopml.serving._app import create_server

    # Fail here, with a clear error, before binding (the log stays off: nothing is served).
    create_server(models, trusted=trusted, **{**options, "prediction_log": "off"})
    if announce is not None:
        announce()
    import tempfile

    run_dir = tempfile.mkdtemp(prefix="loopml-serve-")  # the workers' shared state
    metrics_dir = None
    if workers > 1:
        # Each worker writes its metric values to files here; any worker's /metrics adds them
        # up (prometheus_client's multiprocess mode). One folder per server, removed at exit.
        import tempfile

        metrics_dir = tempfile.mkdtemp(prefix="loopml-serve-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ[ENV] = json.dumps(
        {
            "models": models,
            "trusted": trusted,
            **options,
            "state_file": str(Path(run_dir) / "desired.json"),
        }
    )
    try:
        _run(uvicorn, host, port, workers, log_level)
    finally:
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def _run(uvicorn: Any, host: str, port: int, workers: int, log_level: str) -> None:
    uvicorn.run(
        "loopml.serving._main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        # Explicitly: on the plain asyncio loop with several workers uvicorn never sets
        # TCP_NODELAY and every keep-alive request waits ~44 ms (uvicorn issue 3149).
        loop="uvloop" if _has("uvloop") else "asyncio",
        http="httptools" if _has("httptools") else "h11",
    )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
