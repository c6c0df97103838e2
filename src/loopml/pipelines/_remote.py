"""Running one step away from the driver: in a child process of its own, or in a Ray task.

The driver keeps everything that touches the metadata store (the step's run, its cache key,
lineage, the cache entry); the worker only needs the artifact store: it loads the step's
inputs by digest, calls the function (with its retries), stores the outputs and returns their
descriptions with the captured output. So caching and lineage are the same on every executor.

A payload names the pipeline by *target* (``file.py:name`` or ``module:name``) and the node
id, so the worker imports the user's project itself; the workspace is passed explicitly
(``LOOPML_URI`` / ``LOOPML_ARTIFACTS`` of the driver), never discovered from a working folder.

``python -m loopml.pipelines._remote PAYLOAD.json RESULT.json`` is the child process entry
point; a child killed by a signal leaves no result file and the driver reports the signal.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
import traceback
from typing import Any


def execute(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one step as the payload describes; returns outputs, output text and errors."""
    from loopml.artifacts import open_artifact_store
    from loopml.pipelines._loader import load_pipeline
    from loopml.pipelines._runner import Artifact, _own_copy, _store_outputs, load_artifact

    for folder in payload.get("sys_path", []):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    pipeline = load_pipeline(payload["target"])
    node = pipeline.graph.nodes[payload["node"]]
    artifacts = open_artifact_store(payload["artifacts"])
    ws = _ArtifactsOnly(artifacts, payload.get("store"))
    kwargs = {
        name: _own_copy(load_artifact(ws, Artifact.from_description(desc)))  # type: ignore[arg-type]
        for name, desc in payload["inputs"].items()
    } | payload["params"]
    out, err = io.StringIO(), io.StringIO()
    tracebacks: list[str] = []
    attempts = 0
    retries, delay = node.step.options.retries, node.step.options.retry_delay
    while True:
        attempts += 1
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                returned = node.step.fn(**kwargs)
            outputs = _store_outputs(ws, node, returned)  # type: ignore[arg-type]
            return {
                "ok": True,
                "attempts": attempts,
                "outputs": {n: a.describe() for n, a in outputs.items()},
                "stdout": out.getvalue(),
                "stderr": err.getvalue(),
                "tracebacks": tracebacks,
                "pid": os.getpid(),
            }
        except Exception:
            tracebacks.append(traceback.format_exc())
            if attempts > retries:
                return {
                    "ok": False,
                    "attempts": attempts,
                    "outputs": {},
                    "stdout": out.getvalue(),
                    "stderr": err.getvalue(),
                    "tracebacks": tracebacks,
                    "pid": os.getpid(),
                }
            time.sleep(delay * (2 ** (attempts - 1)))


class _ArtifactsOnly:
    """The part of a Workspace a worker needs: the artifact store (and the store, lazily)."""

    def __init__(self, artifacts: Any, store_uri: str | None) -> None:
        self.artifacts = artifacts
        self._store_uri = store_uri
        self._store: Any = None

    @property
    def store(self) -> Any:  # only dataset references need it
        if self._store is None:
            from loopml.store import open_store

            if self._store_uri is None:
                raise LookupError("this worker was given no metadata store")
            self._store = open_store(self._store_uri)
        return self._store


def main(argv: list[str]) -> int:
    payload_file, result_file = argv[1], argv[2]
    with open(payload_file, encoding="utf-8") as handle:
        payload = json.load(handle)
    try:
        result = execute(payload)
    except Exception:
        result = {
            "ok": False,
            "attempts": 0,
            "outputs": {},
            "stdout": "",
            "stderr": "",
            "tracebacks": [traceback.format_exc()],
            "pid": os.getpid(),
        }
    from pathlib import Path

    temporary = Path(result_file + ".tmp")
    temporary.write_text(json.dumps(result), encoding="utf-8")
    temporary.replace(result_file)  # atomic: the driver sees the whole result or none
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
