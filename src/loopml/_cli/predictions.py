"""``loopml predictions list|show|export`` and ``loopml feedback``: the prediction log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    help="The prediction log of `loopml serve`: list it, show recent predictions, export it.",
    no_args_is_help=True,
)


@app.command("list")
def list_log(
    model: str = typer.Argument(None, help="Only this model."),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Logged predictions per model version: rows, time span, and labels received."""
    from rich.table import Table

    from loopml._cli._output import console, fmt_time, print_json
    from loopml.predictions import summary

    rows = summary(model)
    if json:
        print_json(rows)
        return
    if not rows:
        console().print("no predictions logged yet (loopml serve logs every prediction)")
        return
    table = Table(box=None, header_style="bold")
    for column in ("model", "version", "rows", "segments", "live", "labelled", "from", "to"):
        table.add_column(
            column,
            justify="left" if column in ("model", "from", "to") else "right",
            no_wrap=column in ("from", "to"),
        )
    for r in rows:
        table.add_row(
            r["model"],
            r["version"],
            str(r["rows"]),
            str(r["segments"]),
            str(r["live_rows"]),
            str(r["labelled"]),
            fmt_time(r["first_ms"])[:19],
            fmt_time(r["last_ms"])[:19],
        )
    console().print(table)


@app.command("show")
def show(
    model: str = typer.Argument(..., help="The served model."),
    version: str = typer.Option(None, "--version", "-v", help="Only this version."),
    since: str = typer.Option(None, "--since", help="From this time (ISO, e.g. 2026-11-25)."),
    until: str = typer.Option(None, "--until", help="Up to this time (ISO)."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="The newest this many."),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The newest predictions of a model, with their labels where feedback arrived."""
    from rich.table import Table

    from loopml._cli._output import console, print_json
    from loopml.predictions import read

    frame = read(model, version=version, since=since, until=until).tail(limit)
    if json:
        print_json(_records(frame))
        return
    if frame.empty:
        console().print(f"no predictions logged for {model}")
        return
    table = Table(box=None, header_style="bold")
    for column in ("time", "id", "version", "protocol", "ms", "prediction", "proba", "label"):
        table.add_column(
            column,
            justify="right" if column == "ms" else "left",
            no_wrap=column != "proba",
            max_width=16 if column == "id" else None,
            overflow="ellipsis" if column == "id" else "fold",
        )
    for r in frame.itertuples(index=False):
        proba = getattr(r, "proba", None)
        table.add_row(
            str(r.ts)[5:23],
            str(r.prediction_id),
            str(r.version),
            str(r.protocol),
            f"{r.latency_ms:.2f}",
            _show(r.prediction),
            "" if proba is None else _show(proba),
            "" if r.label is None else _show(r.label),
        )
    console().print(table)


@app.command("export")
def export_log(
    model: str = typer.Argument(..., help="The served model."),
    output: Path = typer.Option(..., "--output", "-o", help="A .parquet, .csv or .jsonl file."),
    version: str = typer.Option(None, "--version", "-v", help="Only this version."),
    since: str = typer.Option(None, "--since", help="From this time (ISO, e.g. 2026-11-25)."),
    until: str = typer.Option(None, "--until", help="Up to this time (ISO)."),
) -> None:
    """Write a model's predictions, labels joined, to one file."""
    from loopml._cli._output import console
    from loopml.predictions import export

    rows = export(model, output, version=version, since=since, until=until)
    console().print(f"wrote {rows} prediction(s) of {model} to {output}", markup=False)


def feedback(
    file: Path = typer.Argument(..., help="A .csv, .parquet or .jsonl file of labels."),
    model: str = typer.Option(..., "--model", "-m", help="The model the predictions came from."),
    id_column: str = typer.Option("id", "--id-column", help="The prediction id column."),
    label_column: str = typer.Option("label", "--label-column", help="The true label column."),
) -> None:
    """Record true labels for logged predictions, in bulk (a newer label replaces an older)."""
    from loopml._cli._output import console
    from loopml.predictions import _read_labels, label

    pairs = _read_labels(file, id_column=id_column, label_column=label_column)
    written = label(model, pairs, source=f"file:{file.name}")
    console().print(f"recorded {written} label(s) for {model} from {file}", markup=False)


def _show(value: Any) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _records(frame: Any) -> list[dict[str, Any]]:
    import json

    text = frame.to_json(orient="records", date_format="iso")
    records: list[dict[str, Any]] = json.loads(text)
    return records
