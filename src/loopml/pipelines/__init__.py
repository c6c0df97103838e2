"""Phases 2-3, automation: pipelines of typed steps with content-addressed caching and lineage.

``@loopml.step`` and ``@loopml.pipeline`` (:mod:`loopml.pipelines._dsl`), running in this
process (:mod:`loopml.pipelines._runner`), materializers (:mod:`loopml.pipelines._materializers`)
and code fingerprints for cache keys (:mod:`loopml.pipelines._fingerprint`).
"""

from __future__ import annotations

from typing import Any

_NAMES = {
    "step": "loopml.pipelines._dsl",
    "pipeline": "loopml.pipelines._dsl",
    "Step": "loopml.pipelines._dsl",
    "Pipeline": "loopml.pipelines._dsl",
    "PipelineDefinitionError": "loopml.pipelines._dsl",
    "PipelineRun": "loopml.pipelines._runner",
    "StepFailedError": "loopml.pipelines._runner",
    "register_materializer": "loopml.pipelines._materializers",
    "tune": "loopml.pipelines._tune",
    "TuneResult": "loopml.pipelines._tune",
    "uniform": "loopml.pipelines._tune",
    "loguniform": "loopml.pipelines._tune",
    "integer": "loopml.pipelines._tune",
    "choice": "loopml.pipelines._tune",
}


def __getattr__(name: str) -> Any:
    import importlib

    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml.pipelines' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = sorted(_NAMES)
