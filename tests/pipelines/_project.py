"""Pipeline code written into a test's project folder, imported fresh after every edit.

Editing a module the test already imported needs care: the old module stays in
``sys.modules`` (so ``import helpers`` would return it), the bytecode cache can be stale when
an edit keeps the file's size within the same second, and ``linecache`` keeps old source.
:class:`CodeProject` deals with all three; :func:`forget_modules_under` is the clean-up.
"""

from __future__ import annotations

import importlib
import linecache
import os
import sys
import textwrap
from pathlib import Path
from types import ModuleType


def forget_modules_under(folder: Path) -> None:
    """Drop every imported module whose file is inside ``folder`` (and stale source lines)."""
    roots = tuple({str(folder) + os.sep, str(folder.resolve()) + os.sep})
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and file.startswith(roots):
            del sys.modules[name]
    importlib.invalidate_caches()
    linecache.clearcache()


class CodeProject:
    """Python files in a folder on ``sys.path``; ``load`` imports a module afresh."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, name: str, source: str) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
        forget_modules_under(self.folder)
        return path

    def load(self, module: str) -> ModuleType:
        forget_modules_under(self.folder)
        return importlib.import_module(module)

    def load_pipeline(self, target: str) -> object:
        from loopml.pipelines._loader import load_pipeline

        forget_modules_under(self.folder)
        return load_pipeline(target)
