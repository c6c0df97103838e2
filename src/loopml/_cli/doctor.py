"""``loopml doctor``: check the configuration, the store, the schema and the artifact store."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import typer


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _checks() -> list[Check]:
    from loopml._errors import LoopmlError
    from loopml._version import __version__
    from loopml.config import resolve_settings
    from loopml.store import _migrate

    checks = [Check("loopml", True, f"{__version__} on Python {sys.version.split()[0]}")]
    try:
        settings = resolve_settings()
    except LoopmlError as exc:
        return [*checks, Check("configuration", False, str(exc))]
    checks.append(
        Check(
            "project",
            True,
            f"{settings.root}"
            + (f" (config {settings.config_file})" if settings.config_file else ""),
        )
    )
    from sqlalchemy.engine import make_url

    shown = make_url(settings.store_uri).render_as_string(hide_password=True)
    checks.append(Check("store", True, f"{shown} (from {settings.store_source})"))
    if settings.is_default_sqlite and not settings.workspace_dir.is_dir():
        checks.append(Check("workspace", False, "none here: run `loopml init`"))
        return checks
    try:
        revision = _migrate.peek(settings.store_uri)
    except LoopmlError as exc:
        checks.append(Check("store reachable", False, str(exc)))
        return checks
    checks.append(Check("store reachable", True, "connected"))
    if revision == _migrate.HEAD_REVISION:
        checks.append(Check("schema", True, f"revision {revision} (current)"))
    elif revision is not None and revision not in _migrate.KNOWN_REVISIONS:
        checks.append(
            Check(
                "schema",
                False,
                f"revision {revision} is from a newer loopml: pip install -U loopml",
            )
        )
    else:
        fix = (
            "opens upgrade it automatically"
            if settings.store_uri.startswith("sqlite")
            else "run `loopml db upgrade`"
        )
        checks.append(
            Check(
                "schema",
                settings.store_uri.startswith("sqlite"),
                f"revision {revision or '(empty)'}, needs {_migrate.HEAD_REVISION}: {fix}",
            )
        )
    if settings.store_uri.startswith("sqlite"):
        checks.append(_journal_check(settings.store_uri))
    checks.append(_artifact_check(settings.artifacts_uri, settings.artifacts_source))
    return checks


def _journal_check(uri: str) -> Check:
    from loopml.store._engine import make_engine

    engine = make_engine(uri)
    try:
        with engine.connect() as connection:
            mode = str(connection.exec_driver_sql("PRAGMA journal_mode").scalar())
    finally:
        engine.dispose()
    return Check(
        "sqlite journal",
        mode.lower() == "wal",
        f"{mode} (WAL lets readers and writers work at once)",
    )


def _artifact_check(url: str, source: str) -> Check:
    if "://" in url:
        return Check("artifacts", True, f"{url} (from {source}; fsspec, not probed)")
    folder = Path(url)
    while not folder.exists():
        folder = folder.parent
    writable = os.access(folder, os.W_OK)
    return Check(
        "artifacts",
        writable,
        f"{url} (from {source})" + ("" if writable else f": {folder} is not writable"),
    )


def doctor(json: bool = typer.Option(False, "--json", help="Print the checks as JSON.")) -> None:
    """Check configuration, store reachability, schema migrations and the artifact store."""
    from loopml._cli._output import console, print_json

    checks = _checks()
    healthy = all(c.ok for c in checks)
    if json:
        print_json({"ok": healthy, "checks": [c.__dict__ for c in checks]})
    else:
        from rich.markup import escape
        from rich.table import Table

        table = Table(box=None, show_header=False)
        table.add_column()
        table.add_column(style="bold")
        table.add_column()
        for check in checks:
            mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
            table.add_row(mark, check.name, escape(check.detail))
        console().print(table)
        console().print("[green]all good[/]" if healthy else "[red]problems found[/]")
    if not healthy:
        raise typer.Exit(1)
