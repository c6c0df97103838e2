"""The public surface: what `import loopml` exports, and that importing it does nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import loopml

EXPECTED = {
    "ActiveRun",
    "ArtifactError",
    "ArtifactRef",
    "BlobCorruptError",
    "BlobNotFoundError",
    "ConfigError",
    "ConflictError",
    "Experiment",
    "FilterSyntaxError",
    "InvalidInputError",
    "LoopmlError",
    "MetricPoint",
    "MigrationRequiredError",
    "NotFoundError",
    "Run",
    "StoreError",
    "StoreUnavailableError",
    "StoreVersionError",
    "Workspace",
    "WorkspaceNotFoundError",
    "__version__",
    "active_run",
    "datasets",
    "download_artifacts",
    "end_run",
    "experiments",
    "get_run",
    "init",
    "load_artifact",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "metric_history",
    "runs",
    "search_runs",
    "seed",
    "set_tag",
    "set_tags",
    "start_run",
    "workspace",
    "Anomaly",
    "ColumnDrift",
    "ColumnProfile",
    "ColumnSchema",
    "DriftReport",
    "Profile",
    "Schema",
    "ValidationResult",
    "drift",
    "infer_schema",
    "profile",
    "validate",
    "Pipeline",
    "PipelineRun",
    "Step",
    "pipeline",
    "pipelines",
    "step",
    "tune",
    "triggers",
    "Evaluation",
    "Gate",
    "LoadedModel",
    "ModelVersion",
    "Verdict",
    "evaluate",
    "load_model",
    "log_model",
    "models",
    "predictions",
    "serving",
}

PREDICTIONS_API = {"export", "label", "read", "segments", "summary"}

MODELS_API = {
    "Evaluation",
    "Gate",
    "LoadedModel",
    "ModelVersion",
    "Verdict",
    "approve",
    "download",
    "evaluate",
    "get_model_version",
    "import_mlflow",
    "load_model",
    "log_model",
    "reject",
    "set_alias",
}


def test_the_models_namespace_lists_exactly_its_api_and_every_name_resolves() -> None:
    assert set(loopml.models.__all__) == MODELS_API
    for name in MODELS_API:
        assert getattr(loopml.models, name) is not None, name


def test_the_predictions_namespace_lists_exactly_its_api() -> None:
    assert set(loopml.predictions.__all__) == PREDICTIONS_API
    for name in PREDICTIONS_API:
        assert callable(getattr(loopml.predictions, name)), name


def test_the_serving_namespace_gives_the_server_for_embedding() -> None:
    assert set(loopml.serving.__all__) == {"Server", "create_server"}
    from loopml.serving._app import Server, create_server

    assert loopml.serving.create_server is create_server and loopml.serving.Server is Server


def test_all_lists_exactly_the_public_api() -> None:
    assert set(loopml.__all__) == EXPECTED


def test_every_exported_name_resolves() -> None:
    for name in loopml.__all__:
        assert getattr(loopml, name) is not None, name


def test_an_unknown_attribute_raises_attribute_error() -> None:
    try:
        loopml.not_a_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "not_a_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_every_error_is_a_loopml_error() -> None:
    for name in loopml.__all__:
        value = getattr(loopml, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, loopml.LoopmlError), name


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


HEAVY = {
    "sqlalchemy",
    "pandas",
    "numpy",
    "sklearn",
    "alembic",
    "fsspec",
    "typer",
    "rich",
    "logging",
    "skops",
    "matplotlib",
    "xgboost",
    "lightgbm",
    "onnxruntime",
    "cloudpickle",
    "uvicorn",
    "orjson",
}


def test_import_loopml_loads_no_heavy_library_and_no_logging() -> None:
    loaded = {m.split(".")[0] for m in _modules_after("import loopml")}
    assert not (loaded & HEAVY), loaded & HEAVY


def test_import_loopml_does_no_io_in_the_current_folder(project: Path) -> None:
    subprocess.run([sys.executable, "-c", "import loopml"], cwd=project, check=True)
    assert list(project.iterdir()) == []
