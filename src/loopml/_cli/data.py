"""``loopml data list|show|profile|diff|validate|schema``: datasets and their checks."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Datasets: versions, profiles, schemas, validation and drift.", no_args_is_help=True
)


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


def _open(ref: str) -> object:
    """A dataset version for ``name``, ``name/N`` or ``datasets:/name/N``; a path otherwise."""
    import glob
    from pathlib import Path

    from loopml._errors import InvalidInputError
    from loopml.data import datasets

    if Path(ref).exists() or (any(c in ref for c in "*?[") and glob.glob(ref)):  # noqa: PTH207
        return ref
    found = datasets.resolve(ref)
    if found is None:
        raise InvalidInputError(
            f"{ref!r} is neither a file, folder or glob nor a registered dataset; give a path "
            "or a dataset as name, name/VERSION or datasets:/name/VERSION (loopml data list)"
        )
    return found


@app.command("profile")
def profile_cmd(
    data: str = typer.Argument(..., help="A dataset (name, name/VERSION) or a file, folder, glob."),
    columns: str = typer.Option(None, "--columns", "-c", help="Comma-separated columns."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Profile data: per-column counts, missing values, moments, quantiles, top values."""
    from rich.markup import escape
    from rich.table import Table

    from loopml._cli._output import console, print_json
    from loopml.data._profile import profile

    target = _open(data)
    selected = [c.strip() for c in columns.split(",")] if columns else None
    result = profile(target, columns=selected, executor=executor)
    summary = result.summary()
    if json:
        print_json({"source": result.source, "rows": result.rows, "columns": summary})
        return
    table = Table(
        box=None, header_style="bold", title=f"{escape(result.source)}: {result.rows:,} rows"
    )
    table.add_column("column", style="cyan", overflow="fold")
    table.add_column("type", overflow="fold")
    for name in ("missing", "distinct", "mean", "std", "min", "median", "max"):
        table.add_column(name, justify="right", no_wrap=True)

    def num(value: object) -> str:
        return f"{value:.4g}" if isinstance(value, int | float) else ""

    for c in summary:
        distinct = f"{c['distinct']:,}" + ("" if c["distinct_exact"] else "~")
        if "mean" in c:
            stats = [num(c.get(k)) for k in ("mean", "std", "min", "median", "max")]
        else:
            top = ", ".join(f"{k} {v:,}" for k, v in c.get("top", [])[:3])
            stats = [escape(top), "", "", "", ""]
        table.add_row(escape(c["column"]), c["type"], f"{c['missing']:,}", distinct, *stats)
    console().print(table)
    console().print("[dim]~ estimated. Text columns show their top values under mean.[/]")


@app.command("diff")
def diff(
    reference: str = typer.Argument(..., help="Reference: a dataset (name/VERSION) or a path."),
    current: str = typer.Argument(..., help="Current: a dataset (name/VERSION) or a path."),
    method: str = typer.Option(
        "auto",
        "--method",
        "-m",
        help="auto, ks, wasserstein, psi, jensenshannon, chisquare, z or linf.",
    ),
    columns: str = typer.Option(None, "--columns", "-c", help="Comma-separated columns."),
    html: str = typer.Option(None, "--html", help="Also write the HTML report to this file."),
    profiles: bool = typer.Option(
        False, "--profiles", help="Compare stored profiles (fast, bounded memory) not raw data."
    ),
    fail_on_drift: bool = typer.Option(
        False, "--fail-on-drift", help="Exit with code 1 when the dataset drifted."
    ),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Test every column for drift between two datasets (or files) and show the report."""
    from loopml._cli._output import console, err_console, print_json
    from loopml.data._drift import drift
    from loopml.data._profile import profile

    ref, cur = _open(reference), _open(current)
    roles = {**dict(getattr(cur, "roles", {})), **dict(getattr(ref, "roles", {}))}
    if profiles:
        ref, cur = profile(ref), profile(cur)
        names = set(ref.column_names) | set(cur.column_names)
        roles = {c: r for c, r in roles.items() if c in names}
    else:
        roles = {}  # dataset versions bring their own roles
    selected = [c.strip() for c in columns.split(",")] if columns else None
    report = drift(ref, cur, columns=selected, method=method, roles=roles or None)
    if html:
        report.to_html(html)
    if json:
        print_json(report.to_dict())
    else:
        console().print(report)
        if html:
            err_console().print(f"HTML report written to {html}")
    if fail_on_drift and report.drifted:
        raise typer.Exit(1)


@app.command("validate")
def validate_cmd(
    data: str = typer.Argument(..., help="A dataset (name, name/VERSION) or a file, folder, glob."),
    schema: str = typer.Option(
        None, "--schema", "-s", help="A schema YAML file (default: the dataset's latest schema)."
    ),
    dataset: str = typer.Option(
        None, "--dataset", "-d", help="Use this dataset's latest schema (for a file to check)."
    ),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Check data against a schema; exits with code 1 when there are errors."""
    from loopml._cli._output import console, print_json
    from loopml._errors import InvalidInputError
    from loopml.data import datasets
    from loopml.data._schema import Schema
    from loopml.data._validate import validate

    target = _open(data)
    if schema is not None:
        loaded = Schema.load(schema)
    else:
        owner = dataset or getattr(target, "name", None)
        if owner is None:
            raise InvalidInputError(
                "which schema? give --schema schema.yaml, or --dataset NAME to use a dataset's "
                "latest schema (create one with: loopml data schema NAME --infer)"
            )
        loaded = datasets.schema(owner)
    result = validate(target, loaded)
    if json:
        print_json(result.to_dict())
    else:
        console().print(result)
    if not result.ok:
        raise typer.Exit(1)


@app.command("schema")
def schema_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    infer: bool = typer.Option(
        False, "--infer", help="Infer the schema from the latest version and save it."
    ),
    set_file: str = typer.Option(
        None, "--set", help="Save this (edited) YAML file as the next schema version."
    ),
    version: int = typer.Option(None, "--version", "-v", min=1, help="Default: the latest."),
    output: str = typer.Option(None, "--output", "-o", help="Write the YAML to this file."),
) -> None:
    """Show a dataset's schema as YAML; infer it, or save an edited one as a new version."""
    from pathlib import Path

    from loopml._cli._output import console, err_console
    from loopml.data import datasets

    if infer and set_file:
        from loopml._errors import InvalidInputError

        raise InvalidInputError("give either --infer or --set FILE, not both")
    if infer:
        _, number = datasets.infer_schema(datasets.get(name))
        err_console().print(f"schema version {number} of {name!r} inferred from its latest data")
    elif set_file:
        number = datasets.set_schema(name, set_file)
        err_console().print(f"schema version {number} of {name!r} saved from {set_file}")
    else:
        number = version
    text = datasets.schema(name, number).to_yaml()
    if output:
        Path(output).write_text(text, encoding="utf-8")
        err_console().print(f"written to {output}")
    else:
        console().print(text, markup=False, highlight=False, soft_wrap=True)
