"""Where loopml keeps things: settings from the environment, ``loopml.toml`` and the workspace.

Precedence, highest first:

1. environment variables ``LOOPML_URI`` (metadata store, a SQLAlchemy URL) and
   ``LOOPML_ARTIFACTS`` (artifact store: a folder or any fsspec URL);
2. ``loopml.toml`` in the project folder (the nearest one walking up from the current
   directory), section ``[store]`` with keys ``uri`` and ``artifacts``;
3. the workspace folder ``.loopml/`` (nearest walking up): ``.loopml/loopml.db`` and
   ``.loopml/artifacts``.

A project folder is the nearest folder, walking up from the current directory like git does, that
holds ``.loopml/`` or ``loopml.toml``. With neither, the current directory is the project folder
and the workspace is created there on first write.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loopml._errors import ConfigError

WORKSPACE_DIRNAME = ".loopml"
CONFIG_FILENAME = "loopml.toml"
DB_FILENAME = "loopml.db"
ARTIFACTS_DIRNAME = "artifacts"

_SUPPORTED = "sqlite:///path/to/loopml.db or postgresql+psycopg://user:password@host:5432/dbname"


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one project folder.

    ``store_uri`` is a SQLAlchemy URL, ``artifacts_uri`` a local folder or fsspec URL,
    ``store_source`` and ``artifacts_source`` say where each came from (for ``loopml doctor``).
    """

    root: Path
    store_uri: str
    artifacts_uri: str
    store_source: str
    artifacts_source: str
    config_file: Path | None = None

    @property
    def workspace_dir(self) -> Path:
        """The ``.loopml`` folder of this project (it may not exist yet)."""
        return self.root / WORKSPACE_DIRNAME

    @property
    def is_default_sqlite(self) -> bool:
        """True when the store is the workspace's own SQLite file."""
        return self.store_source == "workspace"


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.loopml/`` or ``loopml.toml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / WORKSPACE_DIRNAME).is_dir() or (folder / CONFIG_FILENAME).is_file():
            return folder
    return None


def _read_toml(path: Path) -> dict[str, object]:
    import tomllib

    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix the file or delete it") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc.strerror}); check its permissions") from exc
    store = data.get("store", {})
    if not isinstance(store, dict):
        raise ConfigError(f'{path}: [store] must be a table, e.g. [store]\\nuri = "{_SUPPORTED}"')
    unknown = sorted(set(store) - {"uri", "artifacts"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)} in [store]; the known keys are uri "
            "and artifacts"
        )
    for key in ("uri", "artifacts"):
        if key in store and not (isinstance(store[key], str) and store[key].strip()):
            raise ConfigError(f"{path}: [store] {key} must be a non-empty string")
    return store


def normalize_store_uri(uri: str, *, source: str, base: Path | None = None) -> str:
    """Check a metadata-store URL and return it in the form the store opens.

    ``postgres://`` and ``postgresql://`` get the psycopg (v3) driver; a relative SQLite path is
    made absolute against ``base``. Anything else raises :class:`ConfigError` naming ``source``.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = uri.strip()
    if text.startswith(("http://", "https://")):
        raise ConfigError(
            f"{source}={uri!r}: a loopml team server is not available in this version; use "
            f"a database URL such as {_SUPPORTED}"
        )
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise ConfigError(
            f"{source}={uri!r} is not a database URL; expected e.g. {_SUPPORTED}"
        ) from exc
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if url.drivername not in ("postgresql+psycopg", "postgres", "postgresql"):
            raise ConfigError(
                f"{source}={uri!r}: driver {url.drivername!r} is not supported; use "
                "postgresql+psycopg://... (install with: pip install 'loopml[postgres]')"
            )
        if not url.database:
            raise ConfigError(f"{source}={uri!r} names no database; add it: ...@host:5432/dbname")
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        if url.drivername != "sqlite":
            raise ConfigError(f"{source}={uri!r}: use the plain sqlite:/// driver")
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise ConfigError(
                f"{source}={uri!r} names no database file; use sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db (an in-memory store would lose everything at exit)"
            )
        path = Path(database).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        return f"sqlite:///{path.resolve()}"
    raise ConfigError(
        f"{source}={uri!r}: database {backend!r} is not supported; loopml stores metadata in "
        f"SQLite or PostgreSQL, e.g. {_SUPPORTED}"
    )


def normalize_artifacts_uri(uri: str, *, source: str, base: Path | None = None) -> str:
    """A local folder becomes an absolute path; any URL with a scheme is kept for fsspec."""
    text = uri.strip()
    if not text:
        raise ConfigError(f"{source} is empty; give a folder or an fsspec URL like s3://bucket/x")
    if "://" in text and not text.startswith("file://"):
        return text
    if text.startswith("file://"):
        text = text[len("file://") :]
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return str(path.resolve())


def resolve_settings(start: Path | None = None) -> Settings:
    """Resolve the settings for the project around ``start`` (default: the current directory)."""
    here = (start or Path.cwd()).resolve()
    root = find_project_root(here) or here
    config_file = root / CONFIG_FILENAME
    table: dict[str, object] = _read_toml(config_file) if config_file.is_file() else {}
    env_uri = os.environ.get("LOOPML_URI")
    env_artifacts = os.environ.get("LOOPML_ARTIFACTS")

    if env_uri is not None:
        store_uri = normalize_store_uri(env_uri, source="LOOPML_URI", base=here)
        store_source = "LOOPML_URI"
    elif "uri" in table:
        store_uri = normalize_store_uri(str(table["uri"]), source=str(config_file), base=root)
        store_source = str(config_file)
    else:
        store_uri = f"sqlite:///{root / WORKSPACE_DIRNAME / DB_FILENAME}"
        store_source = "workspace"

    if env_artifacts is not None:
        artifacts_uri = normalize_artifacts_uri(env_artifacts, source="LOOPML_ARTIFACTS", base=here)
        artifacts_source = "LOOPML_ARTIFACTS"
    elif "artifacts" in table:
        artifacts_uri = normalize_artifacts_uri(
            str(table["artifacts"]), source=str(config_file), base=root
        )
        artifacts_source = str(config_file)
    else:
        artifacts_uri = str(root / WORKSPACE_DIRNAME / ARTIFACTS_DIRNAME)
        artifacts_source = "workspace"

    return Settings(
        root=root,
        store_uri=store_uri,
        artifacts_uri=artifacts_uri,
        store_source=store_source,
        artifacts_source=artifacts_source,
        config_file=config_file if config_file.is_file() else None,
    )
