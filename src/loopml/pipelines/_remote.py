"""Running one step away from the driver: in a child process of its own, or in a Ray task.

The driver keeps everything that touches the metadata store (the step's run, its cache key,
lineage, the cache entry); the worker only needs the artifact store: it loads the step's
inputs by digest, calls the function (with its retries), stores the outputs and returns their
descriptions with the captured output. So caching and lineage are the same on every executor.

A payload names the pipeline by *target* (``file.py:name`` or ``module:name``) and the node
id, so the worker imports the user's project itself; the workspace is passed explicitly
(``LOOPML_URI`` / ``LOOPML_ARTIFACTS`` of the driver), never discovered from a working folder.

What the step logs with ``loopml.log_metric``, ``log_params``, ``set_tag`` or
``log_artifact`` goes to its own run as in-process: the worker's active run is a
:class:`_RecordingStore` stand-in for the step's run, the artifacts go to the artifact store at
once, and the driver writes the recorded params, tags, metric points and artifact names to the
step's run when the outcome comes back (so a worker on a cluster need not reach the store).

``python -m loopml.pipelines._remote PAYLOAD.json RESULT.json`` is the child process entry
point; a child killed by a signal leaves no result file and the driver reports the signal.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from typing import Any


def execute(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one step as the payload describes; returns outputs, output text and errors."""
    from loopml.artifacts import open_artifact_store
    from loopml.pipelines._loader import load_pipeline
    from loopml.pipelines._runner import Artifact, _own_copy, call_with_retries, load_artifact

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
    recorder = _RecordingStore(payload.get("run", {}))
    tried = call_with_retries(ws, node, kwargs, out, err, around=lambda: recorder.active(artifacts))
    return {
        "ok": tried.ok,
        "attempts": tried.attempts,
        "outputs": {n: a.describe() for n, a in tried.outputs.items()},
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "tracebacks": tried.tracebacks,
        "pid": os.getpid(),
        "logged": recorder.logged(),
    }


class _RecordingStore:
    """The store of the step's run in a worker: keeps what the step logs, for the driver."""

    def __init__(self, run: dict[str, Any]) -> None:
        self.run = run
        self.params: dict[str, str] = {}
        self.fixed: dict[str, str] = dict(run.get("params", {}))
        self.tags: dict[str, str] = {}
        self.points: list[list[Any]] = []
        self.artifacts: list[list[Any]] = []

    @contextlib.contextmanager
    def active(self, artifacts: Any) -> Any:
        """The step's run is the active run while the step function runs."""
        from loopml.store._records import Run
        from loopml.tracking import _api
        from loopml.tracking._active import ActiveRun

        if not self.run.get("id"):
            yield None
            return
        record = Run(
            id=self.run["id"],
            experiment=self.run.get("experiment", ""),
            name=self.run.get("name"),
            status="running",
            start_time=0,
            end_time=None,
            parent_id=self.run.get("parent"),
        )
        active = ActiveRun(_RecordingWorkspace(artifacts, self), record)  # type: ignore[arg-type]
        with _api._lock:
            _api._stack.append(active)
        try:
            yield active
        finally:
            active.flush()
            with _api._lock:
                if active in _api._stack:
                    _api._stack.remove(active)

    # -- the part of the Store interface an ActiveRun uses ---------------------------------------
    def log_params(self, run_id: str, rows: dict[str, str]) -> None:
        from loopml._errors import ConflictError

        for key, value in rows.items():
            old = self.params.get(key, self.fixed.get(key))
            if old is not None and old != value:
                raise ConflictError(
                    f"param {key!r} of run {run_id} is already {old!r} and cannot become "
                    f"{value!r}: params are fixed once logged; log a metric or a tag for values "
                    "that change, or start a new run"
                )
            self.params[key] = value

    def set_tags(self, run_id: str, rows: dict[str, str]) -> None:
        self.tags.update(rows)

    def log_metrics(self, run_id: str, points: list[Any]) -> None:
        self.points += [[p.key, p.value, p.step, p.timestamp] for p in points]

    def add_artifact(self, run_id: str, name: str, digest: str, size: int) -> None:
        self.artifacts.append([name, digest, size])

    def get_run(self, run_id: str) -> Any:
        from loopml._errors import InvalidInputError

        raise InvalidInputError(
            f"run {run_id} runs on another executor: its stored record can be read once the "
            "step has finished (loopml.get_run), not from inside the step"
        )

    def end_run(self, *args: Any, **kwargs: Any) -> None:
        from loopml._errors import InvalidInputError

        raise InvalidInputError("a step's run ends when the step returns; do not end it yourself")

    def logged(self) -> dict[str, Any]:
        """What the step logged, as JSON: for ``_executors`` to write to the step's run."""
        return {
            "params": self.params,
            "tags": self.tags,
            "metrics": self.points,
            "artifacts": self.artifacts,
        }


class _RecordingWorkspace:
    def __init__(self, artifacts: Any, store: _RecordingStore) -> None:
        self.artifacts = artifacts
        self.store = store


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
