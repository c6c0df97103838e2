"""loopml: the whole machine-learning loop in one ``pip install``.

Track a run::

    import loopml

    with loopml.start_run(experiment="fraud", name="baseline") as run:
        loopml.log_params({"C": 1.0, "penalty": "l2"})
        loopml.log_metric("auc", 0.93)

    loopml.runs(experiment="fraud", filter="metrics.auc > 0.9", order_by="metrics.auc desc")

Importing loopml only defines names: every submodule loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from loopml._errors import (
    ArtifactError,
    BlobCorruptError,
    BlobNotFoundError,
    ConfigError,
    ConflictError,
    FilterSyntaxError,
    InvalidInputError,
    LoopmlError,
    MigrationRequiredError,
    NotFoundError,
    StoreError,
    StoreUnavailableError,
    StoreVersionError,
    WorkspaceNotFoundError,
)
from loopml._version import __version__

if TYPE_CHECKING:
    from loopml import models, pipelines, predictions, serving, triggers
    from loopml._workspace import Workspace, init, workspace
    from loopml.data import datasets
    from loopml.data._drift import drift
    from loopml.data._drift_report import ColumnDrift, DriftReport
    from loopml.data._profile import ColumnProfile, Profile, profile
    from loopml.data._schema import ColumnSchema, Schema, infer_schema
    from loopml.data._validate import Anomaly, ValidationResult, validate
    from loopml.models._evaluate import Evaluation, evaluate
    from loopml.models._gate import Gate, Verdict
    from loopml.models._loader import LoadedModel, load_model
    from loopml.models._registry import ModelVersion, log_model
    from loopml.pipelines._dsl import Pipeline, Step, pipeline, step
    from loopml.pipelines._runner import PipelineRun
    from loopml.pipelines._tune import tune
    from loopml.store import ArtifactRef, Experiment, MetricPoint, Run
    from loopml.tracking import (
        ActiveRun,
        active_run,
        download_artifacts,
        end_run,
        experiments,
        get_run,
        load_artifact,
        log_artifact,
        log_artifacts,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        metric_history,
        runs,
        search_runs,
        seed,
        set_tag,
        set_tags,
        start_run,
    )

_LAZY: dict[str, str] = {
    "Workspace": "loopml._workspace",
    "init": "loopml._workspace",
    "workspace": "loopml._workspace",
    "ArtifactRef": "loopml.store",
    "Experiment": "loopml.store",
    "MetricPoint": "loopml.store",
    "Run": "loopml.store",
    "ActiveRun": "loopml.tracking",
    "active_run": "loopml.tracking",
    "end_run": "loopml.tracking",
    "experiments": "loopml.tracking",
    "get_run": "loopml.tracking",
    "load_artifact": "loopml.tracking",
    "log_artifact": "loopml.tracking",
    "log_artifacts": "loopml.tracking",
    "download_artifacts": "loopml.tracking",
    "search_runs": "loopml.tracking",
    "log_metric": "loopml.tracking",
    "log_metrics": "loopml.tracking",
    "log_param": "loopml.tracking",
    "log_params": "loopml.tracking",
    "metric_history": "loopml.tracking",
    "runs": "loopml.tracking",
    "seed": "loopml.tracking",
    "set_tag": "loopml.tracking",
    "set_tags": "loopml.tracking",
    "start_run": "loopml.tracking",
    "drift": "loopml.data._drift",
    "DriftReport": "loopml.data._drift_report",
    "ColumnDrift": "loopml.data._drift_report",
    "profile": "loopml.data._profile",
    "Profile": "loopml.data._profile",
    "ColumnProfile": "loopml.data._profile",
    "infer_schema": "loopml.data._schema",
    "Schema": "loopml.data._schema",
    "ColumnSchema": "loopml.data._schema",
    "validate": "loopml.data._validate",
    "step": "loopml.pipelines._dsl",
    "pipeline": "loopml.pipelines._dsl",
    "Pipeline": "loopml.pipelines._dsl",
    "Step": "loopml.pipelines._dsl",
    "PipelineRun": "loopml.pipelines._runner",
    "tune": "loopml.pipelines._tune",
    "ValidationResult": "loopml.data._validate",
    "Anomaly": "loopml.data._validate",
    "log_model": "loopml.models._registry",
    "ModelVersion": "loopml.models._registry",
    "load_model": "loopml.models._loader",
    "LoadedModel": "loopml.models._loader",
    "evaluate": "loopml.models._evaluate",
    "Evaluation": "loopml.models._evaluate",
    "Gate": "loopml.models._gate",
    "Verdict": "loopml.models._gate",
}

__all__ = [
    "ActiveRun",
    "Anomaly",
    "ArtifactError",
    "ArtifactRef",
    "BlobCorruptError",
    "BlobNotFoundError",
    "ColumnDrift",
    "ColumnProfile",
    "ColumnSchema",
    "ConfigError",
    "ConflictError",
    "DriftReport",
    "Evaluation",
    "Experiment",
    "FilterSyntaxError",
    "Gate",
    "InvalidInputError",
    "LoadedModel",
    "LoopmlError",
    "MetricPoint",
    "MigrationRequiredError",
    "ModelVersion",
    "NotFoundError",
    "Pipeline",
    "PipelineRun",
    "Profile",
    "Run",
    "Schema",
    "Step",
    "StoreError",
    "StoreUnavailableError",
    "StoreVersionError",
    "ValidationResult",
    "Verdict",
    "Workspace",
    "WorkspaceNotFoundError",
    "__version__",
    "active_run",
    "datasets",
    "download_artifacts",
    "drift",
    "end_run",
    "evaluate",
    "experiments",
    "get_run",
    "infer_schema",
    "init",
    "load_artifact",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "metric_history",
    "models",
    "pipeline",
    "pipelines",
    "predictions",
    "profile",
    "runs",
    "search_runs",
    "seed",
    "serving",
    "set_tag",
    "set_tags",
    "start_run",
    "step",
    "triggers",
    "tune",
    "validate",
    "workspace",
]


#: Sub-modules that are part of the public API, loaded on first use.
_LAZY_MODULES: dict[str, str] = {
    "datasets": "loopml.data.datasets",
    "models": "loopml.models",
    "pipelines": "loopml.pipelines",
    "predictions": "loopml.predictions",
    "serving": "loopml.serving",
    "triggers": "loopml.triggers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        value = importlib.import_module(_LAZY_MODULES[name])
        globals()[name] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
