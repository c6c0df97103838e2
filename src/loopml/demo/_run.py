"""``loopml demo``: walk the loop that exists today, end to end, on the bundled dataset.

Today's loop: create a workspace, generate the data, train several real scikit-learn models as
tracked runs (params, stepped metrics, artifacts, environment), then query the runs to pick the
best one. Each later phase adds its step here.
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
    return result
