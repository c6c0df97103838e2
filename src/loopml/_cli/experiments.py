"""``loopml experiments``."""

from __future__ import annotations

import typer


def experiments(json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List experiments and how many runs each holds."""
    from rich.markup import escape
    from rich.table import Table

    from loopml._cli._output import console, fmt_time, print_json
    from loopml.tracking import experiments as list_experiments

    found = list_experiments()
    if json:
        print_json(
            [
                {"id": e.id, "name": e.name, "runs": e.run_count, "created_at": e.created_at}
                for e in found
            ]
        )
        return
    if not found:
        console().print("No experiments yet. Start a run with [bold]loopml.start_run()[/].")
        return
    table = Table(box=None, header_style="bold")
    table.add_column("experiment", style="cyan")
    table.add_column("runs", justify="right")
    table.add_column("created")
    for experiment in found:
        table.add_row(
            escape(experiment.name), str(experiment.run_count), fmt_time(experiment.created_at)
        )
    console().print(table)
