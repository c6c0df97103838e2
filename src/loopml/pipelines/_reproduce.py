"""``loopml reproduce RUN_ID``: run a pipeline run again and say what matches.

The run is repeated with the same code (the working tree must be at the run's git commit with
the same uncommitted changes, or ``allow_dirty``), the same parameters (dataset versions are
parameters or step outputs, so they are the same too) and the same seed, with caching off so
every step really executes. Then every step output's content hash and every logged metric is
compared with the original: deterministic steps match bit for bit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml._errors import InvalidInputError


@dataclass
class Comparison:
    step: str
    name: str  # an output name, or "metric:<key>"
    original: str
    now: str

    @property
    def matches(self) -> bool:
        return self.original == self.now


@dataclass
class Reproduction:
    original_run: str
    new_run: str
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return all(c.matches for c in self.comparisons)


def reproduce(run_id: str, *, allow_dirty: bool = False, path: Any = None) -> Reproduction:
    """Re-run pipeline run ``run_id`` with caching off and compare outputs and metrics."""
    from loopml._workspace import workspace
    from loopml.pipelines._loader import load_pipeline
    from loopml.pipelines._runner import run_pipeline
    from loopml.tracking import _capture

    store = workspace(path).store
    full = store.resolve_run_id(run_id)
    old = store.get_run(full)
    if old.tags.get("loopml.kind") != "pipeline":
        raise InvalidInputError(f"run {run_id} is not a pipeline run; reproduce a pipeline run")
    target = old.tags.get("loopml.pipeline.target")
    if not target:
        raise InvalidInputError(
            f"run {run_id} does not record which file or module it ran (it was started from "
            "Python without a target); run it with `loopml run FILE.py:name` to reproduce it"
        )
    git = _capture.git_state.__wrapped__(Path.cwd())  # now, not as first seen by this process
    commit = old.tags.get("loopml.git.commit")
    if not allow_dirty:
        if commit and git.commit != commit:
            raise InvalidInputError(
                f"run {run_id} ran commit {commit[:12]}, the working tree is at "
                f"{(git.commit or 'no commit')[:12]}; `git checkout {commit[:12]}` first, or "
                "pass --allow-dirty to run the code as it is now"
            )
        if old.tags.get("loopml.git.changes_sha256") != (git.changes_sha256 or None) and (
            old.tags.get("loopml.git.dirty") == "true" or git.dirty
        ):
            raise InvalidInputError(
                f"the working tree's uncommitted changes differ from run {run_id}'s; commit or "
                "stash them (or restore the run's diff: loopml runs show), or pass --allow-dirty"
            )
    params: dict[str, Any] = {}
    for key, text in old.params.items():
        try:
            params[key] = json.loads(text)
        except ValueError:
            params[key] = text
    pipeline = load_pipeline(target)
    result = run_pipeline(pipeline, params, cache=False, target=target, path=path)
    reproduction = Reproduction(full, result.run_id)
    before = {
        r.tags.get("loopml.step"): r
        for r in store.search_runs(filter=f"tags.loopml.pipeline_run = '{full}'", limit=None)
    }
    for node, step in result.steps.items():
        original = before.get(node)
        if original is None or step.run_id is None:
            continue
        old_out = {e.name: e.content_hash for e in store.lineage_of_run(original.id)}
        for name, artifact in step.outputs.items():
            reproduction.comparisons.append(
                Comparison(node, name, old_out.get(name, "missing"), artifact.content_hash)
            )
        now = store.get_run(step.run_id)
        for key, value in sorted(original.metrics.items()):
            reproduction.comparisons.append(
                Comparison(node, f"metric:{key}", repr(value), repr(now.metrics.get(key)))
            )
    return reproduction
