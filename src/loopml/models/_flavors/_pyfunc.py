"""Any Python object with ``predict``, pickled with cloudpickle. Unpickling runs code, so a
pyfunc version loads only when the caller says it is trusted (``trusted=True``) or the
workspace allows it (``[models] allow_pickle = true`` in loopml.toml)."""

from __future__ import annotations

from typing import Any

from loopml._errors import InvalidInputError


class PyfuncFlavor:
    name = "pyfunc"
    format = "cloudpickle"
    filename = "model.pkl"
    needs = {"cloudpickle"}

    def matches(self, model: Any) -> bool:
        return callable(getattr(model, "predict", None))

    def save(self, model: Any) -> tuple[bytes, list[str], dict[str, Any]]:
        import cloudpickle

        return (
            cloudpickle.dumps(model),
            [],
            {"class": f"{type(model).__module__}.{type(model).__qualname__}"},
        )

    def load(self, data: bytes, trusted: list[str], meta: dict[str, Any]) -> Any:
        if "pickle" not in trusted:
            raise InvalidInputError(
                "this model is a pickle (flavor pyfunc): loading it runs code from the file, so "
                "loopml refuses by default. If you trust where it came from, pass "
                "trusted=True to load_model, or set allow_pickle = true under [models] in "
                "loopml.toml"
            )
        import pickle

        return pickle.loads(data)  # noqa: S301 - only with the caller's explicit trust
