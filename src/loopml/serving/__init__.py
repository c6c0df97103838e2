"""Serving: a prediction server for registry models (Open Inference Protocol, MLflow).

``loopml serve`` runs it under uvicorn; from Python, :func:`create_server` returns the same
server as a plain ASGI application, for tests and for embedding in another ASGI host::

    server = loopml.serving.create_server(["models:/fraud@champion"])
    ...  # any ASGI client or server; server.close() writes out the prediction log

Importing this package only defines names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopml.serving._app import Server, create_server

__all__ = ["Server", "create_server"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("loopml.serving._app"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'loopml.serving' has no attribute {name!r}")
