"""``loopml models ...`` (the registry) and ``loopml import mlflow``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    help="The model registry: versions, aliases, approvals, gates and history.",
    no_args_is_help=True,
)
import_app = typer.Typer(help="Bring models from other tools.", no_args_is_help=True)


def _store() -> Any:
    from loopml._workspace import workspace

    return workspace().store


def _blessed(value: bool | None) -> str:
    return {None: "-", True: "[green]blessed[/]", False: "[red]not blessed[/]"}[value]


def _approval(value: str) -> str:
    style = {"approved": "green", "rejected": "red"}.get(value, "yellow")
    return f"[{style}]{value}[/]"


@app.command("list")
def list_models(json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Registered models with their latest version and aliases."""
    from dataclasses import asdict

    from rich.table import Table

    from loopml._cli._output import console, fmt_time, print_json

    models = _store().list_models()
    if json:
        print_json([asdict(m) for m in models])
        return
    if not models:
        console().print("no registered models yet (loopml.log_model registers one)")
        return
    table = Table(box=None, header_style="bold")
    for column in ("name", "latest", "aliases", "updated", "description"):
        table.add_column(column)
    for m in models:
        table.add_row(
            m.name,
            str(m.latest_version or "-"),
            ", ".join(f"@{a}=v{v}" for a, v in m.aliases.items()),
            fmt_time(m.updated_at)[:16],
            m.description or "",
        )
    console().print(table)


@app.command("show")
def show(
    name: str = typer.Argument(..., help="The registered model."),
    version: int = typer.Option(None, "--version", "-v", help="One version in detail."),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """A model's versions, or one version in detail (signature, files, gate verdict)."""
    from dataclasses import asdict

    from rich.table import Table

    from loopml._cli._output import console, fmt_time, print_json

    store = _store()
    if version is None:
        versions = store.list_model_versions(name)
        if json:
            print_json([asdict(v) for v in versions])
            return
        table = Table(box=None, header_style="bold", title=f"model {name}")
        for column in ("version", "flavor", "aliases", "approval", "gate", "created", "run"):
            table.add_column(column)
        for v in versions:
            table.add_row(
                f"v{v.version}" + (" (deleted)" if v.status == "deleted" else ""),
                v.flavor,
                ", ".join("@" + a for a in v.aliases),
                _approval(v.approval),
                _blessed(v.blessed),
                fmt_time(v.created_at)[:16],
                (v.run_id or "")[:8],
            )
        console().print(table)
        return
    record = store.get_model_version(name, version)
    if json:
        print_json(asdict(record))
        return
    out = console()
    out.print(f"[bold]models:/{name}/{version}[/]  {record.flavor} ({record.format})")
    aliases = ", ".join("@" + a for a in record.aliases) or "none"
    out.print(f"  aliases   {aliases}")
    who = f" by {record.approval_by}" if record.approval_by else ""
    why = f": {record.approval_reason}" if record.approval_reason else ""
    out.print(f"  approval  {_approval(record.approval)}{who}{why}")
    out.print(f"  gate      {_blessed(record.blessed)}")
    for reason in (record.verdict or {}).get("reasons", []):
        out.print(f"            {reason}", markup=False)
    made = f" by {record.created_by}" if record.created_by else ""
    out.print(f"  created   {fmt_time(record.created_at)[:19]}{made}")
    if record.run_id:
        out.print(f"  run       {record.run_id}")
    if record.dataset:
        out.print(f"  trained   {record.dataset[0]}/{record.dataset[1]}")
    trusted = ", ".join(record.trusted_types) or "skops' defaults only"
    out.print(f"  trusted   {trusted}")
    inputs = record.signature.get("inputs", [])
    if inputs:
        shown = ", ".join(f"{c['name']}: {c['type']}" for c in inputs[:12])
        more = f" and {len(inputs) - 12} more" if len(inputs) > 12 else ""
        out.print(f"  inputs    {shown}{more}", markup=False)
    for f in record.files:
        out.print(f"  file      {f.name:<20} {f.size:>10,} B  {f.digest[:19]}...")
    for key, value in record.tags.items():
        out.print(f"  tag       {key} = {value}", markup=False)


@app.command("alias")
def alias(
    name: str = typer.Argument(..., help="The registered model."),
    alias_name: str = typer.Argument(..., metavar="ALIAS", help="champion, challenger, ..."),
    version: int = typer.Argument(None, help="The version it should point at."),
    expect: int = typer.Option(
        None, "--expect", help="Move only if the alias is at this version now (0: not set)."
    ),
    force: str = typer.Option(
        None, "--force", help="Make an unblessed version champion; give the reason."
    ),
    remove: bool = typer.Option(False, "--remove", help="Remove the alias."),
) -> None:
    """Point an alias at a version (only a blessed version becomes champion)."""
    from loopml._cli._output import console
    from loopml._errors import InvalidInputError
    from loopml.models._registry import actor, set_alias

    if remove:
        _store().remove_model_alias(name, alias_name, actor=actor())
        console().print(f"removed {name}@{alias_name}")
        return
    if version is None:
        raise InvalidInputError(f"which version? loopml models alias {name} {alias_name} VERSION")
    revision = set_alias(name, alias_name, version, expected=expect, force=force)
    console().print(f"{name}@{alias_name} -> v{version} (revision {revision})")


@app.command("approve")
def approve(
    name: str = typer.Argument(...),
    version: int = typer.Argument(...),
    reason: str = typer.Option(None, "--reason", "-r", help="Why (kept in the history)."),
) -> None:
    """Approve a version for use."""
    from loopml._cli._output import console
    from loopml.models._registry import approve as approve_version

    approve_version(name, version, reason)
    console().print(f"approved {name} v{version}")


@app.command("reject")
def reject(
    name: str = typer.Argument(...),
    version: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", "-r", help="Why it must not be used."),
) -> None:
    """Reject a version (with the reason)."""
    from loopml._cli._output import console
    from loopml.models._registry import reject as reject_version

    reject_version(name, version, reason)
    console().print(f"rejected {name} v{version}")


@app.command("history")
def history(
    name: str = typer.Argument(...),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Every change to a model, oldest first (the registry's append-only history)."""
    from dataclasses import asdict

    from rich.table import Table

    from loopml._cli._output import console, fmt_time, print_json

    events = _store().model_history(name)
    if json:
        print_json([asdict(e) for e in events])
        return
    table = Table(box=None, header_style="bold", title=f"history of {name}")
    for column in ("when", "event", "version", "alias", "who", "detail"):
        table.add_column(column, no_wrap=column != "detail")
    for e in events:
        detail = e.reason or ""
        if e.kind.startswith("alias_set"):
            detail = (detail + " " if detail else "") + (
                f"from v{e.payload.get('from')}" if e.payload.get("from") else "new alias"
            )
        if e.kind == "gate_verdict":
            detail = "blessed" if e.payload.get("blessed") else "not blessed"
        table.add_row(
            fmt_time(e.at)[:19],
            e.kind,
            f"v{e.version}" if e.version else "",
            e.alias or "",
            e.actor or "",
            detail,
        )
    console().print(table)


@app.command("compare")
def compare(
    name: str = typer.Argument(...),
    versions: list[int] = typer.Argument(..., help="Two or more versions."),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Versions side by side: flavor, approval, gate, metrics, training data, inputs."""
    from rich.table import Table

    from loopml._cli._output import console, print_json
    from loopml._errors import InvalidInputError

    if len(versions) < 2:
        raise InvalidInputError(
            f"compare needs two or more versions: loopml models compare {name} 1 2"
        )
    store = _store()
    records = [store.get_model_version(name, v) for v in versions]
    rows: dict[str, list[str]] = {}

    def put(key: str, values: list[Any]) -> None:
        rows[key] = ["-" if v is None else str(v) for v in values]

    put("flavor", [r.flavor for r in records])
    put("approval", [r.approval for r in records])
    put("gate", [{None: "-", True: "blessed", False: "not blessed"}[r.blessed] for r in records])
    put("aliases", [", ".join(r.aliases) or None for r in records])
    put("trained on", ["/".join(map(str, r.dataset)) if r.dataset else None for r in records])
    put("inputs", [len(r.signature.get("inputs", [])) for r in records])
    metrics = sorted(
        {k for r in records for k in ((r.verdict or {}).get("candidate_metrics") or {})}
    )
    for key in metrics:
        values = [((r.verdict or {}).get("candidate_metrics") or {}).get(key) for r in records]
        put(key, [f"{v:.4f}" if isinstance(v, float) else v for v in values])
    if json:
        print_json({"versions": versions, "rows": rows})
        return
    table = Table(box=None, header_style="bold", title=f"{name}: metrics from each gate")
    table.add_column("")
    for v in versions:
        table.add_column(f"v{v}")
    for key, cells in rows.items():
        table.add_row(key, *cells)
    console().print(table)


@app.command("delete")
def delete(
    name: str = typer.Argument(...),
    version: int = typer.Argument(...),
    reason: str = typer.Option(None, "--reason", "-r"),
    drop_aliases: bool = typer.Option(
        False, "--drop-aliases", help="Also remove the aliases that point at it."
    ),
) -> None:
    """Mark a version deleted (its history stays)."""
    from loopml._cli._output import console
    from loopml.models._registry import actor

    _store().delete_model_version(
        name, version, actor=actor(), reason=reason, drop_aliases=drop_aliases
    )
    console().print(f"deleted {name} v{version}")


@app.command("download")
def download(
    uri: str = typer.Argument(..., help="models:/NAME/VERSION or models:/NAME@ALIAS"),
    output: Path = typer.Option(..., "--output", "-o", help="The folder to write the bundle to."),
) -> None:
    """Write a version's bundle (model.yaml, model file, input example) to a folder."""
    from loopml._cli._output import console
    from loopml.models._loader import download as download_bundle

    download_bundle(uri, output)
    console().print(f"wrote {uri} to {output}")


@import_app.command("mlflow")
def import_mlflow(
    source: Path = typer.Argument(..., help="An MLflow model folder (the one with MLmodel)."),
    name: str = typer.Option(..., "--name", "-n", help="The registered model to add it to."),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type the skops file may hold beyond skops' defaults (repeat)."
    ),
    json: bool = typer.Option(False, "--json", help="Print the new version as JSON."),
) -> None:
    """Import an MLflow scikit-learn model saved as skops (signature and example kept)."""
    from dataclasses import asdict

    from loopml._cli._output import console, print_json
    from loopml.models._import import import_mlflow as run_import

    version = run_import(source, name, trust=trust)
    if json:
        print_json(asdict(version) | {"uri": version.uri})
        return
    console().print(f"imported {source} as {version.uri}")
