"""``loopml db upgrade|current``: the store's schema."""

from __future__ import annotations

import typer

app = typer.Typer(help="The metadata store's schema (migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Create or upgrade the store's schema to this loopml's revision (back it up first)."""
    from loopml._cli._output import console
    from loopml._workspace import workspace

    ws = workspace()
    revision = ws.upgrade()
    console().print(f"[green]store {ws.store.display_uri} is at schema revision {revision}[/]")


@app.command("current")
def current(json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Print the store's schema revision and the one this loopml needs (changes nothing)."""
    from loopml._cli._output import console, print_json
    from loopml._workspace import workspace
    from loopml.store import _migrate

    ws = workspace()
    revision = _migrate.peek(ws.settings.store_uri)
    if json:
        print_json({"current": revision, "head": _migrate.HEAD_REVISION})
        return
    state = "up to date" if revision == _migrate.HEAD_REVISION else "needs `loopml db upgrade`"
    console().print(f"current {revision or '(empty)'}, head {_migrate.HEAD_REVISION}: {state}")
