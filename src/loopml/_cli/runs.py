"""``loopml runs list|show|compare``."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from loopml.store import Run

app = typer.Typer(help="List, show and compare tracked runs.", no_args_is_help=True)

MAX_METRIC_COLUMNS = 6
MAX_PARAM_COLUMNS = 4


@app.command("list")
def list_runs(
    experiment: list[str] = typer.Option(
        None, "--experiment", "-e", help="Only runs of this experiment (repeatable)."
    ),
    filter: str = typer.Option(
        None, "--filter", "-f", help="e.g. \"metrics.auc > 0.9 and params.C = '1.0'\"."
    ),
    order_by: str = typer.Option(
        None, "--order-by", "-o", help="e.g. 'metrics.auc desc' (default: newest first)."
    ),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many runs to show."),
    json: bool = typer.Option(False, "--json", help="Print runs as JSON."),
) -> None:
    """List runs, newest first, with their main params and metrics."""
    from rich.markup import escape
    from rich.table import Table

    from loopml._cli._output import (
        console,
        fmt_duration,
        fmt_time,
        print_json,
        short,
        status_text,
    )
    from loopml.tracking import search_runs

    found = search_runs(experiment or None, filter=filter, order_by=order_by, limit=limit)
    if json:
        print_json([run.to_dict() for run in found])
        return
    if not found:
        console().print("No runs match. Start one with [bold]loopml.start_run()[/].")
        return
    metric_keys = [k for k, _ in Counter(k for r in found for k in r.metrics).most_common()]
    param_keys = [k for k, _ in Counter(k for r in found for k in r.params).most_common()]
    # Fit the terminal: the fixed columns take about 60 characters, each value about 10.
    room = max(1, (console().width - 62) // 9)
    metric_keys = metric_keys[: min(MAX_METRIC_COLUMNS, room)]
    param_keys = param_keys[: max(0, min(MAX_PARAM_COLUMNS, room - len(metric_keys)))]
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("run", "experiment", "name", "status", "started", "duration"):
        table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=20)
    for key in param_keys:
        table.add_column(escape(key), style="cyan")
    for key in metric_keys:
        table.add_column(escape(key), justify="right", style="yellow", min_width=min(len(key), 10))
    for run in found:
        table.add_row(
            short(run.id),
            escape(run.experiment),
            escape(run.name or ""),
            status_text(run.status),
            fmt_time(run.start_time)[5:16],
            fmt_duration(run.duration),
            *[escape(run.params.get(k, "")) for k in param_keys],
            *[f"{run.metrics[k]:.4g}" if k in run.metrics else "" for k in metric_keys],
        )
    console().print(table)


@app.command("show")
def show(
    run_id: str = typer.Argument(..., help="A run id or a unique prefix of one.", metavar="RUN_ID"),
    json: bool = typer.Option(False, "--json", help="Print the run as JSON."),
) -> None:
    """Show one run: status, params, metrics, tags, artifacts and, if it failed, the error."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    from loopml._cli._output import (
        console,
        fmt_bytes,
        fmt_duration,
        fmt_number,
        fmt_time,
        print_json,
        status_text,
    )
    from loopml.tracking import get_run

    run = get_run(run_id)
    if json:
        print_json(run.to_dict())
        return
    out = console()
    header = (
        f"[bold]{run.id}[/]  {escape(run.name or '')}\n"
        f"experiment [bold]{escape(run.experiment)}[/]   status {status_text(run.status)}   "
        f"started {fmt_time(run.start_time)}   duration {fmt_duration(run.duration)}"
    )
    if run.parent_id:
        header += f"\nparent {run.parent_id}"
    out.print(Panel(header, expand=False))
    sections: list[tuple[str, dict[str, str]]] = [
        ("params", {k: v for k, v in sorted(run.params.items())}),
        ("metrics", {k: fmt_number(v) for k, v in sorted(run.metrics.items())}),
        ("tags", {k: v for k, v in sorted(run.tags.items()) if not k.startswith("loopml.")}),
        ("environment", {k[7:]: v for k, v in sorted(run.tags.items()) if k.startswith("loopml.")}),
    ]
    for title, values in sections:
        if not values:
            continue
        table = Table(title=title, title_justify="left", title_style="bold", box=None)
        table.add_column("key", style="cyan")
        table.add_column("value")
        for key, value in values.items():
            table.add_row(escape(key), escape(value))
        out.print(table)
    if run.artifacts:
        table = Table(title="artifacts", title_justify="left", title_style="bold", box=None)
        table.add_column("name", style="cyan")
        table.add_column("size", justify="right")
        table.add_column("digest", style="dim")
        for name, ref in run.artifacts.items():
            table.add_row(escape(name), fmt_bytes(ref.size), ref.digest[:19])
        out.print(table)
    if run.error:
        out.print(Panel(escape(run.error.rstrip()), title="error", border_style="red"))


@app.command("compare")
def compare(
    run_ids: list[str] = typer.Argument(
        ..., help="Two or more run ids (or unique prefixes).", metavar="RUN_ID..."
    ),
    diff_only: bool = typer.Option(False, "--diff", help="Only rows whose values differ."),
    json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Compare runs side by side: params and metrics, differences highlighted."""
    from rich.markup import escape
    from rich.table import Table

    from loopml._cli._output import console, fmt_number, print_json, short
    from loopml._errors import InvalidInputError
    from loopml.tracking import get_run

    if len(run_ids) < 2:
        raise InvalidInputError("compare needs at least two run ids")
    found: list[Run] = [get_run(r) for r in run_ids]
    rows = _comparison_rows(found)
    if diff_only:
        rows = [row for row in rows if len(set(row[2])) > 1]
    if json:
        print_json(
            {
                "runs": [r.id for r in found],
                "rows": [
                    {"kind": kind, "key": key, "values": values} for kind, key, values in rows
                ],
            }
        )
        return
    table = Table(header_style="bold", box=None)
    table.add_column("")
    table.add_column("key", style="cyan")
    for run in found:
        table.add_column(f"{short(run.id)}\n{escape(run.name or '')}", justify="right")
    for kind, key, values in rows:
        differs = len(set(values)) > 1
        cells = [
            ("-" if v is None else (fmt_number(v) if isinstance(v, float) else escape(str(v))))
            for v in values
        ]
        if differs:
            cells = [f"[bold yellow]{c}[/]" for c in cells]
        table.add_row(kind, escape(key), *cells)
    console().print(table)


def _comparison_rows(found: list[Run]) -> list[tuple[str, str, list[object]]]:
    rows: list[tuple[str, str, list[object]]] = [
        ("", "experiment", [r.experiment for r in found]),
        ("", "status", [r.status for r in found]),
    ]
    for kind, attr in (("param", "params"), ("metric", "metrics")):
        keys = sorted({k for r in found for k in getattr(r, attr)})
        for key in keys:
            rows.append((kind, key, [getattr(r, attr).get(key) for r in found]))
    for key in ("loopml.git.commit", "loopml.git.changes_sha256", "loopml.seed"):
        if any(key in r.tags for r in found):
            rows.append(("env", key[7:], [r.tags.get(key) for r in found]))
    return rows
