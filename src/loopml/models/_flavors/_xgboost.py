"""XGBoost's scikit-learn estimators in XGBoost's own UBJSON format (no code runs to load)."""

from __future__ import annotations

from typing import Any

from loopml._errors import InvalidInputError
from loopml.models._flavors import module_is

ESTIMATORS = ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor")


class XGBoostFlavor:
    name = "xgboost"
    format = "xgboost-ubj"
    filename = "model.ubj"
    needs = {"xgboost", "numpy", "scipy", "scikit-learn"}  # its estimator classes import sklearn

    def matches(self, model: Any) -> bool:
        return module_is(model, "xgboost") and type(model).__name__ in ESTIMATORS

    def save(self, model: Any) -> tuple[bytes, list[str], dict[str, Any]]:
        data = bytes(model.get_booster().save_raw(raw_format="ubj"))
        return data, [], {"estimator": type(model).__name__}

    def load(self, data: bytes, trusted: list[str], meta: dict[str, Any]) -> Any:
        try:
            import xgboost
        except ImportError as exc:
            raise InvalidInputError(
                "this model needs XGBoost: pip install 'loopml[xgboost]'"
            ) from exc
        name = meta.get("estimator")
        if name not in ESTIMATORS:
            raise InvalidInputError(f"unknown XGBoost estimator {name!r} in the bundle")
        model = getattr(xgboost, name)()
        try:
            model.load_model(bytearray(data))
        except Exception as exc:  # xgboost.core.XGBoostError and others
            raise InvalidInputError(f"the XGBoost model file does not load: {exc}") from exc
        return model
