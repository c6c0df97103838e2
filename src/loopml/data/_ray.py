"""Profiling on Ray: each partition in its own Ray task, merged on the driver.

Partitions are the files of a folder or glob (each task opens its own file, so no data passes
through the driver), or slices of in-memory data (put in Ray's object store). Each task returns
its profile serialised; the driver merges them in partition order, so the result is the same
profile a single process computes, within the sketches' documented error.

Ray is an optional dependency (``pip install 'loopml[ray]'``). ``ray.init()`` connects to the
cluster named by ``RAY_ADDRESS`` when it is set, and otherwise starts a local one.
"""

from __future__ import annotations

import os
from typing import Any

from loopml._errors import InvalidInputError


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InvalidInputError(
            "executor='ray' needs Ray: pip install 'loopml[ray]' (or use executor='local')"
        ) from None
    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS") or None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    return ray


def _profile_file(path: str, columns: list[str], k: int, p: int, cap: int) -> bytes:
    from loopml.data._profile import profile

    return profile(path, columns=columns, k=k, p=p, cap=cap).to_bytes()


def _profile_table(table: Any, k: int, p: int, cap: int) -> bytes:
    from loopml.data._profile import profile

    return profile(table, k=k, p=p, cap=cap).to_bytes()


def profile_on_ray(source: Any, *, k: int, p: int, cap: int, label: str) -> Any:
    """Profile ``source`` (a :class:`~loopml.data._inputs.Source`) partition by partition."""
    from loopml.data._profile import Profile

    ray = _ray()
    columns = list(source.schema.names)
    parts = source.partitions()
    paths = [part.description.get("path") for part in parts]
    if len(parts) > 1 and all(isinstance(path, str) for path in paths):
        task = ray.remote(_profile_file)
        futures = [task.remote(path, columns, k, p, cap) for path in paths]
    else:
        table = source.read_all()
        slices = max(1, min(int(ray.available_resources().get("CPU", 1)), 64))
        step = max(1, -(-table.num_rows // slices))
        task = ray.remote(_profile_table)
        futures = [
            task.remote(ray.put(table.slice(start, step)), k, p, cap)
            for start in range(0, max(table.num_rows, 1), step)
        ]
    profiles = [Profile.from_bytes(blob) for blob in ray.get(futures)]
    merged = profiles[0]
    for other in profiles[1:]:
        merged = merged.merge(other)
    merged.source = label
    return merged
