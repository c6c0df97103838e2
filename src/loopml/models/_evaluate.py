"""``loopml.evaluate``: a model version's metrics on a dataset, overall and per slice, with
plots and a model card, recorded as a tracked run.

The run (experiment ``model-evaluations`` unless given) holds the metrics, the slices as
JSON, the plots as PNG artifacts and the card as Markdown and HTML; it is tagged with the
model version and the dataset, so evaluations are queried like any run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from loopml._errors import InvalidInputError

EXPERIMENT = "model-evaluations"
TASKS = ("classification", "regression")


@dataclass
class Evaluation:
    """What an evaluation found: metrics (None where undefined), slices, and where it is."""

    model: str
    dataset: str
    task: str
    metrics: dict[str, float | None]
    undefined: dict[str, str] = field(default_factory=dict)
    slices: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    run_id: str = ""
    plots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "task": self.task,
            "rows": self.rows,
            "metrics": self.metrics,
            "undefined": self.undefined,
            "slices": self.slices,
            "run_id": self.run_id,
            "plots": self.plots,
        }


def _frame_of(dataset: Any, path: Any) -> tuple[Any, str, Any]:
    """(pandas frame, a label for it, the DatasetVersion or None)."""
    import pandas as pd

    if isinstance(dataset, pd.DataFrame):
        return dataset, "a DataFrame", None
    if hasattr(dataset, "to_pandas") and hasattr(dataset, "version"):
        return dataset.to_pandas(), f"{dataset.name}/{dataset.version}", dataset
    if isinstance(dataset, str):
        from loopml.data.datasets import resolve

        found = resolve(dataset, path=path)
        if found is None:
            raise InvalidInputError(
                f"dataset {dataset!r} is not registered; pass name/version, a DatasetVersion "
                "or a DataFrame"
            )
        return found.to_pandas(), f"{found.name}/{found.version}", found
    if hasattr(dataset, "to_pandas"):
        return dataset.to_pandas(), "a DataFrame", None
    raise InvalidInputError(
        f"evaluate needs a dataset (name/version, DatasetVersion or DataFrame), not "
        f"{type(dataset).__name__}"
    )


def predictions_of(model: Any, features: Any, task: str) -> Any:
    """Scores for classification (probabilities where the model has them), else predictions."""
    if task == "classification" and getattr(model, "has_predict_proba", False):
        return model.predict_proba(features)
    return model.predict(features)


def evaluate(
    model_uri: str,
    dataset: Any,
    *,
    target: str | None = None,
    task: str = "classification",
    slices: list[str] | tuple[str, ...] = (),
    experiment: str = EXPERIMENT,
    trusted: bool = False,
    path: str | os.PathLike[str] | None = None,
) -> Evaluation:
    """Evaluate ``model_uri`` on ``dataset`` (column ``target`` holds the truth).

    ``target`` defaults to the dataset's column with role ``target``. ``slices`` are columns
    whose values (or quantile bins) get their own metrics. Returns the :class:`Evaluation`;
    the run ``run_id`` holds the metrics, plots (PNG) and the model card.
    """
    from loopml.models import _card, _metrics, _plots
    from loopml.models._loader import load_model
    from loopml.tracking import start_run

    if task not in TASKS:
        raise InvalidInputError(f"task={task!r}: use 'classification' or 'regression'")
    frame, label, version = _frame_of(dataset, path)
    if target is None and version is not None:
        targets = version.columns_with_role("target")
        target = targets[0] if targets else None
    if target is None:
        raise InvalidInputError("which column holds the truth? pass target='column'")
    if target not in frame.columns:
        raise InvalidInputError(
            f"target column {target!r} is not in {label}; columns: {', '.join(map(str, frame))}"
        )
    model = load_model(model_uri, trusted=trusted, path=path)
    inputs = [s["name"] for s in (model.signature.to_dict()["inputs"] if model.signature else [])]
    features = frame[inputs] if inputs else frame.drop(columns=[target])
    truth = frame[target].to_numpy()
    scores = predictions_of(model, features, task)
    classes = model.manifest.get("meta", {}).get("classes")
    if task == "classification":
        overall = _metrics.classification_metrics(truth, scores, classes=classes)
        plots = _plots.classification_plots(truth, scores, classes=classes)
    else:
        overall = _metrics.regression_metrics(truth, scores)
        plots = _plots.regression_plots(truth, scores)
    sliced = [
        s.to_dict()
        for s in _metrics.slice_metrics(
            frame, truth, scores, list(slices), task=task, classes=classes
        )
    ]
    result = Evaluation(
        model=model.uri,
        dataset=label,
        task=task,
        metrics=dict(overall.values),
        undefined=dict(overall.undefined),
        slices=sliced,
        rows=len(frame),
        plots=sorted(plots),
    )
    with start_run(
        experiment=experiment, name=f"evaluate {model.name} v{model.version}", path=path
    ) as run:
        run.set_tags(
            {
                "loopml.kind": "evaluation",
                "loopml.model": model.uri,
                "loopml.dataset": label,
                "loopml.task": task,
            }
        )
        if version is not None:
            run.set_tag("loopml.dataset.id", version.id)
        run.log_params({"model": model.uri, "dataset": label, "target": target, "task": task})
        run.log_metrics({k: v for k, v in overall.values.items() if v is not None})
        for name, png in plots.items():
            run.log_artifact(png, name=f"plots/{name}")
        run.log_artifact(
            json.dumps(result.to_dict(), indent=2, default=str).encode(), name="evaluation.json"
        )
        markdown, html = _card.model_card(_card_info(model, result, plots, version, path))
        run.log_artifact(markdown.encode(), name="model_card.md")
        run.log_artifact(html.encode(), name="model_card.html")
        result.run_id = run.id
    return result


def _card_info(
    model: Any, result: Evaluation, plots: dict[str, bytes], version: Any, path: Any
) -> dict[str, Any]:
    manifest = model.manifest
    lineage = manifest.get("lineage") or {}
    info: dict[str, Any] = {
        "name": model.name,
        "version": model.version,
        "flavor": model.flavor,
        "run_id": lineage.get("run"),
        "datasets": [d for d in [lineage.get("dataset")] if d],
        "evaluation": {
            "dataset": result.dataset,
            "task": result.task,
            "metrics": result.metrics,
            "undefined": result.undefined,
            "slices": result.slices,
        },
        "plots": plots,
        "requirements": manifest.get("requirements", []),
        "signature": manifest.get("signature") or {},
    }
    if model.version is not None:
        from loopml._workspace import workspace

        record = workspace(path).store.get_model_version(model.name, model.version)
        info["description"] = record.description
        from loopml.store._records import ms_to_datetime

        created = ms_to_datetime(record.created_at)
        info["created_at"] = created.isoformat(timespec="seconds") if created else None
        if record.verdict is not None:
            info["gate"] = record.verdict
    if lineage.get("dataset"):
        from loopml.data.datasets import resolve

        trained = resolve(str(lineage["dataset"]), path=path)
        if trained is not None:
            info["training_data"] = {
                "name": trained.name,
                "version": trained.version,
                "rows": trained.rows,
                "columns": [c for c, _ in trained.columns],
                "profile_id": trained.id,
            }
    return info
