"""The one exception tree of loopml.

Every error loopml raises on purpose is a :class:`LoopmlError`; its message says what went wrong
and how to fix it. Catch the base class, or a precise subclass::

    LoopmlError
    ├── ConfigError            a setting (LOOPML_URI, loopml.toml) is malformed or contradictory
    ├── WorkspaceNotFoundError no workspace where one was required
    ├── StoreError             the metadata store
    │   ├── StoreUnavailableError   cannot connect (server down, bad credentials, bad path)
    │   ├── StoreVersionError       written by a newer loopml
    │   └── MigrationRequiredError  older schema; run `loopml db upgrade`
    ├── NotFoundError          a run, experiment or artifact that does not exist
    ├── InvalidInputError      a bad argument (key, value, filter, name)
    │   └── FilterSyntaxError       a query filter or order_by that does not parse
    ├── ConflictError          a write that contradicts what is stored (e.g. a param changed)
    └── ArtifactError          the artifact store
        ├── BlobNotFoundError       a referenced blob is missing
        └── BlobCorruptError        a blob's content does not match its digest

The CLI shows any of these as one line and a non-zero exit code (``exit_code``); ``--debug``
shows the traceback.
"""

from __future__ import annotations


class LoopmlError(Exception):
    """Base class of every error loopml raises on purpose."""

    exit_code: int = 1


class ConfigError(LoopmlError):
    """A setting is malformed: the message names the setting, where it came from, and the fix."""


class WorkspaceNotFoundError(LoopmlError):
    """No loopml workspace was found where one is required."""


class StoreError(LoopmlError):
    """A problem with the metadata store."""


class StoreUnavailableError(StoreError):
    """The metadata store cannot be reached."""

    exit_code = 3


class StoreVersionError(StoreError):
    """The store's schema was written by a newer loopml than this one."""


class MigrationRequiredError(StoreError):
    """The store's schema is older than this loopml; it must be upgraded first."""


class NotFoundError(LoopmlError):
    """A run, experiment or artifact that does not exist."""


class InvalidInputError(LoopmlError, ValueError):
    """A bad argument: the message names it and says what is allowed."""


class FilterSyntaxError(InvalidInputError):
    """A query filter or order_by expression that does not parse."""


class ConflictError(LoopmlError):
    """A write that contradicts what is already stored."""


class ArtifactError(LoopmlError):
    """A problem with the artifact store."""


class BlobNotFoundError(ArtifactError, NotFoundError):
    """A blob referenced by the metadata store is missing from the artifact store."""

    exit_code = 4


class BlobCorruptError(ArtifactError):
    """A blob's content does not hash to its digest: it was modified or truncated."""

    exit_code = 4
