"""``loopml data list|show``: dataset versions."""

from __future__ import annotations

import typer

app = typer.Typer(help="Dataset versions: list and show them.", no_args_is_help=True)


@app.command("list")
def list_datasets(
    name: str = typer.Argument(None, help="A dataset: list its versions (default: every dataset)."),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List datasets (their latest versions), or every version of one dataset."""
    from rich.markup import escape
    from rich.table import Table

    from loopml._cli._output import console, fmt_bytes, fmt_time, print_json
    from loopml.data import datasets

    found = datasets.versions(name)
    if json:
        print_json([_as_dict(v.record) for v in found])
        return
    if not found:
        what = f"dataset {name!r} has no versions" if name else "no datasets yet"
        console().print(f"{what}. Register one with [bold]loopml.datasets.register()[/].")
        return
    table = Table(box=None, header_style="bold")
    for column in ("dataset", "version", "rows", "columns", "size", "id", "created", "parents"):
        table.add_column(
            column, justify="right" if column in ("rows", "size") else "left", no_wrap=True
        )
    for v in found:
        r = v.record
        table.add_row(
            escape(r.name),
            str(r.version),
            f"{r.row_count:,}",
            str(len(r.columns)),
            fmt_bytes(r.size_bytes),
            r.content_id[7:19],
            fmt_time(r.created_at)[5:16],
            escape(", ".join(f"{n}/{ver}" for n, ver, _ in r.parents)),
        )
    console().print(table)


@app.command("show")
def show(
    name: str = typer.Argument(..., help="The dataset."),
    version: int = typer.Option(None, "--version", "-v", min=1, help="Default: the latest."),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show one dataset version: id, source, producing run, lineage, columns and roles."""
    from rich.markup import escape
    from rich.table import Table

    from loopml._cli._output import console, fmt_bytes, fmt_time, print_json
    from loopml.data import datasets

    r = datasets.get(name, version).record
    if json:
        print_json(_as_dict(r))
        return
    out = console()
    out.print(f"[bold]{escape(r.name)}[/] version [bold]{r.version}[/]   {r.content_id}")
    out.print(
        f"{r.row_count:,} rows, {len(r.columns)} columns, {fmt_bytes(r.size_bytes)} "
        f"(Parquet), created {fmt_time(r.created_at)}"
    )
    out.print(f"source {escape(str(r.source))}")
    if r.run_id:
        out.print(f"produced by run {r.run_id}")
    for parent, parent_version, relation in r.parents:
        out.print(f"parent {escape(parent)}/{parent_version} ({relation})")
    table = Table(box=None, header_style="bold")
    table.add_column("column", style="cyan")
    table.add_column("type")
    table.add_column("role")
    for column, arrow_type in r.columns:
        table.add_row(escape(column), arrow_type, r.roles.get(column, "feature"))
    out.print(table)


def _as_dict(r: object) -> dict[str, object]:
    from dataclasses import asdict

    data = asdict(r)  # type: ignore[call-overload]
    data["files"] = [dict(f) for f in data["files"]]
    return dict(data)
