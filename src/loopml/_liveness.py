"""Is a run's process still alive? Heartbeats, pids and process start times.

A running run records its host, pid and the process's start time (Linux ``/proc``), and its
process refreshes ``heartbeat_at`` every :data:`HEARTBEAT_INTERVAL_S` seconds. When a store is
opened, every run still marked ``running`` is checked: on this host, a pid that no longer exists
(or now belongs to a younger process) means the run was killed; on any host, a heartbeat older
than :data:`STALE_AFTER_S` means the same.
"""

from __future__ import annotations

import os
import socket
import time
from functools import cache

from loopml.store import RunLiveness, Store

HEARTBEAT_INTERVAL_S = float(os.environ.get("LOOPML_HEARTBEAT_INTERVAL", "10"))
STALE_AFTER_S = max(6 * HEARTBEAT_INTERVAL_S, 30.0)


@cache
def hostname() -> str:
    return socket.gethostname()


def process_start(pid: int) -> int | None:
    """The start time of a process in clock ticks since boot (Linux), or None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        if fields[0] == "Z":  # a zombie has exited; it only waits for its parent
            return -1
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int, started: int | None) -> bool:
    """True if ``pid`` exists and (when known) is the same process that started the run."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    now_started = process_start(pid)
    if now_started == -1:
        return False
    return started is None or now_started is None or now_started == started


def is_dead(run: RunLiveness, *, now_ms: int) -> str | None:
    """Why this running run's process must be gone, or None if it may be alive."""
    if run.host == hostname() and run.pid is not None and not pid_alive(run.pid, run.proc_start):
        return f"process {run.pid} on {run.host} ended without ending the run"
    if now_ms - run.heartbeat_at > STALE_AFTER_S * 1000:
        return f"no heartbeat from process {run.pid} on {run.host} for over {STALE_AFTER_S:.0f} s"
    return None


def reap(store: Store) -> list[str]:
    """Mark killed every running run whose process is gone; return their ids."""
    now_ms = time.time_ns() // 1_000_000
    reasons: dict[str, list[str]] = {}
    for run in store.running_runs():
        why = is_dead(run, now_ms=now_ms)
        if why is not None:
            reasons.setdefault(why, []).append(run.id)
    killed: list[str] = []
    for why, ids in reasons.items():
        killed += store.mark_killed(
            ids, f"killed: {why} (crash, kill signal or power loss); last heartbeat kept as end"
        )
    return killed
