"""LightGBM's scikit-learn estimators as LightGBM's text model (no code runs to load).

LightGBM has no loader for its scikit-learn classes, so the booster is wrapped; the class
labels (the booster knows only 0..k-1) are kept in the manifest.
"""

from __future__ import annotations

from typing import Any

from loopml._errors import InvalidInputError
from loopml.models._flavors import module_is


class LightGBMModel:
    """A LightGBM booster with the scikit-learn ``predict``/``predict_proba`` of its estimator."""

    def __init__(self, booster: Any, classes: list[Any] | None) -> None:
        self.booster = booster
        self.classes_ = classes

    def predict_proba(self, data: Any) -> Any:
        import numpy as np

        if self.classes_ is None:
            raise AttributeError("a LightGBM regressor has no predict_proba")
        raw = np.asarray(self.booster.predict(data))
        return raw if raw.ndim == 2 else np.column_stack([1 - raw, raw])

    def predict(self, data: Any) -> Any:
        import numpy as np

        if self.classes_ is None:
            return np.asarray(self.booster.predict(data))
        proba = self.predict_proba(data)
        return np.asarray(self.classes_)[proba.argmax(axis=1)]


class LightGBMFlavor:
    name = "lightgbm"
    format = "lightgbm-text"
    filename = "model.lgb.txt"
    needs = {"lightgbm", "numpy", "scipy"}

    def matches(self, model: Any) -> bool:
        return module_is(model, "lightgbm") and hasattr(model, "booster_")

    def save(self, model: Any) -> tuple[bytes, list[str], dict[str, Any]]:
        data = model.booster_.model_to_string().encode()
        classes = getattr(model, "classes_", None)
        meta: dict[str, Any] = {"estimator": type(model).__name__}
        if classes is not None:
            meta["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
        return data, [], meta

    def load(self, data: bytes, trusted: list[str], meta: dict[str, Any]) -> Any:
        try:
            import lightgbm
        except ImportError as exc:
            raise InvalidInputError(
                "this model needs LightGBM: pip install 'loopml[lightgbm]'"
            ) from exc
        try:
            booster = lightgbm.Booster(model_str=data.decode())
        except Exception as exc:  # lightgbm.basic.LightGBMError and others
            raise InvalidInputError(f"the LightGBM model file does not load: {exc}") from exc
        return LightGBMModel(booster, meta.get("classes"))
