"""``loopml import mlflow PATH``: an MLflow model directory becomes a loopml model version."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


def import_mlflow(
    source: str | os.PathLike[str],
    name: str,
    *,
    trust: Sequence[str] = (),
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """Read an MLflow model directory (scikit-learn flavor saved as skops) and log it as the
    next version of ``name``, with its signature and input example. Only the types in
    ``trust`` (and skops' defaults) load; what the directory's MLmodel claims is ignored."""
    from loopml.models._mlflow_import import read_mlflow_model
    from loopml.models._registry import log_model

    imported = read_mlflow_model(source, trust=trust)
    version = log_model(
        imported.model,
        name,
        input_example=imported.input_example,
        description=f"imported from MLflow model {os.fspath(source)}",
        flavor="sklearn",
        path=path,
    )
    from loopml._workspace import workspace

    tags = {"loopml.imported_from": "mlflow", "mlflow.path": os.fspath(source)}
    for key in ("model_uuid", "run_id", "utc_time_created"):
        if imported.source.get(key):
            tags[f"mlflow.{key}"] = str(imported.source[key])
    if imported.mlflow_version:
        tags["mlflow.version"] = imported.mlflow_version
    if imported.claimed_trusted_types:
        tags["mlflow.claimed_trusted_types"] = ",".join(imported.claimed_trusted_types)
    workspace(path).store.set_model_tags(name, version.version, tags)
    return version
