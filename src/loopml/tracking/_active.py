"""A run in progress: buffered metric logging, heartbeats, and a clean end whatever happens.

Metric points are appended to an in-memory buffer (a few microseconds per call) and written in
batches: when the buffer holds :data:`FLUSH_POINTS` points, every :data:`FLUSH_INTERVAL_S`
seconds from a background thread, when the run ends, and at interpreter exit. After a SIGKILL
at most the last second of points is lost; the run itself is marked ``killed`` the next time a
store is opened (see :mod:`loopml._liveness`).
"""

from __future__ import annotations

import operator
import os
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError
from loopml.store import ArtifactRef, MetricPoint, Run

if TYPE_CHECKING:
    from loopml._workspace import Workspace

FLUSH_POINTS = 10_000
FLUSH_INTERVAL_S = 1.0
MAX_KEY = 250
MAX_PARAM_VALUE = 8000
MAX_ARTIFACT_NAME = 1024


def check_key(key: object, what: str) -> str:
    """A metric, param or tag key: a non-empty string of at most 250 characters."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise InvalidInputError(
            f"{what} key {key!r} is not allowed: use a non-empty string of at most {MAX_KEY} "
            "characters, e.g. 'val_auc'"
        )
    if "\n" in key or "\0" in key or key != key.strip():
        raise InvalidInputError(
            f"{what} key {key!r} is not allowed: no newlines, NUL or surrounding whitespace"
        )
    return key


def to_text(value: object, what: str, key: str) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_PARAM_VALUE:
        raise InvalidInputError(
            f"{what} {key!r} is {len(text)} characters long; the limit is {MAX_PARAM_VALUE}. "
            "Log long values with loopml.log_artifact instead"
        )
    return text


def to_number(value: object, key: str) -> float:
    if isinstance(value, str | bytes) or value is None:
        raise InvalidInputError(
            f"metric {key!r} must be a number, not {type(value).__name__} {value!r}; log text "
            "with loopml.set_tag or loopml.log_param"
        )
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"metric {key!r} must be a number, not {type(value).__name__} {value!r}"
        ) from None


def check_artifact_name(name: object) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_ARTIFACT_NAME or "\0" in name:
        raise InvalidInputError(
            f"artifact name {name!r} is not allowed: use a non-empty string of at most "
            f"{MAX_ARTIFACT_NAME} characters without NUL, e.g. 'plots/roc.png'"
        )
    return name


class ActiveRun:
    """A run in progress, returned by :func:`loopml.start_run`.

    Use it as a context manager: the run ends ``finished`` when the block completes, ``failed``
    (with the traceback) when it raises, ``killed`` on KeyboardInterrupt.
    """

    def __init__(self, workspace: Workspace, run: Run) -> None:
        self.workspace = workspace
        self._store = workspace.store
        self.id = run.id
        self.name = run.name
        self.experiment = run.experiment
        self.parent_id = run.parent_id
        self.status = "running"
        self._buffer: list[MetricPoint] = []
        self._buffer_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._next_step: dict[str, int] = {}
        self._keys: set[str] = set()
        self._last_flush = time.monotonic()
        self.flush_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, experiment={self.experiment!r}, name={self.name!r})"

    # -- context manager ----------------------------------------------------------------------
    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
            self.end("finished")
        elif isinstance(exc, KeyboardInterrupt):
            self.end("killed", error="interrupted (KeyboardInterrupt)")
        else:
            self.end("failed", error="".join(traceback.format_exception(exc_type, exc, tb)))

    # -- params and tags ----------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        """Record a parameter (stored as text). A param cannot change once logged."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record several parameters at once."""
        self._check_open()
        if not isinstance(params, Mapping):
            raise InvalidInputError(f"log_params takes a dict of name -> value, not {params!r}")
        rows = {check_key(k, "param"): to_text(v, "param", k) for k, v in params.items()}
        self._store.log_params(self.id, rows)

    def set_tag(self, key: str, value: Any) -> None:
        """Set a tag (text); setting it again overwrites it."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set several tags at once."""
        if not isinstance(tags, Mapping):
            raise InvalidInputError(f"set_tags takes a dict of name -> value, not {tags!r}")
        rows = {check_key(k, "tag"): to_text(v, "tag", k) for k, v in tags.items()}
        self._store.set_tags(self.id, rows)

    # -- metrics ------------------------------------------------------------------------------
    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Record one value of a metric.

        ``step`` defaults to one more than the metric's previous step (0 for the first value);
        ``timestamp`` is epoch milliseconds and defaults to now. NaN and infinities are kept.
        """
        if key not in self._keys:
            check_key(key, "metric")
            self._check_open()
            self._keys.add(key)
        number = value if type(value) is float else to_number(value, key)
        if step is None:
            step = self._next_step.get(key, 0)
        elif type(step) is not int:
            try:
                step = operator.index(step)
            except TypeError:
                raise InvalidInputError(
                    f"step of metric {key!r} must be an integer, not {step!r}"
                ) from None
        self._next_step[key] = step + 1
        point = MetricPoint(key, number, step, timestamp or time.time_ns() // 1_000_000)
        with self._buffer_lock:
            self._buffer.append(point)
            full = len(self._buffer) >= FLUSH_POINTS
        if full:
            self.flush()

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record several metrics at the same step."""
        if not isinstance(metrics, Mapping):
            raise InvalidInputError(f"log_metrics takes a dict of name -> number, not {metrics!r}")
        for key, value in metrics.items():
            self.log_metric(key, value, step=step)

    def flush(self) -> None:
        """Write buffered metric points now."""
        with self._flush_lock:
            with self._buffer_lock:
                points, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
            if not points:
                return
            try:
                self._store.log_metrics(self.id, points)
            except BaseException:
                with self._buffer_lock:
                    self._buffer[:0] = points
                raise

    def _due(self) -> bool:
        return bool(self._buffer) and time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S

    # -- artifacts ----------------------------------------------------------------------------
    def log_artifact(
        self, data: str | os.PathLike[str] | bytes | bytearray | memoryview, name: str | None = None
    ) -> ArtifactRef:
        """Store a file's content, or bytes, under a logical ``name`` of this run.

        The content goes to the artifact store under its sha256 digest; ``name`` (default: the
        file's name) is only a label in the metadata store, never a path.
        """
        self._check_open()
        if isinstance(data, bytes | bytearray | memoryview):
            if name is None:
                raise InvalidInputError("log_artifact(bytes) needs a name, e.g. name='report.json'")
            name = check_artifact_name(name)
            digest, size = self.workspace.artifacts.put_bytes(bytes(data))
        elif isinstance(data, str | os.PathLike):
            path = Path(data)
            if path.is_dir():
                raise InvalidInputError(
                    f"{path} is a folder; log its files with loopml.log_artifacts({str(path)!r})"
                )
            if not path.is_file():
                raise InvalidInputError(f"cannot log {path}: no such file")
            name = check_artifact_name(name if name is not None else path.name)
            digest, size = self.workspace.artifacts.put_file(path)
        else:
            raise InvalidInputError(
                f"log_artifact takes a file path or bytes, not {type(data).__name__}"
            )
        self._store.add_artifact(self.id, name, digest, size)
        return ArtifactRef(name, digest, size, time.time_ns() // 1_000_000)

    def log_artifacts(
        self, folder: str | os.PathLike[str], name: str | None = None
    ) -> list[ArtifactRef]:
        """Store every file under ``folder``, named ``<name>/<relative path>``."""
        root = Path(folder)
        if not root.is_dir():
            raise InvalidInputError(f"cannot log {root}: not a folder (use log_artifact for files)")
        prefix = check_artifact_name(name if name is not None else root.name)
        refs = []
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            refs.append(self.log_artifact(path, f"{prefix}/{path.relative_to(root).as_posix()}"))
        return refs

    # -- end ----------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.status != "running":
            raise InvalidInputError(
                f"run {self.id} has already ended ({self.status}); start a new run to log more"
            )

    def end(self, status: str = "finished", *, error: str | None = None) -> None:
        """Flush and set the final status (finished, failed or killed). Ending twice is a no-op."""
        if status not in ("finished", "failed", "killed"):
            raise InvalidInputError(f"a run ends finished, failed or killed, not {status!r}")
        if self.status != "running":
            return
        from loopml.tracking import _api

        # The last points and the final status go in one transaction: a run that reads as
        # ended has all its points.
        with self._flush_lock:
            with self._buffer_lock:
                points, self._buffer = self._buffer, []
            try:
                self._store.end_run(self.id, status, error=error, points=points)
            except BaseException:
                with self._buffer_lock:
                    self._buffer[:0] = points
                raise
        self.status = status
        _api._forget(self)

    def info(self) -> Run:
        """Everything stored about this run so far (flushes first)."""
        self.flush()
        return self._store.get_run(self.id)


class _Background:
    """One daemon thread per process: periodic flushes and heartbeats for every active run."""

    def __init__(self) -> None:
        self.runs: list[ActiveRun] = []
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.warned = False

    def add(self, run: ActiveRun) -> None:
        with self.lock:
            self.runs.append(run)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="loopml-flush", daemon=True)
                self.thread.start()

    def remove(self, run: ActiveRun) -> None:
        with self.lock:
            if run in self.runs:
                self.runs.remove(run)

    def _loop(self) -> None:
        from loopml._liveness import HEARTBEAT_INTERVAL_S

        last_beat = time.monotonic()
        while True:
            time.sleep(min(FLUSH_INTERVAL_S, HEARTBEAT_INTERVAL_S) / 2)
            with self.lock:
                runs = list(self.runs)
            for run in runs:
                if run._due():
                    try:
                        run.flush()
                    except Exception as exc:
                        run.flush_error = exc
                        if not self.warned:
                            self.warned = True
                            print(
                                f"loopml: cannot write metrics yet ({exc}); will retry",
                                file=sys.stderr,
                            )
            if runs and time.monotonic() - last_beat >= HEARTBEAT_INTERVAL_S:
                last_beat = time.monotonic()
                by_store: dict[int, list[ActiveRun]] = {}
                for run in runs:
                    by_store.setdefault(id(run._store), []).append(run)
                for group in by_store.values():
                    try:
                        group[0]._store.heartbeat([r.id for r in group])
                    except Exception:  # noqa: S112 - the next beat will try again
                        continue
