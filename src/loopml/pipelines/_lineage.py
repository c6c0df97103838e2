"""``loopml lineage OBJECT``: which executions produced an object and which consumed it.

Lineage edges are recorded per execution (a step's run): ``in`` for what it read, ``out`` for
what it wrote (:meth:`loopml.store.Store.add_lineage`). For an artifact or a dataset version
the upstream side is the runs that wrote it and the downstream side the runs that read it; for
a run, upstream is what it read (and who wrote that), downstream what it wrote (and who read
that). Cached executions count as producers too: they re-emit the same content.
"""

from __future__ import annotations

from typing import Any

from loopml._errors import InvalidInputError, NotFoundError


def _describe(edge: Any) -> str:
    if edge.dataset is not None:
        return f"dataset {edge.dataset[0]}/{edge.dataset[1]}"
    return f"{edge.type} {edge.digest}"


def _run_text(item: Any) -> str:
    return f"run {item.run_id[:8]} ({item.run_name or '?'}, {item.experiment}, {item.status})"


def lineage_of(obj: str, *, path: Any = None) -> dict[str, Any]:
    """Upstream and downstream of a run, an artifact digest or a dataset version, as text."""
    from loopml._workspace import workspace

    store = workspace(path).store
    if obj.startswith("sha256:"):
        writers = store.runs_touching(digest=obj, direction="out")
        readers = store.runs_touching(digest=obj, direction="in")
        if not writers and not readers:
            writers = store.runs_touching(obj, direction="out")
            readers = store.runs_touching(obj, direction="in")
        if not writers and not readers:
            raise NotFoundError(f"no execution read or wrote {obj}")
        return {
            "object": f"artifact {obj}",
            "upstream": [f"written as {w.edge.name!r} by {_run_text(w)}" for w in writers],
            "downstream": [f"read as {r.edge.name!r} by {_run_text(r)}" for r in readers],
        }
    dataset = _as_dataset(obj)
    if dataset is not None and _dataset_exists(store, dataset):
        writers = store.runs_touching(dataset=dataset, direction="out")
        readers = store.runs_touching(dataset=dataset, direction="in")
        return {
            "object": f"dataset {dataset[0]}/{dataset[1]}",
            "upstream": [f"written as {w.edge.name!r} by {_run_text(w)}" for w in writers],
            "downstream": [f"read as {r.edge.name!r} by {_run_text(r)}" for r in readers],
        }
    try:
        run_id = store.resolve_run_id(obj)
    except (NotFoundError, InvalidInputError):
        raise InvalidInputError(
            f"{obj!r} is not a run id, an artifact digest (sha256:...) or a dataset "
            "(name/VERSION) that loopml knows"
        ) from None
    run = store.get_run(run_id)
    upstream: list[str] = []
    downstream: list[str] = []
    executions = [(run_id, "")]
    if run.tags.get("loopml.kind") == "pipeline":
        steps = store.search_runs(filter=f"tags.loopml.pipeline_run = '{run_id}'", limit=None)
        executions = [(s.id, f"{s.name}.") for s in sorted(steps, key=lambda s: s.start_time)]
    for execution, prefix in executions:
        _edges(store, execution, prefix, upstream, downstream)
    return {
        "object": f"run {run_id} ({run.name or '?'}, {run.experiment}, {run.status})",
        "upstream": upstream,
        "downstream": downstream,
    }


def _edges(
    store: Any, run_id: str, prefix: str, upstream: list[str], downstream: list[str]
) -> None:
    for edge in store.lineage_of_run(run_id):
        selector: dict[str, Any] = (
            {"dataset": edge.dataset} if edge.dataset is not None else {"digest": edge.digest}
        )
        if edge.direction == "in":
            writers = [w for w in store.runs_touching(**selector, direction="out")]
            who = "; ".join(_run_text(w) for w in writers if w.run_id != run_id) or "given"
            upstream.append(f"{prefix}{edge.name}: {_describe(edge)} <- {who}")
        else:
            readers = [r for r in store.runs_touching(**selector, direction="in")]
            who = "; ".join(_run_text(r) for r in readers) or "not read yet"
            downstream.append(f"{prefix}{edge.name}: {_describe(edge)} -> {who}")


def _as_dataset(obj: str) -> tuple[str, int] | None:
    name, sep, version = obj.removeprefix("datasets:/").rpartition("/")
    if sep and name and version.isdigit():
        return (name, int(version))
    return None


def _dataset_exists(store: Any, dataset: tuple[str, int]) -> bool:
    try:
        store.get_dataset_version(*dataset)
    except NotFoundError:
        return False
    return True
