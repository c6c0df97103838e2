"""Start pipelines from anywhere: ``loopml.triggers.fire(name, reason, payload)``.

A firing is recorded in the store; ``loopml agent`` runs the pipeline named ``name``. See
:mod:`loopml.pipelines._triggers` for schedules, new data and watched folders.
"""

from __future__ import annotations

from loopml.pipelines._triggers import fire

__all__ = ["fire"]
