"""The demo's serving step: serve the champion, send it traffic, post the labels, swap.

A real ``loopml serve models:/fraud@champion`` runs as a subprocess (as it would in
production); the demo talks to it over HTTP with the standard library: single-row Open
Inference Protocol requests (one input per column) carrying the transaction id as the request
id, then the true labels to the feedback endpoint, then a hot swap to the new champion.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

READY_TIMEOUT = 120.0
_V2_TYPES = {"int64": "INT64", "int32": "INT32", "float64": "FP64", "float32": "FP32"}


class DemoServer:
    """``loopml serve`` on a free loopback port, logging to ``serve.log``; stopped by SIGTERM."""

    def __init__(self, folder: Path, uri: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.folder = folder
        self.log_file = folder / "serve.log"
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "loopml", "serve", uri, "--port", str(self.port)],
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1"},
            )
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def wait_ready(self) -> None:
        from loopml._errors import LoopmlError

        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                status, _ = self.request("GET", "/v2/health/ready")
                if status == 200:
                    return
            except OSError:
                self.connection.close()
            time.sleep(0.2)
        tail = self.log_file.read_text(errors="replace")[-2000:]
        raise LoopmlError(f"loopml serve did not become ready; {self.log_file} ends with:\n{tail}")

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        import orjson

        # orjson writes numpy scalars (a frame's values) as the numbers they are.
        data = None if body is None else orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
        headers = {"content-type": "application/json"} if data is not None else {}
        raw, status = self._exchange(method, path, data, headers)
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = raw.decode(errors="replace")
        return status, doc

    def _exchange(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[bytes, int]:
        """One request on the kept-alive connection; a connection the server closed while
        idle (uvicorn does after 5 s) is opened again once."""
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                return response.read(), response.status
            except (http.client.RemoteDisconnected, ConnectionError):
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def metrics(self) -> str:
        raw, _ = self._exchange("GET", "/metrics", None, {})
        return raw.decode()

    def stop(self) -> int | None:
        self.connection.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # drains and writes out the prediction log
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def send_traffic(server: DemoServer, frame: Any, features: list[str]) -> dict[str, Any]:
    """One V2 request per transaction (request id ``txn-<transaction_id>``); returns the
    predictions by request id, the count of failures and the latencies."""
    import numpy as np

    predictions: dict[str, Any] = {}
    latencies, failed = [], 0
    kinds = {c: _V2_TYPES.get(str(frame[c].dtype), "FP64") for c in features}
    for row in frame.itertuples(index=False):
        values = row._asdict()
        body = {
            "id": f"txn-{values['transaction_id']}",
            "inputs": [
                {"name": c, "shape": [1], "datatype": kinds[c], "data": [values[c]]}
                for c in features
            ],
        }
        started = time.perf_counter()
        status, doc = server.request("POST", "/v2/models/fraud/infer", body)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            failed += 1
            continue
        predictions[doc["id"]] = (doc["outputs"][0]["data"][0], doc["model_version"])
    ms = np.asarray(latencies) * 1000
    return {
        "predictions": predictions,
        "failed": failed,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else 0.0,
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else 0.0,
        "seconds": float(ms.sum() / 1000),
    }


def post_labels(server: DemoServer, frame: Any, target: str) -> int:
    """The true outcomes, as the business learns them: one feedback call for the batch."""
    labels = [
        {"id": f"txn-{tid}", "label": int(y)}
        for tid, y in zip(frame["transaction_id"], frame[target], strict=True)
    ]
    status, doc = server.request("POST", "/v2/models/fraud/feedback", {"labels": labels})
    if status != 200:
        from loopml._errors import LoopmlError

        raise LoopmlError(f"the feedback endpoint answered {status}: {doc}")
    return int(doc["labelled"])


def metric_lines(text: str, *names: str) -> list[str]:
    """The sample lines of some Prometheus metrics (``# HELP`` and ``# TYPE`` left out)."""
    return [
        line
        for line in text.splitlines()
        if line and not line.startswith("#") and line.split("{")[0].split(" ")[0] in names
    ]
