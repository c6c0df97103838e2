"""The demo's training as pipelines: ingest -> check -> train (x3) -> evaluate (x3).

Each step is a plain function; the pipeline wires them, and a second run with the same
parameters is served from the step cache. ``workspace`` is a parameter because the demo runs
in a folder of its own: the steps register and read dataset versions there.

``fraud_retraining`` is the same training started by new data: it watches ``incoming/*.csv``
(relative to where ``loopml agent`` runs), and a labelled batch dropped there is appended to
the training data before the same check, train and evaluate steps run on it.
"""

from __future__ import annotations

from typing import Any

from loopml.data.datasets import DatasetVersion
from loopml.pipelines._dsl import pipeline, step

EXPERIMENT = "fraud-demo"
MODEL = "fraud"
CANDIDATES: list[tuple[str, dict[str, Any]]] = [
    ("logreg-C0.01", {"model": "logistic_regression", "C": 0.01}),
    ("logreg-C1", {"model": "logistic_regression", "C": 1.0}),
    ("gbdt", {"model": "hist_gradient_boosting", "max_iter": 150, "learning_rate": 0.08}),
]


@step
def ingest(rows: int, seed: int, workspace: str) -> DatasetVersion:
    """Generate the transactions and register them as a dataset version."""
    import loopml
    from loopml.demo._data import TARGET, fraud_transactions

    data = fraud_transactions(rows, seed=seed)
    return loopml.datasets.register(
        data,
        "transactions",
        roles={TARGET: "target", "transaction_id": "id"},
        description="generated card transactions (loopml demo)",
        path=workspace,
    )


@step
def check(dataset: DatasetVersion) -> DatasetVersion:
    """Infer the dataset's schema (saved as its next schema version) and validate the data."""
    import loopml

    schema, number = loopml.datasets.infer_schema(dataset)
    result = loopml.validate(dataset, schema)
    loopml.log_metrics({"anomalies": len(result.anomalies), "errors": len(result.errors)})
    loopml.set_tag("schema_version", number)
    result.raise_for_errors()
    return dataset


def _estimator(spec: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if spec["model"] == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(C=spec["C"], max_iter=500))
    return HistGradientBoostingClassifier(
        max_iter=spec["max_iter"],
        learning_rate=spec["learning_rate"],
        early_stopping=False,
        random_state=seed,
    )


def _split(dataset: DatasetVersion, seed: int) -> tuple[Any, Any, Any, Any]:
    from sklearn.model_selection import train_test_split

    from loopml.demo._data import FEATURES, TARGET

    data = dataset.to_pandas()
    train, test = train_test_split(data, test_size=0.25, random_state=seed, stratify=data[TARGET])
    return train[FEATURES], train[TARGET], test[FEATURES], test[TARGET]


@step
def train(dataset: DatasetVersion, spec: dict[str, Any], seed: int) -> Any:
    """Fit one candidate model on the training split."""
    import loopml

    loopml.seed(seed)
    x_train, y_train, _, _ = _split(dataset, seed)
    model = _estimator(spec, seed)
    model.fit(x_train, y_train)
    return model


@step
def evaluate(
    model: Any, dataset: DatasetVersion, name: str, spec: dict[str, Any], seed: int
) -> dict[str, float]:
    """Score a model on the test split; the metrics go on this step's run."""
    import json

    from sklearn.metrics import (
        average_precision_score,
        confusion_matrix,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    import loopml

    loopml.seed(seed)
    _, _, x_test, y_test = _split(dataset, seed)
    run = loopml.active_run()
    assert run is not None
    run.log_params({**spec, "candidate": name, "dataset": f"{dataset.name}/{dataset.version}"})
    run.set_tag("loopml.dataset.id", dataset.id)
    if hasattr(model, "staged_predict_proba"):
        for n, proba in enumerate(model.staged_predict_proba(x_test)):
            if n % 10 == 9:
                run.log_metric("val_log_loss", log_loss(y_test, proba), step=n + 1)
    scores = model.predict_proba(x_test)[:, 1]
    predicted = (scores >= 0.5).astype(int)
    metrics = {
        "roc_auc": float(roc_auc_score(y_test, scores)),
        "pr_auc": float(average_precision_score(y_test, scores)),
        "log_loss": float(log_loss(y_test, scores)),
        "precision": float(precision_score(y_test, predicted, zero_division=0)),
        "recall": float(recall_score(y_test, predicted, zero_division=0)),
        "f1": float(f1_score(y_test, predicted, zero_division=0)),
    }
    run.log_metrics(metrics)
    matrix = confusion_matrix(y_test, predicted).tolist()
    run.log_artifact(
        json.dumps({"labels": [0, 1], "matrix": matrix}).encode(),
        name="eval/confusion_matrix.json",
    )
    return metrics


@step
def combine(dataset: str, base: str, workspace: str) -> DatasetVersion:
    """Append the new labelled batch ``dataset`` to the training data ``base``.

    Both are ``name/version`` references; the result is the next version of ``base``'s
    dataset, with both as its parents.
    """
    import pandas as pd

    import loopml
    from loopml._errors import InvalidInputError

    new = loopml.datasets.resolve(dataset, path=workspace) if dataset else None
    old = loopml.datasets.resolve(base, path=workspace)
    if new is None or old is None:
        missing = dataset if new is None else base
        raise InvalidInputError(
            f"dataset {missing!r} is not registered; pass dataset=NAME/VERSION of the new batch "
            "(the agent does this for a file dropped into incoming/)"
        )
    names = [name for name, _ in old.columns]
    absent = sorted(set(names) - {name for name, _ in new.columns})
    if absent:
        raise InvalidInputError(
            f"the new batch {dataset} lacks the columns {absent} of {base}; "
            "a training batch needs every feature and the label"
        )
    frame = pd.concat([old.to_pandas(), new.to_pandas()[names]], ignore_index=True)
    return loopml.datasets.register(
        frame,
        old.name,
        roles=old.roles,
        parents=[(old, "appended"), (new, "appended")],
        description=f"{base} with the batch {dataset} appended",
        path=workspace,
    )


@step
def register(
    dataset: DatasetVersion,
    workspace: str,
    model_1: Any,
    model_2: Any,
    model_3: Any,
    scores_1: dict[str, float],
    scores_2: dict[str, float],
    scores_3: dict[str, float],
) -> dict[str, Any]:
    """Log the candidate with the best ROC AUC as the next version of the model ``fraud``
    (a safe skops bundle with its signature, training data and metrics); a gate decides later
    whether it becomes champion. Logging the same model again returns the same version."""
    import loopml
    from loopml.demo._data import FEATURES

    names = [name for name, _ in CANDIDATES]
    models = dict(zip(names, [model_1, model_2, model_3], strict=True))
    scores = dict(zip(names, [scores_1, scores_2, scores_3], strict=True))
    best = max(scores, key=lambda name: scores[name]["roc_auc"])
    version = loopml.log_model(
        models[best],
        MODEL,
        input_example=dataset.to_pandas()[FEATURES].head(20),
        dataset=dataset,
        metrics=scores[best],
        description=f"{best}: the best of {len(scores)} candidates on {dataset.name}/"
        f"{dataset.version}",
        path=workspace,
    )
    loopml.set_tag("loopml.model_version", version.uri)
    return {"candidate": best, "version": version.version, "uri": version.uri}


def _train_all(dataset: Any, seed: int, workspace: Any) -> Any:
    models = []
    scores = []
    for name, spec in CANDIDATES:
        models.append(train(dataset, spec, seed))
        scores.append(evaluate(models[-1], dataset, name, spec, seed))
    return register(dataset, workspace, *models, *scores)


@pipeline(experiment=EXPERIMENT)
def fraud_training(rows: int = 20_000, seed: int = 7, workspace: str = ".") -> Any:
    """Ingest and check the data, train and evaluate every candidate, register the best."""
    return _train_all(check(ingest(rows, seed, workspace)), seed, workspace)


@pipeline(experiment=EXPERIMENT, on_new_data="incoming/*.csv")
def fraud_retraining(
    dataset: str = "", base: str = "transactions/1", seed: int = 7, workspace: str = "."
) -> Any:
    """Retrain on the training data plus a new labelled batch (started by ``loopml agent``)."""
    return _train_all(check(combine(dataset, base, workspace)), seed, workspace)
