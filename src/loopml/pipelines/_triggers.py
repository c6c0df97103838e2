"""Triggers and the agent: what starts a pipeline, and the process that starts it.

A pipeline declares its triggers::

    @loopml.pipeline(schedule="0 3 * * *")               # cron, 5 fields, UTC
    def nightly(): ...

    @loopml.pipeline(on_new_data="transactions")         # a new version of a dataset
    def retrain(dataset: str = "transactions"): ...

    @loopml.pipeline(on_new_data="incoming/*.csv")       # a new file in a watched folder/glob
    def ingest(dataset: str = ""): ...

and anything can fire one: ``loopml.triggers.fire("retrain", "drift on amount", {...})``.
Every firing is a row of the store (``trigger_firings``) with a *dedupe key*, unique per
trigger: a schedule's due time, a dataset version's content id, or the caller's key. So a
given data version starts a pipeline at most once, across agent restarts and with several
agents running.

``loopml agent TARGET ...`` loads the pipelines, and on every tick records due firings, claims
one at a time and runs it (a pipeline with a ``dataset`` parameter receives ``name/version``).
A file in a watched folder is taken once its size and mtime held still between two scans; it
is registered as a version of dataset ``<pipeline>.incoming`` first. A firing claimed by an
agent that died is requeued (up to 3 attempts). SIGTERM or Ctrl-C finishes the current run
and exits.
"""

from __future__ import annotations

import glob as globbing
import hashlib
import json
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loopml._errors import InvalidInputError, LoopmlError

MAX_ATTEMPTS = 3


def check_schedule(expression: str) -> str:
    """The cron expression, if it is a valid 5-field one; a clear error otherwise."""
    from cronsim import CronSim, CronSimError

    if len(expression.split()) != 5:
        raise InvalidInputError(
            f"schedule={expression!r} must have 5 fields (minute hour day month weekday), "
            "e.g. '0 3 * * *' for 03:00 UTC every day"
        )
    try:
        CronSim(expression, datetime.now(UTC))
    except CronSimError as exc:
        raise InvalidInputError(f"schedule={expression!r} is not a cron expression: {exc}") from exc
    return expression


def fire(
    name: str,
    reason: str,
    payload: dict[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    kind: str = "event",
    path: Any = None,
) -> int | None:
    """Ask for pipeline ``name`` to run; an agent picks it up. Returns the firing id.

    ``dedupe_key`` makes repeated calls with the same key fire once (default: a hash of
    ``reason`` and ``payload``); None is returned when that key already fired. ``kind`` is
    ``event`` (fired by code: drift, performance) or ``manual`` (by a person).
    """
    from loopml._workspace import workspace

    payload = dict(payload or {})
    if kind not in ("event", "manual"):
        raise InvalidInputError(f"kind={kind!r}: a fired trigger is 'event' or 'manual'")
    key = (
        dedupe_key
        or f"{kind}:"
        + hashlib.sha256(
            json.dumps([reason, payload], sort_keys=True, default=str).encode()
        ).hexdigest()
    )
    firing = workspace(path, create=True).store.add_firing(name, name, kind, key, reason, payload)
    return firing.id if firing is not None else None


@dataclass
class _Watched:
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (size, mtime_ns)


class Agent:
    """Evaluates the triggers of some pipelines and runs them; see the module docstring."""

    def __init__(self, targets: list[str], *, path: Any = None, report: Any = print) -> None:
        from loopml.pipelines._loader import load_pipeline

        self.path = path
        self.report = report
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self.started = datetime.now(UTC)
        self.pipelines: dict[str, tuple[Any, str]] = {}
        self.watched: dict[str, _Watched] = {}
        self.stopping = False
        for target in targets:
            try:
                pipeline = load_pipeline(target)
            except LoopmlError as exc:
                self.report(f"agent: skipping {target}: {exc}")
                continue
            self.pipelines[pipeline.name] = (pipeline, target)
        if not self.pipelines:
            raise InvalidInputError("the agent has no pipeline it can import; check the targets")

    @property
    def store(self) -> Any:
        from loopml._workspace import workspace

        return workspace(self.path, create=True).store

    # -- recording due firings ---------------------------------------------------------------
    def record(self, now: datetime | None = None) -> int:
        """Record every firing that is due now; returns how many were new."""
        now = now or datetime.now(UTC)
        new = 0
        for name, (pipeline, target) in self.pipelines.items():
            options = pipeline.options
            if options.schedule:
                from cronsim import CronSim

                due = next(CronSim(options.schedule, now, reverse=True))
                if due >= self.started.replace(second=0, microsecond=0):
                    new += self._add(
                        name,
                        target,
                        "schedule",
                        f"cron:{due.isoformat()}",
                        f"schedule {options.schedule} due {due.isoformat()}",
                        {},
                    )
            source = options.on_new_data
            if source:
                if any(c in source for c in "*?[") or Path(source).is_dir():
                    new += self._watch(name, target, source)
                else:
                    new += self._dataset(name, target, source)
        return new

    def _add(
        self, name: str, target: str, kind: str, key: str, reason: str, payload: dict[str, Any]
    ) -> int:
        firing = self.store.add_firing(name, target, kind, key, reason, payload)
        if firing is not None:
            self.report(f"agent: fired {name} ({reason})")
        return int(firing is not None)

    def _dataset(self, name: str, target: str, dataset: str) -> int:
        from loopml._errors import NotFoundError

        try:
            latest = self.store.get_dataset_version(dataset)
        except NotFoundError:
            return 0
        return self._add(
            name,
            target,
            "new_data",
            f"data:{dataset}:{latest.content_id}",
            f"new data: {dataset} v{latest.version}",
            {"dataset": dataset, "version": latest.version},
        )

    def _watch(self, name: str, target: str, source: str) -> int:
        from loopml.data import datasets

        pattern = str(Path(source) / "*") if Path(source).is_dir() else source
        state = self.watched.setdefault(name, _Watched())
        new = 0
        for file in sorted(globbing.glob(pattern)):  # noqa: PTH207 - the user's pattern
            try:
                info = Path(file).stat()
            except OSError:
                continue
            now = (info.st_size, info.st_mtime_ns)
            stable = state.seen.get(file) == now
            state.seen[file] = now
            if not stable or not Path(file).is_file():
                continue
            dataset = f"{name}.incoming"
            try:
                version = datasets.register(file, dataset, path=self.path)
            except LoopmlError as exc:
                self.report(f"agent: cannot register {file}: {exc}")
                continue
            new += self._add(
                name,
                target,
                "new_data",
                f"data:{dataset}:{version.id}",
                f"new file {file} (registered as {dataset} v{version.version})",
                {"dataset": dataset, "version": version.version, "file": file},
            )
        return new

    # -- running ---------------------------------------------------------------------------
    def run_one(self) -> bool:
        """Claim one pending firing of these pipelines and run it; False when none waits."""
        from loopml.pipelines._runner import run_pipeline

        self.store.requeue_firings(MAX_ATTEMPTS)
        firing = self.store.claim_firing(self.id, triggers=list(self.pipelines))
        if firing is None:
            return False
        pipeline, target = self.pipelines[firing.trigger]
        params: dict[str, Any] = {}
        if "dataset" in pipeline.params and "dataset" in firing.payload:
            params["dataset"] = f"{firing.payload['dataset']}/{firing.payload['version']}"
        self.report(f"agent: running {firing.trigger} for firing {firing.id} ({firing.reason})")

        def started(run_id: str) -> None:
            self.store.update_firing(firing.id, state="started", run_id=run_id)

        try:
            result = run_pipeline(pipeline, params, target=target, on_start=started, path=self.path)
        except LoopmlError as exc:
            run_id = getattr(exc, "run_id", None)
            self.store.update_firing(firing.id, state="failed", run_id=run_id, error=str(exc))
            self.report(f"agent: {firing.trigger} failed: {exc}")
            return True
        self.store.update_firing(firing.id, state="done", run_id=result.run_id)
        self.report(f"agent: {firing.trigger} run {result.run_id[:8]} {result.status}")
        return True

    def tick(self, now: datetime | None = None) -> None:
        self.record(now)
        while not self.stopping and self.run_one():
            pass

    def run_forever(self, poll_seconds: float = 2.0) -> None:
        """Tick until SIGTERM or Ctrl-C; the run in progress finishes first."""

        def stop(signum: int, _: Any) -> None:
            self.stopping = True
            self.report(f"agent: {signal.Signals(signum).name}, stopping after this step")

        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.report(f"agent {self.id}: watching {', '.join(self.pipelines)}")
            while not self.stopping:
                self.tick()
                deadline = time.monotonic() + poll_seconds
                while not self.stopping and time.monotonic() < deadline:
                    time.sleep(0.1)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.report("agent: stopped")
