"""Importing heavy libraries (SQLAlchemy, skops) with the garbage collector paused.

A library that builds tens of thousands of long-lived objects at import triggers garbage
collections on the way that find nothing to free: about 14 ms for SQLAlchemy and 75 ms for
``skops.io`` here. Afterwards every object alive is moved to the permanent generation
(``gc.freeze``), which spares each later collection, and the one at interpreter exit, from
scanning them again. The cost: cyclic garbage that exists at that moment is never freed.
"""

from __future__ import annotations

import gc
import importlib
import sys


def import_paused(*names: str) -> None:
    """Import the modules ``names`` (those not yet imported) with the collector paused."""
    missing = [name for name in names if name not in sys.modules]
    if not missing:
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        for name in missing:
            importlib.import_module(name)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
