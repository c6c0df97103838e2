"""Finding a pipeline from a command-line target: ``path/to/file.py:name`` or ``module:name``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from loopml._errors import InvalidInputError


def load_pipeline(target: str) -> Any:
    """The :class:`~loopml.pipelines.Pipeline` that ``target`` names.

    ``target`` is ``file.py[:name]`` (the file's folder goes on ``sys.path``, so its project
    imports work) or ``package.module[:name]`` (imported from the current folder). Without
    ``:name`` the module must hold exactly one pipeline.
    """
    from loopml.pipelines._dsl import Pipeline

    where, _, name = target.partition(":")
    if not where:
        raise InvalidInputError(f"{target!r} names no module or file; use file.py:pipeline")
    module = _import(where)
    if name:
        found = getattr(module, name, None)
        if not isinstance(found, Pipeline):
            raise InvalidInputError(
                f"{where} has no pipeline named {name!r}"
                + (f" ({name!r} is a {type(found).__name__})" if found is not None else "")
                + f"; its pipelines: {', '.join(_pipelines(module)) or 'none'}"
            )
        return found
    pipelines = _pipelines(module)
    if len(pipelines) != 1:
        raise InvalidInputError(
            f"{where} holds {len(pipelines)} pipelines ({', '.join(pipelines) or 'none'}); say "
            f"which, e.g. {where}:{pipelines[0] if pipelines else 'name'}"
        )
    return getattr(module, pipelines[0])


def _pipelines(module: Any) -> list[str]:
    from loopml.pipelines._dsl import Pipeline

    return sorted(k for k, v in vars(module).items() if isinstance(v, Pipeline))


def _import(where: str) -> Any:
    path = Path(where)
    if where.endswith(".py") or "/" in where or path.is_file():
        if not path.is_file():
            raise InvalidInputError(f"no such file: {where}")
        folder = str(path.resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        module_name = path.stem
        spec = importlib.util.spec_from_file_location(module_name, path.resolve())
        if spec is None or spec.loader is None:
            raise InvalidInputError(f"cannot import {where} as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise InvalidInputError(
                f"importing {where} failed: {type(exc).__name__}: {exc}"
            ) from exc
        return module
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(where)
    except ImportError as exc:
        raise InvalidInputError(
            f"cannot import {where!r} ({exc}); run from the project folder or give a file path"
        ) from exc


def parse_params(pairs: list[str], pipeline: Any) -> dict[str, Any]:
    """``key=value`` pairs as parameter values, converted to each parameter's annotation."""
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"-p takes key=value, not {pair!r}")
        annotation = pipeline.signature.parameters.get(key)
        kind = annotation.annotation if annotation is not None else None
        value: Any
        if kind in (str, "str"):
            value = text
        else:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            names: dict[Any, str] = {int: "int", float: "float", bool: "bool"}
            expected = names.get(kind, kind)
            ok = {
                "int": isinstance(value, int) and not isinstance(value, bool),
                "float": isinstance(value, int | float) and not isinstance(value, bool),
                "bool": isinstance(value, bool),
            }.get(expected if isinstance(expected, str) else "", True)
            if not ok:
                raise InvalidInputError(
                    f"parameter {key!r} needs {'an' if expected == 'int' else 'a'} {expected}, "
                    f"not {text!r}"
                )
            if expected == "float":
                value = float(value)
        out[key] = value
    return out
