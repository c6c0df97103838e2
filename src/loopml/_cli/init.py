"""``loopml init``: create a workspace."""

from __future__ import annotations

from pathlib import Path

import typer


def init(
    path: Path = typer.Argument(Path(), help="Project folder (default: here)."),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create a workspace (.loopml/ with a SQLite store and an artifact folder) in PATH."""
    from loopml._cli._output import console, print_json
    from loopml._workspace import init as init_workspace
    from loopml.config import WORKSPACE_DIRNAME

    existed = (path.resolve() / WORKSPACE_DIRNAME).is_dir()
    workspace = init_workspace(path)
    settings = workspace.settings
    revision = workspace.store.schema_status()[0]
    if json:
        print_json(
            {
                "root": str(settings.root),
                "store": workspace.store.display_uri,
                "artifacts": settings.artifacts_uri,
                "schema_revision": revision,
                "created": not existed,
            }
        )
        return
    verb = "Reinitialised existing" if existed else "Initialised"
    out = console()
    out.print(f"[green]{verb} loopml workspace[/] in [bold]{settings.root}[/]")
    out.print(f"  store      {workspace.store.display_uri}")
    out.print(f"  artifacts  {settings.artifacts_uri}")
    out.print("Next: track a run with [bold]loopml.start_run()[/] or try [bold]loopml demo[/].")
