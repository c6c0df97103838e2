"""The code fingerprint of a step: its source and the source of the project code it calls.

A cache key that hashes only the step's own source misses a change in a helper it calls (zenml
issue 1011). :func:`code_fingerprint` walks the step's code objects (nested functions, lambdas
and comprehensions too) for the global names and attributes it uses, follows every function
or class defined in *project* modules (anything not installed under ``sys.prefix`` or
``site-packages``, and not loopml itself), through closures and ``functools.wraps`` wrappers,
and hashes their normalised source: the AST dump, so comments, blank lines and formatting do
not count, but any change of code does. Library code counts by its distribution's version
(``sklearn`` 1.5.2), not its source.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import sys
import sysconfig
import textwrap
import types
from functools import lru_cache
from typing import Any


def _library_roots() -> tuple[str, ...]:
    import os
    import site

    paths = [sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    try:
        paths.extend(site.getsitepackages())
        paths.append(site.getusersitepackages())
    except AttributeError:  # some embedded interpreters lack them
        pass
    roots = {os.path.realpath(p) + os.sep for p in paths if p}
    return tuple(sorted(roots, key=len, reverse=True))


# Where installed code lives. Not "anything under sys.prefix": a project inside a virtual
# environment's folder, or in a Docker image with sys.prefix=/usr/local, is still a project.
_LIBRARY_ROOTS = _library_roots()


@lru_cache(maxsize=4096)
def _is_project_file(path: str) -> bool:
    import os
    from pathlib import Path

    real = os.path.realpath(path)
    if {"site-packages", "dist-packages"} & set(Path(real).parts):
        return False
    return not real.startswith(_LIBRARY_ROOTS)


def _module_of(obj: Any) -> types.ModuleType | None:
    name = getattr(obj, "__module__", None)
    return sys.modules.get(name) if isinstance(name, str) else None


def _is_project(obj: Any) -> bool:
    module = _module_of(obj) if not isinstance(obj, types.ModuleType) else obj
    if module is None:
        return False
    name = module.__name__
    if name == "__main__":
        return True
    if name == "loopml" or name.startswith("loopml."):
        return False
    path = getattr(module, "__file__", None)
    return bool(path) and _is_project_file(str(path))


def _library_version(obj: Any) -> str:
    module = _module_of(obj) if not isinstance(obj, types.ModuleType) else obj
    if module is None:
        return "?"
    return _distribution_version(module.__name__.split(".")[0])


@lru_cache(maxsize=1024)
def _distribution_version(top: str) -> str:
    try:
        from importlib.metadata import packages_distributions, version

        dists = packages_distributions().get(top, [top])
        return f"{dists[0]}=={version(dists[0])}"
    except Exception:
        return f"{top} (python {sys.version_info.major}.{sys.version_info.minor})"


def _normalised_source(obj: Any) -> str:
    """The code as ``ast.unparse`` prints it, without decorators and docstrings.

    Comments, blank lines, formatting and quotes do not count, and the text is the same on
    every Python version (``ast.dump`` is not). Without source (``exec``), the bytecode.
    """
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        version = f"python {sys.version_info.major}.{sys.version_info.minor}"
        return f"{version} {code.co_code!r} {code.co_names!r}" if code is not None else repr(obj)
    try:
        tree = ast.parse(source)
    except SyntaxError:  # e.g. a lambda cut out of a longer expression
        return source
    for top in tree.body:
        if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            top.decorator_list = []
    for item in ast.walk(tree):
        if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        first = item.body[0] if item.body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            item.body = item.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def _code_objects(code: types.CodeType) -> list[types.CodeType]:
    out = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out.extend(_code_objects(const))
    return out


def _referenced(obj: Any) -> list[Any]:
    """Project-level objects a function or class uses: globals, attributes of modules, closures."""
    found: list[Any] = []
    if inspect.isclass(obj):
        for value in vars(obj).values():
            target = value.__func__ if isinstance(value, classmethod | staticmethod) else value
            if inspect.isfunction(target):
                found.append(target)
        return found
    code = getattr(obj, "__code__", None)
    if code is None:
        return found
    namespace = getattr(obj, "__globals__", {})
    names: list[str] = []
    for c in _code_objects(code):
        names.extend(c.co_names)
    for name in dict.fromkeys(names):
        if name not in namespace:
            continue
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            if _is_project(value):
                for attr in dict.fromkeys(names):
                    member = getattr(value, attr, None)
                    if inspect.isfunction(member) or inspect.isclass(member):
                        found.append(member)
                    elif _is_constant(member):
                        found.append(_Constant(f"{value.__name__}.{attr}", member))
            else:
                found.append(value)
            continue
        if _is_constant(value):
            found.append(_Constant(f"{getattr(obj, '__module__', '?')}.{name}", value))
            continue
        if isinstance(value, dict | list | tuple) and len(value) <= 1000:  # dispatch tables
            items = value.values() if isinstance(value, dict) else value
            found.extend(v for v in items if inspect.isfunction(v) or inspect.isclass(v))
            continue
        found.append(value)
    for var, cell in zip(code.co_freevars, getattr(obj, "__closure__", None) or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        found.append(_Constant(f"<closure {var}>", value) if _is_constant(value) else value)
    wrapped = getattr(obj, "__wrapped__", None)
    if wrapped is not None:
        found.append(wrapped)
    return found


class _Constant:
    """A plain global value a project function reads (a change of it changes results)."""

    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value


def _is_constant(value: Any, depth: int = 0) -> bool:
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return True
    if isinstance(value, tuple | frozenset) and depth < 3:
        return all(_is_constant(v, depth + 1) for v in value)
    return False


def code_fingerprint(fn: Any) -> str:
    """``sha256:...`` over the step's code and every project function/class it reaches."""
    parts: list[list[str]] = []
    seen: set[int] = set()
    pending = [inspect.unwrap(fn)]
    while pending:
        obj = pending.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if hasattr(obj, "fn") and type(obj).__name__ == "Step":  # a step calling a step
            obj = obj.fn
        if isinstance(obj, _Constant):
            parts.append([obj.name, repr(obj.value)])
            continue
        if isinstance(obj, types.ModuleType):  # a library module the code uses
            parts.append([obj.__name__, _library_version(obj)])
            continue
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            if callable(obj) and _module_of(obj) is not None and not _is_project(obj):
                name = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"
                parts.append([name, _library_version(obj)])  # numpy ufuncs, builtins, ...
            continue
        name = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"
        if not _is_project(obj):
            parts.append([name, _library_version(obj)])
            continue
        parts.append([name, _normalised_source(obj)])
        pending.extend(_referenced(obj))
    parts.sort()
    return "sha256:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


__all__ = ["code_fingerprint"]
