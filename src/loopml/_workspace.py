"""The workspace: one metadata store and one artifact store, found like git finds a repo."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from loopml._errors import WorkspaceNotFoundError
from loopml.artifacts import ArtifactStore, open_artifact_store
from loopml.config import WORKSPACE_DIRNAME, Settings, resolve_settings
from loopml.store import Store, open_store

_GITIGNORE = "# loopml workspace: metadata and artifacts, not source code\n*\n"

_lock = threading.RLock()
_open: dict[tuple[str, str], Workspace] = {}
_announced = False


class Workspace:
    """A project's metadata store and artifact store.

    ``loopml.workspace()`` returns the one for the current directory; most code never needs it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._artifacts: ArtifactStore | None = None

    @property
    def root(self) -> Path:
        """The project folder (the one holding ``.loopml/`` or ``loopml.toml``)."""
        return self.settings.root

    @property
    def store(self) -> Store:
        """The metadata store, opened (and for SQLite, migrated) on first use."""
        return self._open_store(auto_upgrade=None)

    def _open_store(self, *, auto_upgrade: bool | None) -> Store:
        with _lock:
            if self._store is None:
                from loopml import _liveness

                store = open_store(self.settings.store_uri, auto_upgrade=auto_upgrade)
                _liveness.reap(store)
                self._store = store
            return self._store

    def upgrade(self) -> str:
        """Create or upgrade the store's schema to this loopml's revision; return it."""
        with _lock:
            if self._store is None:
                self._open_store(auto_upgrade=True)
            store = self.store
            current, head = store.schema_status()
            if current != head:
                store.upgrade()
            return head

    @property
    def artifacts(self) -> ArtifactStore:
        """The artifact store."""
        if self._artifacts is None:
            self._artifacts = open_artifact_store(self.settings.artifacts_uri)
        return self._artifacts

    def close(self) -> None:
        """Release database connections."""
        with _lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def __repr__(self) -> str:
        return f"Workspace(root={str(self.root)!r}, store={self.settings.store_source})"


def _needs_folder(settings: Settings) -> bool:
    return settings.is_default_sqlite or settings.artifacts_source == "workspace"


def _create_folder(settings: Settings) -> None:
    _create_folder_at(settings.root)


def _create_folder_at(root: Path) -> None:
    folder = root / WORKSPACE_DIRNAME
    folder.mkdir(parents=True, exist_ok=True)
    gitignore = folder / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(_GITIGNORE)


def init(path: str | os.PathLike[str] | None = None) -> Workspace:
    """Create (or open) the workspace in ``path`` (default: the current directory).

    Creates ``.loopml/`` (with the SQLite database and the artifact folder unless ``LOOPML_URI``
    or ``loopml.toml`` point elsewhere) and creates or upgrades the store's schema. Like
    ``git init``, it makes ``path`` a project of its own even inside another project.
    """
    folder = Path(path or Path.cwd()).resolve()
    _create_folder_at(folder)  # from now on, this folder is the project root
    workspace = _get(resolve_settings(folder))
    workspace.upgrade()
    return workspace


def _get(settings: Settings) -> Workspace:
    key = (settings.store_uri, settings.artifacts_uri)
    with _lock:
        found = _open.get(key)
        if found is None:
            found = _open[key] = Workspace(settings)
        return found


def workspace(path: str | os.PathLike[str] | None = None, *, create: bool = False) -> Workspace:
    """The workspace for ``path`` (default: the current directory), found by walking up.

    With ``create=True`` (what writes use), a missing workspace is created in the current
    directory, and loopml says so once on stderr. Otherwise a missing one raises
    :class:`WorkspaceNotFoundError`.
    """
    global _announced
    settings = resolve_settings(Path(path) if path else None)
    missing = not settings.workspace_dir.is_dir()
    if missing and settings.is_default_sqlite and not create:
        raise WorkspaceNotFoundError(
            f"no loopml workspace in {settings.root} or any folder above it; run "
            "`loopml init` there, or set LOOPML_URI to a store"
        )
    if missing and create and _needs_folder(settings):
        _create_folder(settings)
        with _lock:
            if not _announced:
                _announced = True
                print(
                    f"loopml: created a workspace in {settings.workspace_dir} "
                    "(run `loopml init` elsewhere to choose the place)",
                    file=sys.stderr,
                )
    return _get(settings)
