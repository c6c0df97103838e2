"""A read-only path to one model version in a SQLite store, with the standard library only.

Loading a model (``load_model``, a serving worker starting) needs one version's record, and
importing SQLAlchemy to read it costs about 130 ms, a third of the whole load. This reads the
same rows with :mod:`sqlite3`, read-only, when the database is at this loopml's schema
revision; in any other case (another engine, an older or newer schema, any sqlite3 error) it
returns None and the caller opens the full store, which migrates, reaps and reports errors as
always. A test checks it returns exactly what :class:`~loopml.store._sql.SqlStore` returns.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from loopml._errors import NotFoundError
from loopml.store._model_names import check_alias, check_model_name, check_version
from loopml.store._records import ModelFile, ModelVersionRecord


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, if that is what it is."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or "?" in uri:
        return None
    path = Path(uri[len(prefix) :])
    return path if path.is_file() else None


def read_model_version(
    uri: str, name: str, *, version: int | None = None, alias: str | None = None
) -> ModelVersionRecord | None:
    """The record of ``name`` at ``version``, ``@alias`` or its latest ready version; None when
    this path cannot answer (the caller then uses the full store)."""
    from loopml.store._revision import HEAD_REVISION

    check_model_name(name)
    if version is not None:
        check_version(version)
    if alias is not None:
        check_alias(alias)
    path = sqlite_file(uri)
    if path is None:
        return None
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        connection.row_factory = sqlite3.Row
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        if revision is None or revision[0] != HEAD_REVISION:
            return None
        return _read(connection, name, version, alias)
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def _read(
    connection: sqlite3.Connection, name: str, version: int | None, alias: str | None
) -> ModelVersionRecord:
    model = connection.execute(
        "SELECT pk FROM registered_models WHERE name = ?", (name,)
    ).fetchone()
    if model is None:
        raise NotFoundError(f"no registered model {name!r}; list them with `loopml models list`")
    model_pk = model["pk"]
    if alias is not None:
        found = connection.execute(
            "SELECT v.version FROM model_aliases a JOIN model_versions v ON v.pk = a.version_pk "
            "WHERE a.model_pk = ? AND a.alias = ?",
            (model_pk, alias),
        ).fetchone()
        if found is None:
            raise NotFoundError(
                f"model {name!r} has no alias {alias!r}; set it with "
                f"`loopml models alias {name} {alias} VERSION`"
            )
        version = int(found["version"])
    if version is None:
        row = connection.execute(
            "SELECT * FROM model_versions WHERE model_pk = ? AND status = 'ready' "
            "ORDER BY version DESC LIMIT 1",
            (model_pk,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"model {name!r} has no version left to load")
    else:
        row = connection.execute(
            "SELECT * FROM model_versions WHERE model_pk = ? AND version = ?",
            (model_pk, version),
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"model {name!r} has no version {version}; see `loopml models show {name}`"
            )
    return _record(connection, name, row)


def _record(connection: sqlite3.Connection, name: str, row: Any) -> ModelVersionRecord:
    files = [
        ModelFile(f["name"], f["digest"], int(f["size"]))
        for f in connection.execute(
            "SELECT name, digest, size FROM model_files WHERE version_pk = ? ORDER BY name",
            (row["pk"],),
        )
    ]
    run_id = None
    if row["run_pk"] is not None:
        found = connection.execute("SELECT id FROM runs WHERE pk = ?", (row["run_pk"],)).fetchone()
        run_id = None if found is None else found["id"]
    dataset = None
    if row["dataset_version_pk"] is not None:
        found = connection.execute(
            "SELECT d.name, v.version FROM dataset_versions v JOIN datasets d "
            "ON d.id = v.dataset_id WHERE v.pk = ?",
            (row["dataset_version_pk"],),
        ).fetchone()
        if found is not None:
            dataset = (str(found["name"]), int(found["version"]))
    aliases = sorted(
        a["alias"]
        for a in connection.execute(
            "SELECT alias FROM model_aliases WHERE version_pk = ?", (row["pk"],)
        )
    )
    tags = {
        t["key"]: t["value"]
        for t in connection.execute(
            "SELECT key, value FROM model_tags WHERE model_pk = ? AND version = ?",
            (row["model_pk"], row["version"]),
        )
    }
    return ModelVersionRecord(
        name=name,
        version=int(row["version"]),
        bundle_digest=row["bundle_digest"],
        flavor=row["flavor"],
        format=row["format"],
        trusted_types=list(json.loads(row["trusted_types"])),
        signature=dict(json.loads(row["signature"])),
        files=files,
        run_id=run_id,
        dataset=dataset,
        status=row["status"],
        approval=row["approval"],
        approval_by=row["approval_by"],
        approval_at=row["approval_at"],
        approval_reason=row["approval_reason"],
        blessed=None if row["blessed"] is None else bool(row["blessed"]),
        verdict=None if row["verdict"] is None else dict(json.loads(row["verdict"])),
        description=row["description"],
        created_at=int(row["created_at"]),
        created_by=row["created_by"],
        deleted_at=row["deleted_at"],
        deleted_by=row["deleted_by"],
        aliases=aliases,
        tags=tags,
    )
