"""``loopml demo``: walk the loop that exists today, end to end, on the bundled dataset.

Today's loop: create a workspace, generate the data and register it as a dataset version
(content id, profile), infer and save its schema and validate the data against it, train
several real scikit-learn models as tracked runs (params, stepped metrics, artifacts,
environment), query the runs to pick the best one, then take a later, shifted batch of
production data: validate it against the schema and test it for drift against the training
data (HTML report, logged to a monitoring run). Each later phase adds its step here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPERIMENT = "fraud-demo"


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


def pick_folder(base: Path) -> Path:
    """A fresh folder ``loopml-demo``, ``loopml-demo-2``, ... under ``base``."""
    candidate = base / "loopml-demo"
    n = 2
    while candidate.exists():
        candidate = base / f"loopml-demo-{n}"
        n += 1
    return candidate


def _candidates(seed: int) -> list[tuple[str, dict[str, Any], Callable[[], Any]]]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def logistic(c: float) -> Callable[[], Any]:
        return lambda: make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500))

    def boosting() -> Any:
        return HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.08, early_stopping=False, random_state=seed
        )

    return [
        ("logreg-C0.01", {"model": "logistic_regression", "C": 0.01}, logistic(0.01)),
        ("logreg-C1", {"model": "logistic_regression", "C": 1.0}, logistic(1.0)),
        (
            "gbdt",
            {"model": "hist_gradient_boosting", "max_iter": 150, "learning_rate": 0.08},
            boosting,
        ),
    ]


def run_demo(
    workspace: Path | None = None,
    *,
    rows: int = 20_000,
    seed: int = 7,
    report: Callable[[str], None] = print,
) -> DemoResult:
    """Run the demo in ``workspace`` (default: a fresh folder under the current one)."""
    from sklearn.metrics import (
        average_precision_score,
        confusion_matrix,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )
    from sklearn.model_selection import train_test_split

    import loopml
    from loopml.demo._data import FEATURES, TARGET, fraud_transactions

    folder = (workspace or pick_folder(Path.cwd())).resolve()
    ws = loopml.init(folder)
    result = DemoResult(workspace=folder)
    report(f"workspace  {folder}")
    report(f"store      {ws.store.display_uri}")

    data = fraud_transactions(rows, seed=seed)
    report(f"data       {len(data):,} transactions, {data[TARGET].mean():.1%} fraud (seed {seed})")
    dataset = loopml.datasets.register(
        data,
        "transactions",
        roles={TARGET: "target", "transaction_id": "id"},
        description="generated card transactions (loopml demo)",
        path=folder,
    )
    result.dataset = f"{dataset.name}/{dataset.version}"
    report(f"dataset    {dataset.name} v{dataset.version}  {dataset.id[:19]}...  (content id)")
    _check_schema(dataset, folder, result, report)
    data = dataset.to_pandas()  # train from the registered version, not the in-memory frame
    train, test = train_test_split(data, test_size=0.25, random_state=seed, stratify=data[TARGET])
    x_train, y_train = train[FEATURES], train[TARGET]
    x_test, y_test = test[FEATURES], test[TARGET]

    for name, params, build in _candidates(seed):
        with loopml.start_run(experiment=EXPERIMENT, name=name, path=folder) as run:
            loopml.seed(seed)
            run.log_params({**params, "rows": rows, "test_size": 0.25, "dataset": result.dataset})
            run.set_tag("loopml.dataset.id", dataset.id)
            model = build()
            model.fit(x_train, y_train)
            if hasattr(model, "staged_predict_proba"):
                for step, proba in enumerate(model.staged_predict_proba(x_test)):
                    if step % 10 == 9:
                        run.log_metric("val_log_loss", log_loss(y_test, proba), step=step + 1)
            scores = model.predict_proba(x_test)[:, 1]
            predicted = (scores >= 0.5).astype(int)
            metrics = {
                "roc_auc": roc_auc_score(y_test, scores),
                "pr_auc": average_precision_score(y_test, scores),
                "log_loss": log_loss(y_test, scores),
                "precision": precision_score(y_test, predicted, zero_division=0),
                "recall": recall_score(y_test, predicted, zero_division=0),
                "f1": f1_score(y_test, predicted, zero_division=0),
            }
            run.log_metrics({k: float(v) for k, v in metrics.items()})
            matrix = confusion_matrix(y_test, predicted).tolist()
            run.log_artifact(
                json.dumps({"labels": [0, 1], "matrix": matrix}).encode(),
                name="eval/confusion_matrix.json",
            )
            run.set_tag("stage", "demo")
            result.run_ids.append(run.id)
        report(
            f"run        {run.id[:8]}  {name:<13} roc_auc {metrics['roc_auc']:.4f}  "
            f"pr_auc {metrics['pr_auc']:.4f}"
        )

    best = loopml.search_runs(
        EXPERIMENT,
        filter="status = 'finished'",
        order_by="metrics.roc_auc desc",
        limit=1,
        path=folder,
    )[0]
    result.best_run_id = best.id
    result.best_auc = best.metrics["roc_auc"]
    report(f"best       {best.id[:8]}  {best.name}  roc_auc {result.best_auc:.4f}")
    _monitor_batch(dataset, folder, result, report, rows=max(rows // 4, 1000), seed=seed)
    return result


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _check_schema(
    dataset: Any, folder: Path, result: DemoResult, report: Callable[[str], None]
) -> None:
    """Infer the dataset's schema, save it (versioned, and as YAML to review), validate."""
    import loopml

    schema, number = loopml.datasets.infer_schema(dataset)
    result.schema_file = folder / "transactions.schema.yaml"
    schema.save(result.schema_file)
    checked = loopml.validate(dataset, schema)
    result.validation_errors = len(checked.errors)
    report(
        f"schema     v{number}: {len(schema.columns)} columns inferred, saved to "
        f"{result.schema_file.name}; data valid: {checked.ok}"
    )


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
