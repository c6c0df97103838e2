"""``loopml run``, ``loopml cache list|clear`` and ``loopml lineage``."""

from __future__ import annotations

import typer

cache_app = typer.Typer(help="The step cache: list and clear entries.", no_args_is_help=True)


def run(
    target: str = typer.Argument(
        None, help="The pipeline: path/to/file.py[:name] or package.module[:name]."
    ),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="A parameter as key=value (repeat it); JSON values allowed."
    ),
    resume: str = typer.Option(
        None, "--resume", help="Resume this pipeline run: re-run only failed and unfinished steps."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Execute every step."),
    executor: str = typer.Option(
        "local", "--executor", "-e", help="local (this process), process or ray."
    ),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Run a pipeline (here, in child processes or on Ray); cached steps are reused."""
    from json import loads

    from loopml._cli._output import console, print_json
    from loopml._errors import InvalidInputError
    from loopml.pipelines._loader import load_pipeline, parse_params
    from loopml.pipelines._runner import run_pipeline

    params: dict[str, object] = {}
    if resume:
        from loopml._workspace import workspace

        store = workspace().store
        old = store.get_run(store.resolve_run_id(resume))
        source = old.tags.get("loopml.pipeline.target")
        if target is None:
            if not source:
                raise InvalidInputError(
                    f"run {resume} does not say which pipeline it ran; give the target too: "
                    f"loopml run FILE.py:name --resume {resume}"
                )
            target = source
        for key, text in old.params.items():
            try:
                params[key] = loads(text)
            except ValueError:
                params[key] = text
    if target is None:
        raise InvalidInputError("which pipeline? loopml run path/to/file.py:pipeline")
    pipeline = load_pipeline(target)
    params.update(parse_params(param, pipeline))
    import contextlib
    import sys

    # With --json, stdout holds only the JSON document: what steps print goes to stderr.
    quiet = contextlib.redirect_stdout(sys.stderr) if json else contextlib.nullcontext()
    with quiet:
        result = run_pipeline(
            pipeline,
            params,
            cache=False if no_cache else None,
            resume=resume,
            target=target,
            executor=executor,
        )
    if json:
        print_json(
            {
                "run_id": result.run_id,
                "status": result.status,
                "seconds": result.seconds,
                "steps": {
                    n: {"status": s.status, "run_id": s.run_id, "seconds": s.seconds}
                    for n, s in result.steps.items()
                },
            }
        )
        return
    out = console()
    for name, step in result.steps.items():
        colour = {"finished": "green", "cached": "cyan", "resumed": "cyan"}.get(step.status, "red")
        out.print(
            f"  [{colour}]{step.status:<8}[/] {name:<24} {step.seconds * 1000:8.0f} ms  "
            f"{(step.run_id or '')[:8]}"
        )
    out.print(
        f"[bold]{result.pipeline}[/] run {result.run_id[:8]} {result.status} in "
        f"{result.seconds:.2f} s ({len(result.cached_steps)} of {len(result.steps)} steps cached)"
    )


@cache_app.command("list")
def cache_list(
    step: str = typer.Option(None, "--step", "-s", help="Only this step (qualified name)."),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List cache entries, newest first."""
    from dataclasses import asdict

    from rich.table import Table

    from loopml._cli._output import console, fmt_time, print_json
    from loopml._workspace import workspace

    entries = workspace().store.list_cache_entries(step)
    if json:
        print_json([asdict(e) for e in entries])
        return
    if not entries:
        console().print("the cache is empty")
        return
    table = Table(box=None, header_style="bold")
    for column in ("key", "step", "run", "created", "hits", "last hit"):
        table.add_column(column, justify="right" if column == "hits" else "left")
    for e in entries:
        table.add_row(
            e.key[7:19],
            e.step,
            e.run_id[:8],
            fmt_time(e.created_at)[:16],
            str(e.hits),
            fmt_time(e.last_hit_at)[:16] if e.last_hit_at else "",
        )
    console().print(table)


@cache_app.command("clear")
def cache_clear(
    step: str = typer.Option(None, "--step", "-s", help="Only this step (qualified name)."),
) -> None:
    """Forget cache entries (the artifacts stay until `loopml gc`)."""
    from loopml._cli._output import console
    from loopml._workspace import workspace

    count = workspace().store.delete_cache_entries(step=step)
    console().print(f"removed {count} cache entr{'y' if count == 1 else 'ies'}")


def lineage(
    obj: str = typer.Argument(
        ..., help="A run id (prefix), an artifact digest (sha256:...) or a dataset name/VERSION."
    ),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Where an object came from and where it went: producers and consumers, both directions."""
    from loopml._cli._output import console, print_json
    from loopml.pipelines._lineage import lineage_of

    graph = lineage_of(obj)
    if json:
        print_json(graph)
        return
    out = console()
    out.print(f"[bold]{graph['object']}[/]")
    for section in ("upstream", "downstream"):
        items = graph[section]
        out.print(f"[bold]{section}[/] ({len(items)})")
        for item in items:
            out.print(f"  {item}")


def reproduce(
    run_id: str = typer.Argument(..., help="The pipeline run to reproduce."),
    allow_dirty: bool = typer.Option(
        False, "--allow-dirty", help="Run the code as it is now, even if it differs."
    ),
    json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Re-run a pipeline run (same code, parameters, seed; no cache) and compare its outputs."""
    import contextlib
    import sys

    from loopml._cli._output import console, print_json
    from loopml.pipelines._reproduce import reproduce as run_again

    quiet = contextlib.redirect_stdout(sys.stderr) if json else contextlib.nullcontext()
    with quiet:
        result = run_again(run_id, allow_dirty=allow_dirty)
    if json:
        print_json(
            {
                "original_run": result.original_run,
                "new_run": result.new_run,
                "matches": result.matches,
                "comparisons": [
                    {
                        "step": c.step,
                        "name": c.name,
                        "original": c.original,
                        "now": c.now,
                        "matches": c.matches,
                    }
                    for c in result.comparisons
                ],
            }
        )
    else:
        out = console()
        for c in result.comparisons:
            mark = "[green]same[/]" if c.matches else "[red]differs[/]"
            out.print(f"  {mark:<20} {c.step}.{c.name}")
        verdict = "reproduced exactly" if result.matches else "did NOT reproduce exactly"
        out.print(f"run {result.original_run[:8]} {verdict} by run {result.new_run[:8]}")
    if not result.matches:
        raise typer.Exit(1)


def agent(
    targets: list[str] = typer.Argument(..., help="The pipelines to watch: file.py:name ..."),
    poll: float = typer.Option(2.0, "--poll", min=0.1, help="Seconds between checks."),
    once: bool = typer.Option(False, "--once", help="Check once, run what is due, exit."),
) -> None:
    """Watch pipelines' triggers (schedules, new data, fired events) and run them."""
    from loopml._cli._output import console
    from loopml.pipelines._triggers import Agent

    out = console()
    worker = Agent(list(targets), report=lambda line: out.print(line, markup=False))
    if once:
        worker.tick()
        return
    worker.run_forever(poll)
