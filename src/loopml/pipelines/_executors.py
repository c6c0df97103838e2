"""The process and Ray executors: independent steps run in parallel, away from the driver.

The driver walks the graph: a step whose upstream steps are done is *opened* (its run is
created, its cache key computed; a cache hit or a resumed output closes it at once), then
*submitted* (a child process of its own, or a Ray task with the step's resources), and
*closed* when its worker reports: output text and tracebacks become artifacts, outputs become
lineage edges and a cache entry, the run ends finished or failed. A worker that dies (a
signal, an out-of-memory kill) fails its step with the reason. After a failure nothing new
is submitted; steps already running finish.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError, LoopmlError
from loopml.pipelines._dsl import Node, OutputRef, Pipeline
from loopml.pipelines._runner import (
    Artifact,
    StepResult,
    _inputs_of,
    _param_text,
    cache_key,
    find_reuse,
    record_reuse,
    step_tags,
)

if TYPE_CHECKING:
    from loopml._workspace import Workspace
    from loopml.store import LineageEdge


@dataclass
class _Open:
    node: Node
    run: Any
    key: str
    in_edges: list[LineageEdge]
    payload: dict[str, Any]
    started: float


def _open(
    ws: Workspace,
    node: Node,
    values: dict[str, Any],
    results: dict[str, StepResult],
    use_cache: bool,
    resumed: tuple[str, list[LineageEdge]] | None,
    pipeline_run: str,
    target: str,
    path: Any,
) -> StepResult | _Open:
    from loopml.tracking import start_run

    options = node.step.options
    started = time.perf_counter()
    params, inputs = _inputs_of(ws, node, values, results)
    key = cache_key(node, params, inputs)
    cacheable = use_cache and options.cache and options.deterministic
    param_texts = {k: _param_text(v) for k, v in params.items()}
    reuse, how = find_reuse(ws, node, key, resumed, cacheable)
    run = start_run(
        name=node.id,
        tags={**step_tags(node, key, pipeline_run), "loopml.cache": how},
        params=param_texts,
        parent=pipeline_run,
        nested=False,
        path=path,
    )
    in_edges = [a.edge("in", name) for name, a in inputs.items()]
    if reuse is not None:
        record_reuse(ws, run.id, key, how, in_edges, reuse)
        run.end("finished")
        status = "resumed" if how == "resumed" else "cached"
        return StepResult(node.id, status, run.id, time.perf_counter() - started, 0, reuse)
    payload = {
        "target": target,
        "node": node.id,
        "inputs": {name: a.describe() for name, a in inputs.items()},
        "params": params,
        "artifacts": ws.settings.artifacts_uri,
        "store": ws.settings.store_uri,
        "run": {
            "id": run.id,
            "name": run.name,
            "experiment": run.experiment,
            "parent": pipeline_run,
            "params": param_texts,
        },
        "sys_path": [str(Path.cwd()), *[p for p in sys.path if p and Path(p).is_dir()][:20]],
    }
    return _Open(node, run, key, in_edges, payload, started)


def _close(ws: Workspace, opened: _Open, outcome: dict[str, Any]) -> StepResult:
    run, node = opened.run, opened.node
    for name in ("stdout", "stderr"):
        if outcome.get(name):
            run.log_artifact(outcome[name].encode(), name=f"loopml/{name}.txt")
    for n, text in enumerate(outcome.get("tracebacks", []), start=1):
        run.log_artifact(text.encode(), name=f"loopml/traceback-{n}.txt")
    problem = _apply_logged(ws, run.id, outcome.get("logged") or {})
    if problem is not None:
        outcome = {**outcome, "ok": False, "tracebacks": [*outcome.get("tracebacks", []), problem]}
    attempts = int(outcome.get("attempts", 0))
    run.set_tag("loopml.attempts", attempts)
    if outcome.get("worker"):
        run.set_tag("loopml.worker", outcome["worker"])
    seconds = time.perf_counter() - opened.started
    if not outcome.get("ok"):
        error = (outcome.get("tracebacks") or ["the step failed"])[-1]
        run.end("failed", error=error[-4000:])
        return StepResult(node.id, "failed", run.id, seconds, attempts)
    outputs = {n: Artifact.from_description(d) for n, d in outcome["outputs"].items()}
    ws.store.add_lineage(run.id, opened.in_edges + [a.edge("out", n) for n, a in outputs.items()])
    if node.step.options.cache and node.step.options.deterministic:
        ws.store.put_cache_entry(opened.key, node.step.qualname, run.id)
    run.end("finished")
    return StepResult(node.id, "finished", run.id, seconds, attempts, outputs)


def _apply_logged(ws: Workspace, run_id: str, logged: dict[str, Any]) -> str | None:
    """Write what the step logged in its worker to its run; the problem, if that fails."""
    from loopml._errors import LoopmlError
    from loopml.store._records import MetricPoint

    try:
        if logged.get("params"):
            ws.store.log_params(run_id, logged["params"])
        if logged.get("tags"):
            ws.store.set_tags(run_id, logged["tags"])
        if logged.get("metrics"):
            ws.store.log_metrics(run_id, [MetricPoint(*point) for point in logged["metrics"]])
        for name, digest, size in logged.get("artifacts", []):
            ws.store.add_artifact(run_id, name, digest, size)
    except LoopmlError as exc:
        return f"what the step logged could not be recorded: {exc}"
    return None


# -- child processes ---------------------------------------------------------------------------
def _child(payload: dict[str, Any]) -> dict[str, Any]:
    """Run the payload in a child process of its own; a killed child is reported, not raised."""
    with tempfile.TemporaryDirectory(prefix="loopml-step-") as tmp:
        payload_file, result_file = Path(tmp) / "payload.json", Path(tmp) / "result.json"
        payload_file.write_text(json.dumps(payload), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(payload["sys_path"])}
        done = subprocess.run(
            [sys.executable, "-m", "loopml.pipelines._remote", str(payload_file), str(result_file)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if result_file.is_file():
            outcome: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
            outcome["worker"] = f"process {outcome.get('pid')}"
            return outcome
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        reason = f"the step's process was killed by signal {name} ({-done.returncode})"
    else:
        reason = f"the step's process exited with code {done.returncode}"
    return {
        "ok": False,
        "attempts": 1,
        "outputs": {},
        "stdout": done.stdout,
        "stderr": done.stderr,
        "tracebacks": [f"{reason}\n{done.stderr[-4000:]}"],
    }


# -- Ray ----------------------------------------------------------------------------------------
def _ray_submit(pool: Any, payload: dict[str, Any], node: Node) -> Future[dict[str, Any]]:
    import ray

    from loopml.pipelines._remote import execute

    resources = dict(node.step.options.resources)
    options: dict[str, Any] = {"max_retries": 0}
    if "cpu" in resources:
        options["num_cpus"] = float(resources.pop("cpu"))
    if "gpu" in resources:
        options["num_gpus"] = float(resources.pop("gpu"))
    if "memory" in resources:
        options["memory"] = int(resources.pop("memory"))
    if resources:
        options["resources"] = resources
    total = ray.cluster_resources()  # type: ignore[no-untyped-call]
    for wanted, have in (("num_cpus", "CPU"), ("num_gpus", "GPU")):
        if wanted in options and options[wanted] > total.get(have, 0):
            raise InvalidInputError(
                f"step {node.id} asks for {options[wanted]:g} {have}s but the Ray cluster has "
                f"{total.get(have, 0):g}; lower @step(resources=...) or add nodes"
            )
    task = ray.remote(execute).options(**options)
    reference = task.remote(payload)

    def collect() -> dict[str, Any]:
        try:
            outcome: dict[str, Any] = ray.get(reference)
        except Exception as exc:
            return {"ok": False, "attempts": 1, "outputs": {}, "tracebacks": [repr(exc)]}
        outcome["worker"] = f"ray pid {outcome.get('pid')}"
        return outcome

    result: Future[dict[str, Any]] = pool.submit(collect)
    return result


def _ray_init() -> None:
    from loopml.data._ray import _ray

    _ray()


# -- the scheduler ------------------------------------------------------------------------------
def run_remote(
    ws: Workspace,
    pipeline: Pipeline,
    values: dict[str, Any],
    results: dict[str, StepResult],
    *,
    use_cache: bool,
    reused: dict[str, tuple[str, list[LineageEdge]]],
    pipeline_run: str,
    target: str,
    executor: str,
    path: Any,
) -> None:
    """Run the graph's steps on ``executor`` ("process" or "ray"), filling ``results``."""
    if executor == "ray":
        _ray_init()
    waiting = list(pipeline.graph.order())
    running: dict[Future[dict[str, Any]], _Open] = {}
    workers = max(2, os.cpu_count() or 2) if executor == "process" else 64
    failed = False
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while waiting or running:
            if not failed:
                for node in list(waiting):
                    upstream = {r.node for r in node.inputs.values() if isinstance(r, OutputRef)}
                    if not all(
                        u in results and results[u].status in ("finished", "cached", "resumed")
                        for u in upstream
                    ):
                        continue
                    waiting.remove(node)
                    opened = _open(
                        ws,
                        node,
                        values,
                        results,
                        use_cache,
                        reused.get(node.id),
                        pipeline_run,
                        target,
                        path,
                    )
                    if isinstance(opened, StepResult):
                        results[node.id] = opened
                        continue
                    try:
                        future = (
                            _ray_submit(pool, opened.payload, node)
                            if executor == "ray"
                            else pool.submit(_child, opened.payload)
                        )
                    except LoopmlError as exc:
                        opened.run.end("failed", error=str(exc))
                        raise
                    running[future] = opened
            if failed and not running:
                break
            if not running:
                if waiting and not failed:
                    continue  # cached steps just unlocked more work
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                opened = running.pop(future)
                result = _close(ws, opened, future.result())
                results[opened.node.id] = result
                failed = failed or result.status == "failed"
