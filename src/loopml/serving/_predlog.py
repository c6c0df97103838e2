"""The prediction log: every prediction the server makes, written behind the requests.

Each request appends its rows to an in-memory buffer (bounded: past ``max_buffered_rows`` rows
waiting, new rows are dropped and counted). A writer thread turns the buffer into one Arrow
record batch per model version every ``write_s`` (0.1 s), appends it to that version's Arrow
IPC stream file (``.loopml/predictions/<model>/<version>/<host>-<pid>-<token>-<n>.arrows``),
and fsyncs the files every ``flush_s`` seconds: a SIGKILL loses at most about 0.1 s of
predictions, a machine crash about ``flush_s``. A file is closed every
``rotate_s`` seconds, every ``rotate_rows`` rows and at shutdown, then compacted to Parquet,
stored in the artifact store (content-addressed) and registered in the metadata store as a
segment. A server that starts compacts the files that dead workers left (their complete batches;
a torn tail is counted as lost).

``mode="sync"`` makes each request wait until its rows are on disk (group commit: one fsync for
everything queued), so nothing answered is ever lost; it costs about twice the CPU per request.
While the log cannot write, sync requests answer 503.

Serving never waits for the log in ``async`` mode: a full disk or a failing store counts the
rows it could not keep (``loopml_prediction_log_lost_rows_total{reason}``) and says so in the
server's log, at most once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("loopml.serving")

LOG_DIRNAME = "predictions"
MODES = ("async", "sync", "off")
#: Column names the log uses itself; an input column with one of these names is stored as
#: ``input:<name>``.
RESERVED = (
    "prediction_id",
    "request_id",
    "ts",
    "model",
    "version",
    "protocol",
    "latency_ms",
    "prediction",
    "proba",
)


_DONE = object()  # tells the publisher to stop


def input_column(name: str) -> str:
    return f"input:{name}" if name in RESERVED else name


@dataclass
class _Pending:
    """Requests of one model version waiting for the writer."""

    columns: list[tuple[str, str]]  # (input name, signature type)
    ids: list[str] = field(default_factory=list)
    rows_per: list[int] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    protocol: list[str] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)  # a float64 matrix or a DataFrame each
    predict: list[Any] = field(default_factory=list)
    proba: list[Any] = field(default_factory=list)
    waiters: list[Any] = field(default_factory=list)  # (loop, future) in sync mode
    rows: int = 0


@dataclass
class _Segment:
    """The open stream file of one model version in this worker."""

    path: Path
    file: Any
    writer: Any
    schema: Any
    opened: float
    rows: int = 0
    dirty: bool = False  # written since the last fsync


class PredictionLog:
    """One worker's prediction log (see the module docstring)."""

    def __init__(
        self,
        folder: Path,
        *,
        mode: str = "async",
        flush_s: float = 1.0,
        max_buffered_rows: int = 100_000,
        rotate_s: float = 60.0,
        rotate_rows: int = 100_000,
        publish: Any = None,
        lost: Any = None,
    ) -> None:
        if mode not in ("async", "sync"):
            raise ValueError(f"mode must be 'async' or 'sync', not {mode!r}")
        self.folder = Path(folder)
        self.mode = mode
        self.flush_s = flush_s
        self.write_s = 0.1  # how often buffered rows become a record batch in the file
        self.max_buffered_rows = max_buffered_rows
        self.rotate_s = rotate_s
        self.rotate_rows = rotate_rows
        self.publish = publish  # callable(parquet path, model, version, rows, first, last)
        self.lost = lost  # callable(reason, rows): counts rows that could not be kept
        self.source = f"{socket.gethostname()}-{os.getpid()}"
        self._token = secrets.token_hex(3)  # two logs in one process never share a file
        self.written = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._buffered = 0
        self._segments: dict[tuple[str, str], _Segment] = {}
        self._counter = 0
        self._warned_at = 0.0
        self._thread: threading.Thread | None = None
        self._publisher: threading.Thread | None = None
        self._publish_queue: queue.Queue[Any] = queue.Queue()
        self._owner_lock: Any = None
        self._closed = False
        self.failing: str | None = None  # why the last write failed, until one succeeds

    # -- the request side (event loop thread) ----------------------------------------------
    def record(
        self,
        model: str,
        version: str,
        columns: list[tuple[str, str]],
        request_id: str,
        protocol: str,
        inputs: Any,
        outputs: dict[str, Any],
        latency_s: float,
    ) -> asyncio.Future[None] | None:
        """Queue one request's rows; in sync mode, a future that resolves once they are on
        disk (or fails when they cannot be written)."""
        rows = len(inputs)
        now = time.time_ns() // 1_000_000
        waiter = None
        with self._lock:
            if self._buffered + rows > self.max_buffered_rows or self._closed:
                self.dropped += rows
                if self.lost is not None:
                    self.lost("buffer_full", rows)
                self._warn(
                    "the prediction log's buffer is full (the disk or the store is too slow)"
                )
                if self.mode == "sync":  # an answer that is not logged is not given
                    refused = asyncio.get_running_loop().create_future()
                    refused.set_exception(OSError("the prediction log's buffer is full"))
                    return refused
                return None
            pending = self._pending.get((model, version))
            if pending is None:
                pending = self._pending[(model, version)] = _Pending(columns)
            pending.ids.append(request_id)
            pending.rows_per.append(rows)
            pending.ts.append(now)
            pending.protocol.append(protocol)
            pending.latency.append(latency_s * 1000.0)
            pending.inputs.append(inputs)
            pending.predict.append(outputs.get("predict"))
            pending.proba.append(outputs.get("predict_proba"))
            pending.rows += rows
            self._buffered += rows
            if self.mode == "sync":
                loop = asyncio.get_running_loop()
                waiter = loop.create_future()
                pending.waiters.append((loop, waiter))
        if waiter is not None:
            self._wake.set()
        return waiter

    # -- the writer thread ------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer (flush every ``flush_s``) and the publisher (compaction, upload
        and registration, so a slow store never delays an fsync)."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._hold_lock()
            self._thread = threading.Thread(
                target=self._loop, name="loopml-prediction-log", daemon=True
            )
            self._publisher = threading.Thread(
                target=self._publish_loop, name="loopml-prediction-publish", daemon=True
            )
        self._publish_queue.put(None)  # first: the files dead workers left
        self._thread.start()
        self._publisher.start()

    def close(self) -> None:
        """Write what is buffered, close and publish every open file (SIGTERM, shutdown)."""
        with self._lock:
            self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()  # the last flush and rotation: never given up on
            self._thread = None
        else:
            self.flush()
            self._rotate_all()
        self._publish_queue.put(_DONE)
        if self._publisher is not None:
            self._publisher.join(timeout=120)
            self._publisher = None
        else:
            self._drain_publish_queue()
        self._release_lock()

    def _loop(self) -> None:
        synced = time.monotonic()
        while not self._stop.is_set():
            # Small batches often, an fsync every flush_s: turning the buffer into Arrow holds
            # the GIL, and ten short holds a second delay requests far less than one long one.
            self._wake.wait(min(self.write_s, self.flush_s))
            self._wake.clear()
            try:
                sync = self.mode == "sync" or time.monotonic() - synced >= self.flush_s
                self.flush(sync=sync)
                if sync:
                    synced = time.monotonic()
                now = time.monotonic()
                for key, segment in list(self._segments.items()):
                    if now - segment.opened >= self.rotate_s or segment.rows >= self.rotate_rows:
                        self._rotate(key)
            except Exception as exc:  # the writer must outlive any surprise
                self._warn(f"the prediction log's writer failed and goes on: {exc!r}")
        try:
            self.flush()
        finally:
            self._rotate_all()

    def _publish_loop(self) -> None:
        while True:
            item = self._publish_queue.get()
            if item is _DONE:
                return
            try:
                if item is None:
                    self._compact_leftovers()
                else:
                    self._publish(*item)
            except Exception as exc:  # kept on disk; the next start retries
                self._warn(f"the prediction log's publisher failed and goes on: {exc!r}")

    def _drain_publish_queue(self) -> None:
        while not self._publish_queue.empty():
            item = self._publish_queue.get_nowait()
            if item is not None and item is not _DONE:
                self._publish(*item)

    # -- who owns a stream file: a lock held while the worker lives ---------------------------
    def _lock_path(self, owner: str) -> Path:
        return self.folder / ".owners" / f"{owner}.lock"

    def _hold_lock(self) -> None:
        """Hold an exclusive lock on ``.owners/<host>-<pid>-<token>.lock`` while this log
        lives: a stream file whose owner's lock can be taken was left by a dead worker (pids
        are reused in containers, and a pod's hostname changes; a lock tells the truth)."""
        try:
            import fcntl
        except ImportError:  # Windows: fall back to the pid check
            return
        path = self._lock_path(f"{self.source}-{self._token}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+b")  # noqa: SIM115 - held until close()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._warn(f"cannot take the prediction log's owner lock {path}: {exc}")
            return
        self._owner_lock = handle

    def _release_lock(self) -> None:
        handle, self._owner_lock = self._owner_lock, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            Path(handle.name).unlink()
        handle.close()

    def _owner_gone(self, owner: str) -> bool:
        """Whether the worker that wrote files named ``<owner>-<n>.arrows`` is gone."""
        try:
            import fcntl
        except ImportError:
            host, _, rest = owner.rpartition("-")[0].rpartition("-")
            return host == socket.gethostname() and rest.isdigit() and not _alive(int(rest))
        path = self._lock_path(owner)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return True  # no lock file: its owner released it (closed) or never wrote one
        except OSError:
            return False
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held: the owner lives
        finally:
            handle.close()
        return True

    def flush(self, *, sync: bool = True) -> None:
        """Write what is buffered, and with ``sync`` fsync every file written since the last
        fsync (the writer thread writes every ``write_s`` and syncs every ``flush_s``)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._buffered = 0
        if sync:
            self._sync_written(exclude=set(pending))
        for key, part in pending.items():
            error: Exception | None = None
            try:
                batches, refused = _batches(key, part)
                if refused:  # requests whose values the log cannot store: only those are lost
                    self._count_lost("unloggable", sum(part.rows_per[i] for i in refused))
                    self._warn(f"the prediction log cannot store {len(refused)} request(s)")
                self._write(key, batches, sync)
                self.written += part.rows
                self.failing = None
            except OSError as exc:  # disk full, read-only, gone: count, say, keep serving
                error = exc
                self._broken(key)
                self.failing = f"{type(exc).__name__}: {exc}"
                self._count_lost("disk_full" if exc.errno == 28 else "write_error", part.rows)
                self._warn(f"the prediction log cannot write ({exc}); predictions are lost")
            except Exception as exc:  # a surprise must not stop the writer
                error = OSError(f"the prediction log failed: {exc!r}")
                self._count_lost("unloggable", part.rows)
                self._warn(f"the prediction log cannot store a batch: {exc!r}")
            for loop, future in part.waiters:
                if not loop.is_closed():
                    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                        loop.call_soon_threadsafe(_resolve, future, error)

    def _count_lost(self, reason: str, rows: int) -> None:
        with self._lock:
            self.dropped += rows
        if self.lost is not None:
            self.lost(reason, rows)

    def _sync_written(self, exclude: set[tuple[str, str]]) -> None:
        """fsync the files written to since their last fsync (``exclude``: synced next)."""
        for key, segment in list(self._segments.items()):
            if segment.dirty and key not in exclude:
                try:
                    os.fsync(segment.file.fileno())
                    segment.dirty = False
                except OSError as exc:
                    self._broken(key)
                    self.failing = f"{type(exc).__name__}: {exc}"
                    self._warn(f"the prediction log cannot fsync ({exc}); predictions may be lost")

    def _write(self, key: tuple[str, str], batches: list[Any], sync: bool = True) -> None:
        for batch in batches:
            segment = self._segments.get(key)
            if segment is not None and not segment.schema.equals(batch.schema):
                self._rotate(key)  # the outputs changed type: a new file
                segment = None
            if segment is None:
                segment = self._open(key, batch.schema)
            segment.writer.write_batch(batch)
            segment.rows += batch.num_rows
        segment = self._segments.get(key)
        if segment is not None:
            segment.file.flush()  # in the OS's hands: a killed process loses nothing of it
            if sync:
                os.fsync(segment.file.fileno())  # on the disk: a crashed machine neither
                segment.dirty = False
            else:
                segment.dirty = True

    def _open(self, key: tuple[str, str], schema: Any) -> _Segment:
        import pyarrow as pa

        folder = self.folder / _safe(key[0]) / _safe(key[1])
        folder.mkdir(parents=True, exist_ok=True)
        self._counter += 1
        path = folder / f"{self.source}-{self._token}-{self._counter}.arrows"
        file = open(path, "wb")  # noqa: SIM115 - closed by _rotate / _broken
        try:
            writer = pa.ipc.new_stream(file, schema)
        except BaseException:
            file.close()
            raise
        segment = _Segment(path, file, writer, schema, time.monotonic())
        self._segments[key] = segment
        return segment

    def _broken(self, key: tuple[str, str]) -> None:
        """Forget a file a write failed on; its complete batches are published later."""
        segment = self._segments.pop(key, None)
        if segment is None:
            return
        for close in (segment.writer.close, segment.file.close):
            with contextlib.suppress(Exception):  # the disk is already failing
                close()

    def _rotate(self, key: tuple[str, str]) -> None:
        segment = self._segments.pop(key, None)
        if segment is None:
            return
        try:
            segment.writer.close()
            segment.file.flush()
            os.fsync(segment.file.fileno())
        except OSError as exc:
            self._warn(f"the prediction log cannot close {segment.path.name}: {exc}")
        finally:
            with contextlib.suppress(OSError):
                segment.file.close()
        if self._publisher is not None:
            self._publish_queue.put((segment.path, key))
        else:
            self._publish(segment.path, key)

    def _rotate_all(self) -> None:
        for key in list(self._segments):
            self._rotate(key)

    def _publish(self, path: Path, key: tuple[str, str]) -> None:
        if self.publish is None:
            return
        try:
            compacted = compact(path)
            if compacted is None:
                path.unlink(missing_ok=True)
                return
            parquet, rows, first, last, torn = compacted
            if torn:
                self._warn(f"{path.name} ended in a torn batch ({torn} bytes; a killed worker)")
            try:
                self.publish(parquet, key[0], key[1], rows, first, last)
            finally:
                parquet.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
        except Exception as exc:
            self._warn(f"cannot publish {path.name} (kept; the next start retries): {exc}")

    def _compact_leftovers(self) -> None:
        """Publish the stream files of workers that are gone (a crash, a SIGKILL), and the
        files a worker claimed and then died before publishing."""
        if not self.folder.is_dir():
            return
        me = f"{self.source}-{self._token}"
        for path in sorted(self.folder.glob("*/*/*.arrows*")):
            name = path.name
            if name.endswith(".arrows"):
                owner = path.stem.rsplit("-", 1)[0]
            elif name.endswith(".claim") and ".arrows." in name:
                owner = name[: -len(".claim")].split(".arrows.", 1)[1]
                name = name.split(".arrows.", 1)[0] + ".arrows"
            else:
                continue
            if owner == me or not self._owner_gone(owner):
                continue
            claimed = path.with_name(f"{name}.{me}.claim")
            try:
                path.rename(claimed)  # one worker wins each file
            except OSError:
                continue
            self._publish(claimed, (path.parent.parent.name, path.parent.name))

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("loopml serve: %s", message)


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _safe(part: str) -> str:
    """A model name or version as one path component (names are already checked)."""
    return part.replace("/", "_").replace("\\", "_") or "_"


_ARROW_TYPES = {
    "float64": "float64",
    "float32": "float64",
    "float16": "float64",
    "int64": "int64",
    "int32": "int64",
    "int16": "int64",
    "int8": "int64",
    "uint8": "int64",
    "uint16": "int64",
    "uint32": "int64",
    "uint64": "uint64",
    "bool": "bool",
    "string": "string",
}


def _batches(key: tuple[str, str], part: _Pending) -> tuple[list[Any], list[int]]:
    """Record batches (one for the rows that came as matrices, one for frames), and the
    requests whose values could not be stored (each tried alone, so only they are lost)."""
    import numpy as np

    matrices = [i for i, x in enumerate(part.inputs) if isinstance(x, np.ndarray)]
    frames = [i for i, x in enumerate(part.inputs) if not isinstance(x, np.ndarray)]
    batches, refused = [], []
    for chosen in (matrices, frames):
        if not chosen:
            continue
        try:
            batches.append(_batch(key, part, chosen))
        except Exception:  # find the request that cannot be stored
            for i in chosen:
                try:
                    batches.append(_batch(key, part, [i]))
                except Exception:
                    refused.append(i)
    return batches, refused


def _batch(key: tuple[str, str], part: _Pending, chosen: list[int]) -> Any:
    import numpy as np
    import pyarrow as pa

    rows_per = [part.rows_per[i] for i in chosen]
    total = sum(rows_per)
    ids, prediction_ids = [], []
    for i, n in zip(chosen, rows_per, strict=True):
        rid = part.ids[i]
        ids.extend([rid] * n)
        prediction_ids.extend([rid] if n == 1 else [f"{rid}/{row}" for row in range(n)])
    repeat = np.asarray(rows_per)
    columns: dict[str, Any] = {
        "prediction_id": pa.array(prediction_ids, pa.string()),
        "request_id": pa.array(ids, pa.string()),
        "ts": pa.array(np.repeat(np.asarray([part.ts[i] for i in chosen]), repeat)).cast(
            pa.timestamp("ms", tz="UTC")
        ),
        "model": pa.array([key[0]] * total, pa.string()),
        "version": pa.array([key[1]] * total, pa.string()),
        "protocol": pa.array(np.repeat([part.protocol[i] for i in chosen], repeat), pa.string()),
        "latency_ms": pa.array(
            np.repeat(np.asarray([part.latency[i] for i in chosen], dtype=np.float32), repeat)
        ),
    }
    first = part.inputs[chosen[0]]
    if isinstance(first, np.ndarray):
        shapes = {part.inputs[i].shape[1:] for i in chosen}
        if len(shapes) == 1 and first.ndim == 2:
            matrix = np.concatenate([part.inputs[i] for i in chosen])
            named = part.columns if len(part.columns) == matrix.shape[1] else None
            for position in range(matrix.shape[1]):  # no signature: x0, x1, ...
                name, kind = named[position] if named else (f"x{position}", str(matrix.dtype))
                columns[input_column(name)] = _typed(matrix[:, position], kind)
    else:
        import pandas as pd

        frame = pd.concat([part.inputs[i] for i in chosen], ignore_index=True)
        known = dict(part.columns)
        for name in frame.columns if not known else list(known):
            if name in frame.columns:
                kind = known.get(name, str(frame[name].dtype))
                columns[input_column(str(name))] = _typed(frame[name], kind)
    columns["prediction"] = _outputs(
        [part.predict[i] for i in chosen], [part.rows_per[i] for i in chosen]
    )
    probas = [part.proba[i] for i in chosen]
    if any(p is not None for p in probas):
        values: list[Any] = []
        for p, n in zip(probas, rows_per, strict=True):
            values.extend(np.asarray(p, dtype=np.float64).tolist() if p is not None else [None] * n)
        columns["proba"] = pa.array(values, pa.list_(pa.float64()))
    else:
        columns["proba"] = pa.nulls(total, pa.list_(pa.float64()))
    return pa.RecordBatch.from_pydict(columns)


def _typed(values: Any, kind: str) -> Any:
    import pyarrow as pa

    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):  # mixed objects
        array = pa.array([None if v is None else str(v) for v in values], pa.string())
    target = _ARROW_TYPES.get(kind)
    if target is None:
        return array.cast(pa.string()) if not pa.types.is_timestamp(array.type) else array
    try:
        return array.cast(getattr(pa, target)())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return array.cast(pa.string())


def _outputs(parts: list[Any], rows_per: list[int]) -> Any:
    """The ``prediction`` column; null for requests that did not compute ``predict`` (they
    asked only for ``predict_proba``)."""
    import numpy as np
    import pyarrow as pa

    if any(p is None for p in parts):
        values_list: list[Any] = []
        for p, n in zip(parts, rows_per, strict=True):
            values_list.extend([None] * n if p is None else np.asarray(p).tolist())
        if all(v is None for v in values_list):
            return pa.nulls(len(values_list), pa.string())
        try:
            return pa.array(values_list)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([None if v is None else str(v) for v in values_list], pa.string())
    arrays = [np.asarray(p) for p in parts]
    values = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
    if values.ndim == 1:
        if values.dtype.kind == "O":
            return pa.array([None if v is None else str(v) for v in values], pa.string())
        return pa.array(values)
    flat = values.reshape(values.shape[0], int(np.prod(values.shape[1:])))
    if flat.dtype.kind not in "biuf":
        flat = flat.astype(str)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel()), flat.shape[1])


def read_stream(path: Path) -> tuple[Any, int]:
    """The complete batches of a stream file (a table, or None if none) and how many bytes
    after them were left unread: the torn tail of a writer killed mid-batch, or 0."""
    import pyarrow as pa

    data = path.read_bytes()
    batches = []
    try:
        reader = pa.ipc.open_stream(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError):
        return None, len(data)
    schema = reader.schema
    while True:
        try:
            batches.append(reader.read_next_batch())
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError):
            break
    # The bytes the complete batches take: the same batches written again (a stream's
    # encoding is deterministic), without the 8-byte end-of-stream marker.
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    complete = len(sink.getvalue()) - 8
    torn = max(0, len(data) - complete)
    if torn == 8 and data[-8:] == b"\xff\xff\xff\xff\x00\x00\x00\x00":
        torn = 0  # a properly closed file: only the end-of-stream marker follows
    table = pa.Table.from_batches(batches, schema=schema)
    return table, torn


def compact(path: Path) -> tuple[Path, int, int, int, int] | None:
    """``path`` (a stream file) as a Parquet file beside it: (parquet, rows, first ms, last ms,
    bytes of a torn tail left out); None when it holds no complete batch."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table, torn_bytes = read_stream(path)
    if table is None or table.num_rows == 0:
        return None
    ts = table.column("ts").cast("int64")
    first, last = int(pc.min(ts).as_py()), int(pc.max(ts).as_py())
    parquet = path.with_name(path.name + ".parquet")
    pq.write_table(table, parquet, compression="zstd")
    return parquet, table.num_rows, first, last, torn_bytes
