"""``loopml triggers list|fire``: what started (or will start) pipelines."""

from __future__ import annotations

import typer

from loopml.store._records import FIRING_STATES

app = typer.Typer(
    help="Trigger firings: list them (with the runs they started) or fire one by hand.",
    no_args_is_help=True,
)

STATE_STYLE = {
    "pending": "cyan",
    "claimed": "cyan",
    "started": "cyan",
    "done": "green",
    "failed": "red",
    "skipped": "yellow",
}


@app.command("list")
def list_firings(
    trigger: str = typer.Option(None, "--trigger", "-t", help="Only this trigger (pipeline)."),
    state: str = typer.Option(
        None, "--state", "-s", help=f"Only firings in this state: {', '.join(FIRING_STATES)}."
    ),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="At most this many."),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Firings, newest first: why each fired, its state and the run it started."""
    from dataclasses import asdict

    from rich.table import Table

    from loopml._cli._output import console, fmt_time, print_json
    from loopml._errors import InvalidInputError
    from loopml._workspace import workspace

    if state is not None and state not in FIRING_STATES:
        raise InvalidInputError(
            f"--state {state!r} is not a firing state; use one of {', '.join(FIRING_STATES)}"
        )
    firings = workspace().store.list_firings(trigger, state, limit)
    if json:
        print_json([asdict(f) for f in firings])
        return
    if not firings:
        console().print("no trigger has fired yet (loopml agent records them)")
        return
    table = Table(box=None, header_style="bold")
    for column in ("id", "trigger", "kind", "state", "fired", "run", "reason"):
        table.add_column(
            column,
            justify="right" if column == "id" else "left",
            no_wrap=column != "reason",
            min_width=24 if column == "reason" else None,
            max_width=20 if column == "trigger" else None,
            overflow="ellipsis" if column == "trigger" else "fold",
        )
    for f in firings:
        reason = f.reason if f.error is None else f"{f.reason}: {f.error}"
        table.add_row(
            str(f.id),
            f.trigger,
            f.kind,
            f"[{STATE_STYLE.get(f.state, 'white')}]{f.state}[/]"
            + (f" ({f.attempts} tries)" if f.attempts > 1 else ""),
            fmt_time(f.fired_at)[5:16],
            (f.run_id or "")[:8],
            reason,
        )
    console().print(table)


@app.command("fire")
def fire(
    name: str = typer.Argument(..., help="The pipeline (trigger) to start."),
    reason: str = typer.Option("manual", "--reason", "-r", help="Why; shown in the history."),
    payload: list[str] = typer.Option(
        [], "--payload", "-p", help="A payload entry as key=value (repeat it); JSON values allowed."
    ),
    key: str = typer.Option(
        None, "--key", help="A dedupe key: firing again with the same key does nothing."
    ),
    json: bool = typer.Option(False, "--json", help="Print the firing id as JSON."),
) -> None:
    """Ask for pipeline NAME to run; a running ``loopml agent`` that watches it picks it up."""
    from json import loads

    from loopml._cli._output import console, print_json
    from loopml._errors import InvalidInputError
    from loopml.pipelines._triggers import fire as fire_trigger

    data: dict[str, object] = {}
    for item in payload:
        field, sep, text = item.partition("=")
        if not sep or not field:
            raise InvalidInputError(f"--payload {item!r} must be key=value, e.g. -p reason=drift")
        try:
            data[field] = loads(text)
        except ValueError:
            data[field] = text
    firing = fire_trigger(
        name, reason, data, dedupe_key=f"manual:{key}" if key else None, kind="manual"
    )
    if json:
        print_json({"firing": firing})
        return
    if firing is None:
        console().print(f"{name} already fired with that key; nothing new was recorded")
        return
    console().print(f"fired {name} (firing {firing}); a running `loopml agent` will start it")
