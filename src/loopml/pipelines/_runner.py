"""Running a pipeline in this process: tracked runs, materialized outputs, caching, lineage.

The pipeline run is a tracked run (tag ``loopml.kind=pipeline``); each step execution is a
child run (``loopml.kind=step``) holding the step's params, its captured stdout and stderr,
and on failure its traceback. Every input and output is a lineage edge of the step's run
(:meth:`loopml.store.Store.add_lineage`): artifact -> execution -> artifact.

A step's cache key (:func:`cache_key`) hashes its code fingerprint
(:mod:`loopml.pipelines._fingerprint`), its parameter values, the content hashes of its
inputs and its declared environment. A hit is used only when every cached output blob still
exists and verifies against its digest; otherwise the step runs again. Steps with
``cache=False`` or ``deterministic=False``, and runs with ``cache=False``, always execute.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml._errors import BlobCorruptError, BlobNotFoundError, InvalidInputError, LoopmlError
from loopml.pipelines import _materializers as mat
from loopml.pipelines._dsl import ConstRef, Node, OutputRef, ParamRef, Pipeline

if TYPE_CHECKING:
    from loopml._workspace import Workspace
    from loopml.store import LineageEdge

KEY_VERSION = 1
EXECUTORS = ("local", "process", "ray")


class StepFailedError(LoopmlError):
    """A step raised (after its retries); the pipeline run is marked failed."""

    def __init__(self, message: str, *, run_id: str, step: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.step = step


@dataclass
class Artifact:
    """A value flowing between steps: in memory, and stored."""

    materializer: str
    content_hash: str
    type: str
    digest: str | None = None  # None for a dataset reference
    dataset: tuple[str, int] | None = None
    size: int | None = None
    value: Any = None
    loaded: bool = False

    def describe(self) -> dict[str, Any]:
        """A JSON-able description (no value) for another process: see from_description."""
        return {
            "materializer": self.materializer,
            "content_hash": self.content_hash,
            "type": self.type,
            "digest": self.digest,
            "dataset": list(self.dataset) if self.dataset else None,
            "size": self.size,
        }

    @classmethod
    def from_description(cls, desc: dict[str, Any]) -> Artifact:
        dataset = desc.get("dataset")
        return cls(
            materializer=desc["materializer"],
            content_hash=desc["content_hash"],
            type=desc["type"],
            digest=desc.get("digest"),
            dataset=(dataset[0], int(dataset[1])) if dataset else None,
            size=desc.get("size"),
        )

    def edge(self, direction: str, name: str) -> LineageEdge:
        from loopml.store import LineageEdge

        return LineageEdge(
            direction=direction,
            name=name,
            content_hash=self.content_hash,
            digest=self.digest,
            dataset=self.dataset,
            type=self.type,
            materializer=self.materializer,
            size=self.size,
        )


@dataclass
class StepResult:
    """What happened to one step in a pipeline run."""

    node: str
    status: str  # "finished" | "cached" | "resumed" | "failed" | "skipped"
    run_id: str | None = None
    seconds: float = 0.0
    attempts: int = 0
    outputs: dict[str, Artifact] = field(default_factory=dict)


@dataclass
class PipelineRun:
    """The result of ``pipeline.run()``: the tracked run, each step's result and the outputs."""

    pipeline: str
    run_id: str
    status: str
    params: dict[str, Any]
    steps: dict[str, StepResult]
    outputs: dict[str, Any]
    seconds: float

    @property
    def output(self) -> Any:
        """The pipeline's single output (or a dict of them when it returns several)."""
        if len(self.outputs) == 1:
            return next(iter(self.outputs.values()))
        return dict(self.outputs)

    @property
    def cached_steps(self) -> list[str]:
        return [name for name, s in self.steps.items() if s.status in ("cached", "resumed")]

    def __repr__(self) -> str:
        cached = len(self.cached_steps)
        return (
            f"PipelineRun({self.pipeline} {self.run_id[:8]}: {self.status}, "
            f"{len(self.steps)} steps, {cached} cached, {self.seconds:.2f}s)"
        )

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{escape(s.status)}</td>"
            f"<td>{s.seconds * 1000:.0f} ms</td><td><code>{escape((s.run_id or '')[:8])}"
            f"</code></td></tr>"
            for name, s in self.steps.items()
        )
        return (
            f"<div><b>{escape(self.pipeline)}</b> run <code>{escape(self.run_id[:8])}</code>: "
            f"{escape(self.status)} in {self.seconds:.2f} s<table><tr><th>step</th>"
            f"<th>status</th><th>time</th><th>run</th></tr>{rows}</table></div>"
        )


# -- keys ---------------------------------------------------------------------------------------
def _requirements(names: list[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def cache_key(node: Node, params: dict[str, Any], inputs: dict[str, Artifact]) -> str:
    """``sha256:...`` of the step's code, parameters, input content hashes and environment."""
    from loopml.pipelines._fingerprint import code_fingerprint

    options = node.step.options
    record = {
        "v": KEY_VERSION,
        "step": node.step.qualname,
        "code": code_fingerprint(node.step.fn),
        "params": {k: json.loads(mat.canonical_json(v)) for k, v in sorted(params.items())},
        "inputs": {k: a.content_hash for k, a in sorted(inputs.items())},
        "env": dict(sorted(options.env.items())),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "requirements": _requirements(options.requirements),
    }
    return "sha256:" + hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


# -- storing values ------------------------------------------------------------------------------
def store_value(ws: Workspace, value: Any) -> Artifact:
    """Materialize ``value`` into the artifact store (a dataset version is only referenced)."""
    materializer = mat.for_value(value)
    if materializer.name == "dataset":
        return Artifact(
            "dataset",
            value.id,
            mat.type_name(value),
            dataset=(value.name, value.version),
            value=value,
            loaded=True,
        )
    data = materializer.save(value)
    digest, size = ws.artifacts.put_bytes(data)
    return Artifact(
        materializer.name,
        materializer.hash(value, data),
        mat.type_name(value),
        digest=digest,
        size=size,
        value=value,
        loaded=True,
    )


def load_artifact(ws: Workspace, artifact: Artifact) -> Any:
    """The value of a stored artifact (verifying its blob), loaded once."""
    if artifact.loaded:
        return artifact.value
    if artifact.dataset is not None:
        from loopml.data.datasets import DatasetVersion

        name, version = artifact.dataset
        artifact.value = DatasetVersion(ws.store.get_dataset_version(name, version), ws)
    else:
        assert artifact.digest is not None
        data = ws.artifacts.get_bytes(artifact.digest)
        artifact.value = mat.by_name(artifact.materializer).load(data)
    artifact.loaded = True
    return artifact.value


def _from_edge(edge: LineageEdge) -> Artifact:
    return Artifact(
        edge.materializer,
        edge.content_hash,
        edge.type,
        digest=edge.digest,
        dataset=edge.dataset,
        size=edge.size,
    )


# -- output capture ------------------------------------------------------------------------------
class _Tee(io.TextIOBase):
    def __init__(self, original: Any) -> None:
        self.original = original
        self.buffer_ = io.StringIO()

    def write(self, text: str) -> int:
        self.buffer_.write(text)
        with contextlib.suppress(ValueError):  # the original stream was closed
            self.original.write(text)
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(ValueError):
            self.original.flush()


# -- running ---------------------------------------------------------------------------------------
def run_pipeline(
    pipeline: Pipeline,
    params: dict[str, Any],
    *,
    cache: bool | None = None,
    resume: str | None = None,
    target: str | None = None,
    executor: str = "local",
    on_start: Any = None,
    path: Any = None,
) -> PipelineRun:
    """Run ``pipeline`` in this process with ``params``; see the module docstring.

    ``resume`` names an earlier (failed) run of this pipeline: its finished steps are reused
    as they are and only the others execute. ``target`` (``file.py:name``) is recorded so
    that ``loopml run --resume`` can find the pipeline again. ``executor`` is ``local`` (each
    step in this process, in order: breakpoints work), ``process`` (each step in a child
    process of its own, independent steps in parallel) or ``ray`` (each step a Ray task with
    the resources it declares).
    """
    from loopml._workspace import workspace
    from loopml.tracking import start_run

    if executor not in EXECUTORS:
        raise InvalidInputError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    values = pipeline.bind(params)
    ws = workspace(path, create=True)
    if executor != "local":
        target = target or target_of(pipeline)
    use_cache = pipeline.options.cache if cache is None else bool(cache)
    reused = _finished_steps(ws, resume, pipeline) if resume else {}
    experiment = pipeline.options.experiment or pipeline.name
    started = time.perf_counter()
    results: dict[str, StepResult] = {}
    with start_run(
        experiment=experiment,
        name=pipeline.name,
        tags={
            "loopml.kind": "pipeline",
            "loopml.pipeline": pipeline.qualname,
            "loopml.cache": "on" if use_cache else "off",
            **({"loopml.resumed_from": resume} if resume else {}),
            **({"loopml.pipeline.target": target} if target else {}),
            "loopml.executor": executor,
        },
        params={k: _param_text(v) for k, v in values.items()},
        nested=False,
        path=path,
    ) as run:
        if on_start is not None:
            on_start(run.id)  # e.g. the agent links its firing to the run as it starts
        if executor == "local":
            for node in pipeline.graph.order():
                result = _run_node(
                    ws, node, values, results, use_cache, reused.get(node.id), run.id, path
                )
                results[node.id] = result
                if result.status == "failed":
                    break
        else:
            from loopml.pipelines._executors import run_remote

            run_remote(
                ws,
                pipeline,
                values,
                results,
                use_cache=use_cache,
                reused=reused,
                pipeline_run=run.id,
                target=target or "",
                executor=executor,
                path=path,
            )
        failed = [r for r in results.values() if r.status == "failed"]
        if failed:
            for later in pipeline.graph.order():
                results.setdefault(later.id, StepResult(later.id, "skipped"))
            first = failed[0]
            run.set_tag("loopml.failed_step", first.node)
            message = (
                f"step {first.node} of pipeline {pipeline.name} failed (run "
                f"{first.run_id}); see `loopml runs show {first.run_id}` for its "
                f"traceback and output, fix it, then resume with `loopml run --resume "
                f"{run.id}`"
            )
            run.end("failed", error=message)
            raise StepFailedError(message, run_id=run.id, step=first.node)
        outputs = {
            name: load_artifact(ws, results[ref.node].outputs[ref.output])
            for name, ref in pipeline.graph.outputs
        }
        run_id = run.id
    return PipelineRun(
        pipeline=pipeline.name,
        run_id=run_id,
        status="finished",
        params=values,
        steps=results,
        outputs=outputs,
        seconds=time.perf_counter() - started,
    )


def target_of(pipeline: Pipeline) -> str:
    """How another process finds ``pipeline``: ``file.py:name`` or ``module:name``."""
    module = sys.modules.get(pipeline.fn.__module__)
    name = next(
        (k for k, v in vars(module).items() if v is pipeline) if module is not None else iter(()),
        None,
    )
    if module is None or name is None:
        raise InvalidInputError(
            f"pipeline {pipeline.qualname} is not a module-level name, so another process "
            "cannot import it; define it at module level (or use executor='local')"
        )
    if module.__name__ == "__main__" or getattr(module, "__spec__", None) is None:
        file = getattr(module, "__file__", None)
        if not file:
            raise InvalidInputError(
                f"pipeline {pipeline.qualname} was defined interactively; put it in a file to "
                "run it on another executor (or use executor='local')"
            )
        return f"{file}:{name}"
    origin = getattr(module.__spec__, "origin", None)
    if origin and module.__name__ == Path(origin).stem and "." not in module.__name__:
        return f"{origin}:{name}"  # a file imported by path (loopml run file.py)
    return f"{module.__name__}:{name}"


def _param_text(value: Any) -> str:
    try:
        return mat.canonical_json(value).decode()
    except (TypeError, ValueError):
        return repr(value)


def _finished_steps(
    ws: Workspace, run_id: str, pipeline: Pipeline
) -> dict[str, tuple[str, list[LineageEdge]]]:
    """(cache key, outputs) of the steps that finished in pipeline run ``run_id``.

    A step is reused on resume only when its key now is the key it ran with: same code, same
    parameters, same inputs. So resuming with other parameters re-executes what they change.
    """
    store = ws.store
    full = store.resolve_run_id(run_id)
    info = store.get_run(full)
    if info.tags.get("loopml.kind") != "pipeline":
        raise InvalidInputError(f"run {run_id} is not a pipeline run; resume a pipeline run")
    if info.tags.get("loopml.pipeline") != pipeline.qualname:
        raise InvalidInputError(
            f"run {run_id} ran pipeline {info.tags.get('loopml.pipeline')}, not "
            f"{pipeline.qualname}; resume it with the pipeline it ran"
        )
    out: dict[str, tuple[str, list[LineageEdge]]] = {}
    for child in store.search_runs(filter=f"tags.loopml.pipeline_run = '{full}'", limit=None):
        step_name = child.tags.get("loopml.step")
        key = child.tags.get("loopml.cache.key")
        if child.status == "finished" and step_name and key:
            edges = [e for e in store.lineage_of_run(child.id) if e.direction == "out"]
            out[step_name] = (key, edges)
    return out


def _inputs_of(
    ws: Workspace, node: Node, values: dict[str, Any], results: dict[str, StepResult]
) -> tuple[dict[str, Any], dict[str, Artifact]]:
    """(parameters: JSON-able values, inputs: artifacts) of a node."""
    params: dict[str, Any] = {}
    inputs: dict[str, Artifact] = {}
    for name, ref in node.inputs.items():
        if isinstance(ref, OutputRef):
            inputs[name] = results[ref.node].outputs[ref.output]
            continue
        value = values[ref.name] if isinstance(ref, ParamRef) else ref.value
        assert isinstance(ref, ParamRef | ConstRef)
        if mat.for_value(value).name == "json":
            params[name] = value
        else:
            inputs[name] = store_value(ws, value)
    return params, inputs


def step_tags(node: Node, key: str, pipeline_run: str) -> dict[str, str]:
    """The tags of a step's run."""
    return {
        "loopml.kind": "step",
        "loopml.step": node.id,
        "loopml.step.function": node.step.qualname,
        "loopml.cache.key": key,
        "loopml.pipeline_run": pipeline_run,
    }


def find_reuse(
    ws: Workspace,
    node: Node,
    key: str,
    resumed: tuple[str, list[LineageEdge]] | None,
    cacheable: bool,
) -> tuple[dict[str, Artifact] | None, str]:
    """(outputs to reuse or None, how: resumed | hit | miss ... | off) for a step with ``key``."""
    reuse = None
    how = "miss" if cacheable else "off"
    if resumed is not None and resumed[0] == key:
        reuse = _verified(resumed[1], ws, node)
        how = "resumed" if reuse is not None else "miss (resumed outputs gone)"
    if reuse is None and cacheable:
        entry = ws.store.get_cache_entry(key)
        if entry is not None:
            edges = [e for e in ws.store.lineage_of_run(entry.run_id) if e.direction == "out"]
            reuse = _verified(edges, ws, node)
            how = "hit" if reuse is not None else "miss (cached outputs gone)"
    return reuse, how


def record_reuse(
    ws: Workspace,
    run_id: str,
    key: str,
    how: str,
    in_edges: list[LineageEdge],
    reuse: dict[str, Artifact],
) -> None:
    """Lineage of a step served from the cache or a resumed run, and the cache hit."""
    ws.store.add_lineage(run_id, in_edges + [a.edge("out", n) for n, a in reuse.items()])
    if how == "hit":
        with contextlib.suppress(LoopmlError):  # the entry was cleared meanwhile
            ws.store.record_cache_hit(key)


def _run_node(
    ws: Workspace,
    node: Node,
    values: dict[str, Any],
    results: dict[str, StepResult],
    use_cache: bool,
    resumed: tuple[str, list[LineageEdge]] | None,
    pipeline_run: str,
    path: Any,
) -> StepResult:
    from loopml.tracking import start_run

    options = node.step.options
    started = time.perf_counter()
    params, inputs = _inputs_of(ws, node, values, results)
    key = cache_key(node, params, inputs)
    cacheable = use_cache and options.cache and options.deterministic
    reuse, how = find_reuse(ws, node, key, resumed, cacheable)
    with start_run(
        name=node.id,
        tags={**step_tags(node, key, pipeline_run), "loopml.cache": how},
        params={k: _param_text(v) for k, v in params.items()},
        path=path,
    ) as run:
        in_edges = [a.edge("in", name) for name, a in inputs.items()]
        if reuse is not None:
            record_reuse(ws, run.id, key, how, in_edges, reuse)
            status = "resumed" if how == "resumed" else "cached"
            return StepResult(node.id, status, run.id, time.perf_counter() - started, 0, reuse)
        kwargs = {name: _own_copy(load_artifact(ws, a)) for name, a in inputs.items()} | params
        out, err = _Tee(sys.stdout), _Tee(sys.stderr)
        tried = call_with_retries(ws, node, kwargs, out, err)
        for n, text in enumerate(tried.tracebacks, start=1):
            run.log_artifact(text.encode(), name=f"loopml/traceback-{n}.txt")
        _save_output(run, out, err)
        run.set_tag("loopml.attempts", tried.attempts)
        seconds = time.perf_counter() - started
        if not tried.ok:
            run.end("failed", error=tried.tracebacks[-1][-4000:])
            return StepResult(node.id, "failed", run.id, seconds, tried.attempts)
        outputs = tried.outputs
        ws.store.add_lineage(run.id, in_edges + [a.edge("out", n) for n, a in outputs.items()])
        if options.cache and options.deterministic:
            ws.store.put_cache_entry(key, node.step.qualname, run.id)
        return StepResult(node.id, "finished", run.id, seconds, tried.attempts, outputs)


@dataclass
class Tried:
    """What calling a step (with its retries) gave: its outputs, or every traceback."""

    ok: bool
    attempts: int
    outputs: dict[str, Artifact]
    tracebacks: list[str]


def call_with_retries(
    ws: Any,
    node: Node,
    kwargs: dict[str, Any],
    out: Any,
    err: Any,
    around: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
) -> Tried:
    """Call the step with ``kwargs`` (stdout/stderr into ``out``/``err``, inside ``around()``)
    and store its outputs; on an exception wait (backoff) and call again, up to the step's
    retries. The one loop of the in-process and the remote executors."""
    options = node.step.options
    tracebacks: list[str] = []
    attempts = 0
    while True:
        attempts += 1
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), around():
                returned = node.step.fn(**kwargs)
            return Tried(True, attempts, _store_outputs(ws, node, returned), tracebacks)
        except Exception:
            tracebacks.append(traceback.format_exc())
            if attempts > options.retries:
                return Tried(False, attempts, {}, tracebacks)
            time.sleep(options.retry_delay * (2 ** (attempts - 1)))


def _own_copy(value: Any) -> Any:
    """A copy for one consumer: a step changing its input in place cannot reach another step."""
    import copy

    if (
        value is None
        or isinstance(value, bool | int | float | str | bytes)
        or (type(value).__name__ == "DatasetVersion")
    ):
        return value
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


def _save_output(run: Any, out: _Tee, err: _Tee) -> None:
    for name, tee in (("stdout", out), ("stderr", err)):
        text = tee.buffer_.getvalue()
        if text:
            run.log_artifact(text.encode(), name=f"loopml/{name}.txt")


def _verified(edges: list[LineageEdge], ws: Workspace, node: Node) -> dict[str, Artifact] | None:
    """The cached outputs by name, if each still exists and verifies; None otherwise."""
    by_name = {e.name: _from_edge(e) for e in edges}
    names = [s.name for s in node.step.outputs]
    if sorted(by_name) != sorted(names):
        return None
    for artifact in by_name.values():
        try:
            if artifact.dataset is not None:
                ws.store.get_dataset_version(*artifact.dataset)
            else:
                load_artifact(ws, artifact)  # reads and verifies the blob's digest
        except (BlobNotFoundError, BlobCorruptError, LoopmlError):
            return None
    return {name: by_name[name] for name in names}


def _store_outputs(ws: Workspace, node: Node, returned: Any) -> dict[str, Artifact]:
    specs = node.step.outputs
    if not specs:
        return {}
    if len(specs) == 1 and specs[0].name == "output":
        values = [returned]
    else:
        if not isinstance(returned, tuple) or len(returned) != len(specs):
            raise InvalidInputError(
                f"step {node.step.qualname} declares {len(specs)} outputs but returned "
                f"{type(returned).__name__}; return a tuple of {len(specs)} values"
            )
        values = list(returned)
    out = {}
    for spec, value in zip(specs, values, strict=True):
        _check_type(node, spec.name, spec.type, value)
        out[spec.name] = store_value(ws, value)
    return out


def _check_type(node: Node, name: str, declared: Any, value: Any) -> None:
    import typing

    origin = typing.get_origin(declared) or declared
    if origin is Any or not isinstance(origin, type):
        return
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if not isinstance(value, origin):
        raise InvalidInputError(
            f"step {node.step.qualname} declares output {name!r} as {origin.__name__} but "
            f"returned a {type(value).__name__}; return a {origin.__name__} or fix the "
            "annotation"
        )


__all__ = ["PipelineRun", "StepFailedError", "StepResult", "cache_key", "run_pipeline"]
