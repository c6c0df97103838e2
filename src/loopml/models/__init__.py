"""Models: safe bundles, a registry with aliases and approvals, evaluation and gates.

::

    import loopml

    version = loopml.log_model(model, "fraud", input_example=x_train.head(20))
    verdict = loopml.Gate(thresholds={"roc_auc": ">= 0.85"},
                          vs_champion={"roc_auc": "+0.005"}, infra=True
                          ).check("fraud", version.version, dataset="transactions/3")
    if verdict.blessed:
        loopml.models.set_alias("fraud", "champion", version.version)
    model = loopml.load_model("models:/fraud@champion")
    model.predict_proba(rows)

Importing this module only defines names; each function imports what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopml.models._evaluate import Evaluation, evaluate
    from loopml.models._gate import Gate, Verdict
    from loopml.models._import import import_mlflow
    from loopml.models._loader import LoadedModel, download, load_model
    from loopml.models._registry import (
        ModelVersion,
        approve,
        get_model_version,
        log_model,
        reject,
        set_alias,
    )

_LAZY = {
    "Evaluation": "loopml.models._evaluate",
    "evaluate": "loopml.models._evaluate",
    "Gate": "loopml.models._gate",
    "Verdict": "loopml.models._gate",
    "LoadedModel": "loopml.models._loader",
    "download": "loopml.models._loader",
    "load_model": "loopml.models._loader",
    "ModelVersion": "loopml.models._registry",
    "approve": "loopml.models._registry",
    "get_model_version": "loopml.models._registry",
    "log_model": "loopml.models._registry",
    "reject": "loopml.models._registry",
    "set_alias": "loopml.models._registry",
    "import_mlflow": "loopml.models._import",
}

__all__ = [
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
]


def __getattr__(name: str) -> Any:
    import importlib

    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
