"""Model flavors: how each kind of model is saved in a format that loads without running code.

A flavor turns a live model into bytes (and the list of types loading them needs), and bytes
back into an object with ``predict`` (and ``predict_proba`` where the model has it):

============  ==================  ==========================================================
flavor        format              loads with
============  ==================  ==========================================================
sklearn       skops               ``skops.io.loads`` with the trusted types the *store* holds
xgboost       xgboost-ubj         ``XGBModel.load_model`` (native UBJSON)
lightgbm      lightgbm-text       ``lightgbm.Booster(model_str=...)`` plus the stored classes
onnx          onnx                ``onnxruntime.InferenceSession``
torch         safetensors         the class named in the store, ``load_state_dict``
pyfunc        cloudpickle         only with ``trusted=True`` or ``[models] allow_pickle``
============  ==================  ==========================================================
"""

from __future__ import annotations

from typing import Any, Protocol

from loopml._errors import InvalidInputError


class Flavor(Protocol):
    name: str
    format: str
    filename: str
    #: Distributions loading needs besides the model's own modules.
    needs: set[str]

    def matches(self, model: Any) -> bool: ...

    def save(self, model: Any) -> tuple[bytes, list[str], dict[str, Any]]:
        """(bytes, trusted types loading needs, metadata for the manifest)."""
        ...

    def load(self, data: bytes, trusted: list[str], meta: dict[str, Any]) -> Any: ...


def flavors() -> list[Flavor]:
    """Every flavor, most specific first (pyfunc, the catch-all, last)."""
    from loopml.models._flavors._lightgbm import LightGBMFlavor
    from loopml.models._flavors._onnx import OnnxFlavor
    from loopml.models._flavors._pyfunc import PyfuncFlavor
    from loopml.models._flavors._sklearn import SklearnFlavor
    from loopml.models._flavors._torch import TorchFlavor
    from loopml.models._flavors._xgboost import XGBoostFlavor

    return [
        XGBoostFlavor(),
        LightGBMFlavor(),
        OnnxFlavor(),
        TorchFlavor(),
        SklearnFlavor(),
        PyfuncFlavor(),
    ]


def flavor_named(name: str) -> Flavor:
    for flavor in flavors():
        if flavor.name == name:
            return flavor
    known = ", ".join(f.name for f in flavors())
    raise InvalidInputError(f"unknown model flavor {name!r}; loopml knows {known}")


def flavor_for(model: Any, name: str | None = None) -> Flavor:
    """The flavor that saves ``model`` (or the one named)."""
    if name is not None:
        flavor = flavor_named(name)
        if not flavor.matches(model):
            raise InvalidInputError(
                f"flavor={name!r} cannot save a {type(model).__module__}.{type(model).__name__}"
            )
        return flavor
    for flavor in flavors():
        if flavor.matches(model):
            return flavor
    raise InvalidInputError(
        f"cannot log a {type(model).__name__}: a model needs a predict method (scikit-learn, "
        "XGBoost, LightGBM, an ONNX ModelProto, or any object with predict)"
    )


def module_is(model: Any, prefix: str) -> bool:
    """True if ``model``'s class (or a base class) comes from package ``prefix``."""
    for cls in type(model).__mro__:
        module = getattr(cls, "__module__", "") or ""
        if module == prefix or module.startswith(prefix + "."):
            return True
    return False
