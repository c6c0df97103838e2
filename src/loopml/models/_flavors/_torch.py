"""PyTorch modules as safetensors (tensors only: loading runs no code from the file).

The weights go to ``model.safetensors``; the module's class is referenced by name
(``package.module:Class``) and rebuilt from keyword arguments, which the model gives with a
``loopml_init`` attribute (a dict) or which are ``{}``. The class reference is kept with the
version's trusted types in the metadata store, never taken from the bundle, and must name a
``torch.nn.Module`` subclass of the code installed where the model loads.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from loopml._errors import InvalidInputError
from loopml.models._flavors import module_is

PREFIX = "torch-class:"


class TorchModel:
    """A module in eval mode with ``predict`` (outputs as numpy; float32 inputs) and, when
    its output has one column per class, ``predict_proba`` (softmax)."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def _forward(self, data: Any) -> Any:
        import numpy as np
        import torch

        values = data.to_numpy() if hasattr(data, "to_numpy") else data
        with torch.no_grad():
            out = self.module(torch.as_tensor(np.asarray(values, dtype=np.float32)))
        return out

    def predict(self, data: Any) -> Any:
        return self._forward(data).numpy()

    def predict_proba(self, data: Any) -> Any:
        import torch

        out = self._forward(data)
        if out.ndim != 2 or out.shape[1] < 2:
            raise AttributeError("this module's output is not one score per class")
        return torch.softmax(out, dim=1).numpy()


def _class_of(reference: str) -> Any:
    import torch

    module_name, _, qualname = reference.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(
            f"the model's class {reference} cannot be imported here ({exc}); install the code "
            "that defines it"
        ) from exc
    if not (isinstance(target, type) and issubclass(target, torch.nn.Module)):
        raise InvalidInputError(f"{reference} is not a torch.nn.Module class; nothing was loaded")
    return target


class TorchFlavor:
    name = "torch"
    format = "safetensors"
    filename = "model.safetensors"
    needs = {"torch", "safetensors", "numpy"}

    def matches(self, model: Any) -> bool:
        return module_is(model, "torch") and hasattr(model, "state_dict")

    def save(self, model: Any) -> tuple[bytes, list[str], dict[str, Any]]:
        from safetensors.torch import save

        cls = type(model)
        if "<locals>" in cls.__qualname__ or cls.__module__ == "__main__":
            raise InvalidInputError(
                f"{cls.__qualname__} is defined in a script or a function; define the module "
                "class in an importable file so it can be rebuilt where the model loads"
            )
        init = getattr(model, "loopml_init", {})
        try:
            init_json = json.dumps(init, sort_keys=True)
        except TypeError as exc:
            raise InvalidInputError(
                f"{cls.__qualname__}.loopml_init must be a JSON dict of constructor arguments"
            ) from exc
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        data = save(state)
        reference = f"{cls.__module__}:{cls.__qualname__}"
        return data, [PREFIX + reference], {"class": reference, "init": json.loads(init_json)}

    def load(self, data: bytes, trusted: list[str], meta: dict[str, Any]) -> Any:
        try:
            from safetensors.torch import load
        except ImportError as exc:
            raise InvalidInputError(
                "this model needs PyTorch and safetensors: pip install 'loopml[torch]'"
            ) from exc
        references = [t[len(PREFIX) :] for t in trusted if t.startswith(PREFIX)]
        if len(references) != 1:
            raise InvalidInputError(
                "this PyTorch version has no trusted class reference; log it again"
            )
        cls = _class_of(references[0])
        init = meta.get("init") or {}
        if not isinstance(init, dict):
            raise InvalidInputError("the bundle's constructor arguments are not a dict")
        module = cls(**init)
        try:
            module.load_state_dict(load(data))
        except Exception as exc:  # safetensors or a shape mismatch
            raise InvalidInputError(f"the weights do not load into {references[0]}: {exc}") from exc
        module.eval()
        return TorchModel(module)
