"""What a model needs installed: pinned direct requirements and their closure (the lock).

Direct requirements come from the modules the model object is built from (walked through
scikit-learn's ``get_params``) and the flavor's own needs, mapped to distributions by a
static table first: :func:`importlib.metadata.packages_distributions` costs 0.1-0.6 s, so it
is only asked about modules the table does not know. The lock is the ``Requires-Dist``
closure of the direct requirements, evaluated for this interpreter: what the infra check puts
on the child's path.
"""

from __future__ import annotations

from functools import cache
from typing import Any

#: Top-level module -> distribution, for the modules models are usually made of.
KNOWN = {
    "sklearn": "scikit-learn",
    "skops": "skops",
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
    "cloudpickle": "cloudpickle",
    "joblib": "joblib",
    "threadpoolctl": "threadpoolctl",
    "catboost": "catboost",
    "imblearn": "imbalanced-learn",
    "category_encoders": "category-encoders",
    "torch": "torch",
    "safetensors": "safetensors",
    "polars": "polars",
    "pyarrow": "pyarrow",
}
#: Modules that come with Python: never a requirement.
STDLIB_LIKE = {"builtins", "__main__", "collections", "functools", "math", "operator", "re"}


def modules_of(model: Any) -> set[str]:
    """Top-level modules of the objects ``model`` is made of (estimators, their parameters)."""
    found: set[str] = set()
    seen: set[int] = set()

    def visit(obj: Any, depth: int) -> None:
        if depth > 20 or id(obj) in seen:
            return
        seen.add(id(obj))
        module = getattr(type(obj), "__module__", "") or ""
        found.add(module.split(".")[0])
        if isinstance(obj, list | tuple):
            for item in obj:
                visit(item, depth + 1)
        elif isinstance(obj, dict):
            for item in obj.values():
                visit(item, depth + 1)
        elif callable(getattr(obj, "get_params", None)) and not isinstance(obj, type):
            try:
                params = obj.get_params(deep=False)
            except Exception:  # a model that cannot list its params
                return
            for value in params.values():
                visit(value, depth + 1)
        elif callable(obj) and hasattr(obj, "__module__"):
            found.add((obj.__module__ or "").split(".")[0])

    visit(model, 0)
    return {m for m in found if m and m not in STDLIB_LIKE}


def distribution_of(module: str) -> str | None:
    """The installed distribution that provides top-level ``module``, if any."""
    if module in KNOWN:
        return KNOWN[module]
    names = _packages_distributions().get(module)
    return names[0] if names else None


@cache
def _packages_distributions() -> dict[str, list[str]]:
    from importlib.metadata import packages_distributions

    return {k: list(v) for k, v in packages_distributions().items()}


def pinned(distributions: set[str]) -> list[str]:
    """``name==version`` for each installed distribution (unknown ones are left out)."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in sorted(distributions, key=str.lower):
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def requirements_for(model: Any, extra: set[str]) -> list[str]:
    """Pinned direct requirements: the model's modules' distributions plus ``extra``."""
    dists = set(extra)
    for module in modules_of(model):
        dist = distribution_of(module)
        if dist is not None and dist != "loopml":
            dists.add(dist)
    return pinned(dists)


def lock(requirements: list[str]) -> list[str]:
    """The closure of ``requirements`` over ``Requires-Dist`` (markers evaluated here), pinned."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    todo = [r.split("==")[0] for r in requirements]
    found: dict[str, str] = {}
    while todo:
        name = todo.pop()
        key = str(canonicalize_name(name))
        if key in found:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        found[key] = f"{dist.metadata['Name']}=={dist.version}"
        for text in dist.requires or []:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            todo.append(requirement.name)
    return sorted(found.values(), key=str.lower)
