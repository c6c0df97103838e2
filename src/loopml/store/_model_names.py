"""Names in the model registry: model names, aliases and ``models:/`` references.

A model name becomes part of URIs and folder names, so it is strict: letters, digits, ``.``,
``_`` and ``-``, starting with a letter or digit, at most 128 characters, no ``..``. An alias
is lower case (``champion``, ``challenger``, ``canary-eu``); ``latest`` and ``v3``-like names
are reserved, as in MLflow, so ``models:/fraud@v3`` can never be confused with a version.
"""

from __future__ import annotations

import re

from loopml._errors import InvalidInputError

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}")
RESERVED_ALIAS = re.compile(r"latest|[vV]\d+")


def check_model_name(name: object) -> str:
    """``name`` if it can name a registered model; a clear error otherwise."""
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name) or ".." in name:
        raise InvalidInputError(
            f"model name {name!r} is not allowed: use 1 to 128 letters, digits, '.', '_' and "
            "'-', starting with a letter or digit and without '..' (no '/', spaces or "
            "path characters), e.g. 'fraud' or 'fraud-detector.eu'"
        )
    return name


def check_alias(alias: object) -> str:
    """``alias`` if it can be an alias; a clear error otherwise."""
    if not isinstance(alias, str) or not ALIAS.fullmatch(alias):
        raise InvalidInputError(
            f"alias {alias!r} is not allowed: use 1 to 64 lower-case letters, digits, '_' and "
            "'-', starting with a letter, e.g. 'champion'"
        )
    if RESERVED_ALIAS.fullmatch(alias):
        raise InvalidInputError(
            f"alias {alias!r} is reserved (it reads as a version); choose another, e.g. 'champion'"
        )
    return alias


def check_version(version: object) -> int:
    """A model version number (1, 2, ...); a clear error otherwise."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInputError(f"a model version is a positive integer, e.g. 3, not {version!r}")
    return version
