"""``loopml demo``: walk the loop that exists today, end to end, on the bundled dataset.

Today's loop: create a workspace and run the training pipeline (:mod:`loopml.demo._pipeline`:
ingest the generated data as a dataset version with its profile, infer and save its schema and
validate the data, train three real scikit-learn models, evaluate each as a tracked run); run
it again to show every step served from the cache; query the runs to pick the best model;
then take a later, shifted batch of production data, validate it against the schema and test
it for drift against the training data (HTML report, logged to a monitoring run); finally start
``loopml agent`` and drop the labelled batch into the watched folder ``incoming/``: the agent
registers the file and retrains on the training data plus the batch
(:func:`loopml.demo._pipeline.fraud_retraining`). Each later phase adds its step here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPERIMENT = "fraud-demo"
MODEL = "fraud"


@dataclass
class DemoResult:
    """What the demo did: where, which runs, and the best one."""

    workspace: Path
    run_ids: list[str] = field(default_factory=list)
    best_run_id: str = ""
    best_auc: float = 0.0
    dataset: str = ""
    schema_file: Path | None = None
    validation_errors: int = 0
    batch_warnings: int = 0
    drift_report: Path | None = None
    drifted_columns: list[str] = field(default_factory=list)
    pipeline_run_id: str = ""
    cached_steps: int = 0
    dropped_file: Path | None = None
    firing_id: int | None = None
    retrain_run_id: str = ""
    retrain_dataset: str = ""
    retrain_best_auc: float = 0.0
    model_versions: list[str] = field(default_factory=list)
    verdicts: dict[int, bool] = field(default_factory=dict)
    champion: str = ""
    holdout: str = ""
    cards: list[Path] = field(default_factory=list)
    served: list[str] = field(default_factory=list)  # model versions that answered traffic
    requests: int = 0
    failed_requests: int = 0
    logged_predictions: int = 0
    labelled_predictions: int = 0
    live_accuracy: dict[str, float] = field(default_factory=dict)  # by version, from feedback


def pick_folder(base: Path) -> Path:
    """A fresh folder ``loopml-demo``, ``loopml-demo-2``, ... under ``base``."""
    candidate = base / "loopml-demo"
    n = 2
    while candidate.exists():
        candidate = base / f"loopml-demo-{n}"
        n += 1
    return candidate


def run_demo(
    workspace: Path | None = None,
    *,
    rows: int = 20_000,
    seed: int = 7,
    report: Callable[[str], None] = print,
) -> DemoResult:
    """Run the demo in ``workspace`` (default: a fresh folder under the current one)."""
    import loopml
    from loopml.demo._data import TARGET
    from loopml.demo._pipeline import fraud_training

    folder = (workspace or pick_folder(Path.cwd())).resolve()
    ws = loopml.init(folder)
    result = DemoResult(workspace=folder)
    report(f"workspace  {folder}")
    report(f"store      {ws.store.display_uri}")

    params = {"rows": rows, "seed": seed, "workspace": str(folder)}
    first = _run(fraud_training, params, folder)
    result.pipeline_run_id = first.run_id
    for name, step_result in first.steps.items():
        report(
            f"step       {name:<12} {step_result.status:<9} {step_result.seconds * 1000:7.0f} ms"
            f"  run {(step_result.run_id or '')[:8]}"
        )
    dataset = loopml.datasets.get("transactions", 1, path=folder)
    result.dataset = f"{dataset.name}/{dataset.version}"
    fraud = dataset.to_pandas()[TARGET].mean()
    report(
        f"dataset    {result.dataset}: {dataset.rows:,} transactions, {fraud:.1%} fraud  "
        f"{dataset.id[:19]}...  (content id)"
    )
    schema = loopml.datasets.schema(dataset.name, path=folder)
    result.schema_file = folder / "transactions.schema.yaml"
    schema.save(result.schema_file)
    checked = loopml.validate(dataset, schema)
    result.validation_errors = len(checked.errors)
    report(
        f"schema     {len(schema.columns)} columns inferred by the check step, saved to "
        f"{result.schema_file.name}; data valid: {checked.ok}"
    )
    again = _run(fraud_training, params, folder)
    result.cached_steps = len(again.cached_steps)
    report(
        f"again      the same pipeline: {len(again.cached_steps)} of {len(again.steps)} steps "
        f"from the cache in {again.seconds:.2f} s (first run {first.seconds:.2f} s)"
    )
    evaluations = loopml.search_runs(
        EXPERIMENT,
        filter="status = 'finished' and metrics.roc_auc > 0",
        order_by="metrics.roc_auc desc",
        path=folder,
    )
    result.run_ids = [r.id for r in evaluations]
    for r in evaluations:
        report(
            f"model      {r.params.get('candidate', r.name):<13} roc_auc "
            f"{r.metrics['roc_auc']:.4f}  pr_auc {r.metrics['pr_auc']:.4f}  run {r.id[:8]}"
        )
    best = evaluations[0]
    result.best_run_id = best.id
    result.best_auc = best.metrics["roc_auc"]
    report(f"best       {best.params.get('candidate')}  roc_auc {result.best_auc:.4f}")
    registered = first.output
    result.model_versions.append(registered["uri"])
    report(
        f"register   {registered['candidate']} as {registered['uri']} (skops bundle, signature "
        "and training data recorded)"
    )
    batch_rows = max(rows // 4, 1000)
    _monitor_batch(dataset, folder, result, report, rows=batch_rows, seed=seed)
    holdout = _holdout(folder, rows=batch_rows, seed=seed)
    result.holdout = f"{holdout.name}/{holdout.version}"
    _gate(folder, result, report, registered["version"], holdout)
    traffic = holdout.to_pandas()
    server = _serve_champion(folder, result, report, traffic.iloc[:TRAFFIC])
    try:
        _retrain_on_a_dropped_file(folder, result, report, rows=batch_rows, seed=seed)
        latest = loopml.workspace(folder).store.list_model_versions(MODEL)[0]
        if latest.version != registered["version"]:
            result.model_versions.append(f"models:/{MODEL}/{latest.version}")
            report(f"register   the retrained model as models:/{MODEL}/{latest.version}")
            _gate(folder, result, report, latest.version, holdout)
        if server is not None and result.served and result.champion != result.served[-1]:
            _swap_and_serve(server, result, report, traffic.iloc[TRAFFIC : 2 * TRAFFIC])
    finally:
        if server is not None:
            server.stop()
    if server is not None:
        _show_prediction_log(folder, result, report)
    return result


#: Transactions sent to the server per served version.
TRAFFIC = 200


def _serve_champion(
    folder: Path, result: DemoResult, report: Callable[[str], None], traffic: Any
) -> Any:
    """Serve fraud@champion, send it transactions one by one, post their labels."""
    from loopml.demo._serve import DemoServer

    if not result.champion:
        report("serve      skipped: no version was blessed, so there is no champion to serve")
        return None
    server = DemoServer(folder, f"models:/{MODEL}@champion")
    try:
        server.wait_ready()
        report(
            f"serve      loopml serve models:/{MODEL}@champion on http://127.0.0.1:{server.port}"
            f" (pid {server.process.pid}; Open Inference Protocol and MLflow /invocations)"
        )
        _traffic(server, result, report, traffic)
    except BaseException:
        server.stop()
        raise
    return server


def _traffic(server: Any, result: DemoResult, report: Callable[[str], None], frame: Any) -> None:
    from loopml.demo._data import FEATURES, TARGET
    from loopml.demo._serve import metric_lines, post_labels, send_traffic

    sent = send_traffic(server, frame, FEATURES)
    answered = sent["predictions"]
    versions = sorted({version for _, version in answered.values()})
    result.served.extend(f"models:/{MODEL}/{v}" for v in versions)
    result.requests += len(frame)
    result.failed_requests += sent["failed"]
    flagged = sum(1 for label, _ in answered.values() if label == 1)
    report(
        f"traffic    {len(frame)} transactions to v{', v'.join(versions)}, one request each: "
        f"{sent['failed']} failed, {flagged} flagged as fraud, p50 {sent['p50_ms']:.1f} ms, "
        f"p99 {sent['p99_ms']:.1f} ms"
    )
    labelled = post_labels(server, frame, TARGET)
    report(f"feedback   {labelled} true labels posted to /v2/models/{MODEL}/feedback")
    requests: dict[str, float] = {}
    flagged_by: dict[str, float] = {}
    for line in metric_lines(
        server.metrics(), "loopml_requests_total", "loopml_predicted_class_total"
    ):
        labels, value = line.rsplit(" ", 1)
        version = labels.split('version="')[1].split('"')[0]
        if labels.startswith("loopml_requests_total"):
            requests[version] = requests.get(version, 0) + float(value)
        elif 'class="1"' in labels:
            flagged_by[version] = float(value)
    report(
        "metrics    /metrics (Prometheus): loopml_requests_total "
        + ", ".join(f"v{v} {n:.0f}" for v, n in sorted(requests.items()))
        + "; loopml_predicted_class_total{class=1} "
        + ", ".join(f"v{v} {n:.0f}" for v, n in sorted(flagged_by.items()))
    )


def _swap_and_serve(
    server: Any, result: DemoResult, report: Callable[[str], None], frame: Any
) -> None:
    """Hot-swap the running server to the new champion, then send it traffic."""
    from loopml._errors import LoopmlError

    status, doc = server.request(
        "POST", f"/v2/models/{MODEL}/swap", {"uri": f"models:/{MODEL}@champion"}
    )
    if status != 200:
        raise LoopmlError(f"the swap to the new champion failed ({status}): {doc}")
    report(
        f"swap       the server now answers with {MODEL} v{doc['version']} (loaded beside the "
        "old version, switched atomically, no request failed)"
    )
    _traffic(server, result, report, frame)


def _show_prediction_log(folder: Path, result: DemoResult, report: Callable[[str], None]) -> None:
    """What the server logged (written out on SIGTERM), with the labels joined."""
    import loopml

    log = loopml.predictions.read(MODEL, path=folder)
    result.logged_predictions = len(log)
    labelled = log[log["label"].notna()]
    result.labelled_predictions = len(labelled)
    for version, rows in labelled.groupby("version"):
        accuracy = float((rows["prediction"] == rows["label"].astype(int)).mean())
        result.live_accuracy[str(version)] = accuracy
        caught = rows[rows["label"] == 1]
        recall = float((caught["prediction"] == 1).mean()) if len(caught) else float("nan")
        report(
            f"log        {MODEL} v{version}: {len(rows)} logged predictions with labels, "
            f"accuracy {accuracy:.3f}, fraud caught {recall:.0%} of {len(caught)}"
        )
    segments = loopml.predictions.segments(MODEL, path=folder)
    report(
        f"log        {len(log)} predictions in {len(segments)} Parquet segment(s); see "
        f"`loopml predictions show {MODEL}`"
    )


def _holdout(folder: Path, *, rows: int, seed: int) -> Any:
    """Labelled data no model was trained on, shifted like production: what gates judge on."""
    import loopml
    from loopml.demo._data import TARGET, fraud_transactions

    frame = fraud_transactions(rows, seed=seed + 3, shift=0.6)
    frame["transaction_id"] += 10_000_000
    return loopml.datasets.register(
        frame,
        "transactions-holdout",
        roles={TARGET: "target", "transaction_id": "id"},
        description="labelled recent data kept out of training, for model gates",
        path=folder,
    )


GATE = {
    "thresholds": {"roc_auc": ">= 0.80", "ece": "<= 0.10"},
    "vs_champion": {"roc_auc": "+0.0", "log_loss": "-0.0"},
}


def _gate(
    folder: Path, result: DemoResult, report: Callable[[str], None], version: int, holdout: Any
) -> None:
    """Gate a version against the champion on the holdout; promote it when blessed."""
    import loopml

    gate = loopml.Gate(GATE["thresholds"], GATE["vs_champion"], infra=True)
    verdict = gate.check(MODEL, version, dataset=holdout, path=folder)
    result.verdicts[version] = verdict.blessed
    against = f" vs champion v{verdict.champion}" if verdict.champion else " (no champion yet)"
    report(
        f"gate       {MODEL} v{version} on {holdout.name}/{holdout.version}{against}: "
        + ("BLESSED" if verdict.blessed else "not blessed")
    )
    for reason in verdict.reasons:
        report(f"             {reason}")
    evaluation = verdict.evaluations["candidate"]
    card = folder / f"{MODEL}-v{version}-card.html"
    card.write_bytes(loopml.load_artifact(evaluation, "model_card.html", path=folder))
    result.cards.append(card)
    report(f"card       {card.name} (evaluation run {evaluation[:8]}: metrics, plots, slices)")
    if verdict.blessed:
        loopml.models.set_alias(MODEL, "champion", version, path=folder)
        result.champion = f"models:/{MODEL}/{version}"
        report(f"champion   {MODEL}@champion -> v{version}")
    else:
        report(f"champion   stays {result.champion or 'unset'}")


def _run(pipeline_: Any, params: dict[str, Any], folder: Path) -> Any:
    from loopml.pipelines._runner import run_pipeline

    return run_pipeline(pipeline_, params, path=folder)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _monitor_batch(
    dataset: Any,
    folder: Path,
    result: DemoResult,
    report: Callable[[str], None],
    *,
    rows: int,
    seed: int,
) -> None:
    """A later batch of (shifted) production data: validate it, then test it for drift."""
    import loopml
    from loopml.demo._data import fraud_transactions

    frame = fraud_transactions(rows, seed=seed + 1, shift=0.6)
    frame["transaction_id"] += dataset.rows  # new transactions, new ids
    batch = loopml.datasets.register(
        frame, dataset.name, description="a later batch of production data", path=folder
    )
    checked = loopml.validate(batch, loopml.datasets.schema(dataset.name, path=folder))
    result.batch_warnings = len(checked.warnings)
    kinds = sorted({a.kind for a in checked.anomalies})
    report(
        f"batch      {dataset.name} v{batch.version}: {batch.rows:,} new transactions, "
        f"{_plural(len(checked.errors), 'error')}, {_plural(len(checked.warnings), 'warning')} "
        f"({', '.join(kinds) or 'none'}) against the schema"
    )
    drift = loopml.drift(dataset, batch)
    result.drift_report = folder / "drift-report.html"
    drift.to_html(result.drift_report)
    result.drifted_columns = [c.column for c in drift.sorted_columns() if c.drifted]
    with loopml.start_run(
        experiment=f"{EXPERIMENT}-monitoring", name="drift-check", path=folder
    ) as run:
        run.log_params({"reference": f"{dataset.name}/{dataset.version}", "batch_rows": rows})
        run.log_metrics(
            {"share_drifted": drift.share_drifted, "drifted_columns": drift.number_drifted}
        )
        run.log_artifact(result.drift_report, name="drift/report.html")
        run.log_artifact(json.dumps(drift.to_dict()).encode(), name="drift/report.json")
    shown = ", ".join(
        f"{c.column} ({c.test} {c.statistic:.3g})" for c in drift.sorted_columns() if c.drifted
    )
    verdict = "DRIFTED" if drift.drifted else "no dataset drift"
    report(
        f"drift      {verdict}: {drift.number_drifted} of {len(drift.columns)} columns "
        f"(share {drift.share_drifted:.2f}, threshold {drift.drift_share}) {shown}"
    )
    report(f"report     {result.drift_report}")


AGENT_TIMEOUT = 300.0


def _retrain_on_a_dropped_file(
    folder: Path,
    result: DemoResult,
    report: Callable[[str], None],
    *,
    rows: int,
    seed: int,
) -> None:
    """Start ``loopml agent``, drop the labelled batch into ``incoming/``, wait for the retrain."""
    import loopml
    from loopml._errors import LoopmlError
    from loopml._workspace import workspace
    from loopml.demo._data import fraud_transactions

    target = "loopml.demo._pipeline:fraud_retraining"
    incoming = folder / "incoming"
    incoming.mkdir(exist_ok=True)
    log_file = folder / "agent.log"
    with log_file.open("wb") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "loopml", "agent", target, "--poll", "0.5"],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        )
    report(f"agent      loopml agent {target} (pid {agent.pid}), watching incoming/*.csv")
    try:
        # The labels of the shifted batch arrive as a file: written aside, then moved in.
        frame = fraud_transactions(rows, seed=seed + 1, shift=0.6)
        frame["transaction_id"] += loopml.datasets.get("transactions", 1, path=folder).rows
        dropped = incoming / "labelled-batch-0001.csv"
        partial = incoming / ".labelled-batch-0001.csv.part"
        frame.to_csv(partial, index=False)
        partial.rename(dropped)
        result.dropped_file = dropped
        report(f"drop       {dropped.relative_to(folder)}: {rows:,} labelled transactions")
        store = workspace(folder).store
        started = time.monotonic()
        firing = None
        while time.monotonic() - started < AGENT_TIMEOUT:
            firings = store.list_firings(trigger="fraud_retraining", limit=1)
            if firings and firings[0].state in ("done", "failed", "skipped"):
                firing = firings[0]
                break
            if agent.poll() is not None:
                break
            time.sleep(0.2)
        if firing is None:
            tail = log_file.read_text(errors="replace")[-2000:]
            raise LoopmlError(
                f"the agent did not finish the retraining within {AGENT_TIMEOUT:.0f} s "
                f"(agent exit code {agent.poll()}); its log {log_file} ends with:\n{tail}"
            )
    finally:
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=30)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
    result.firing_id = firing.id
    report(f"fired      firing {firing.id}: {firing.reason}")
    if firing.state != "done" or firing.run_id is None:
        raise LoopmlError(
            f"the retraining started by the agent ended {firing.state}: {firing.error}; "
            f"see {log_file}"
        )
    run = loopml.get_run(firing.run_id, path=folder)
    result.retrain_run_id = run.id
    evaluations = loopml.search_runs(
        EXPERIMENT,
        filter=(
            f"status = 'finished' and metrics.roc_auc > 0 and tags.loopml.pipeline_run = '{run.id}'"
        ),
        order_by="metrics.roc_auc desc",
        path=folder,
    )
    best = evaluations[0]
    result.retrain_dataset = best.params.get("dataset", "")
    result.retrain_best_auc = best.metrics["roc_auc"]
    report(
        f"retrain    the agent ran {run.name} (run {run.id[:8]}, {run.status}, "
        f"{run.duration or 0:.1f} s) on {result.retrain_dataset}: the training data plus the batch"
    )
    report(
        f"retrained  best {best.params.get('candidate')}  roc_auc {result.retrain_best_auc:.4f}"
        f"  (agent log: {log_file.name})"
    )
