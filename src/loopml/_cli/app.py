"""The ``loopml`` command: sub-commands, global options and error handling.

Exit codes: 0 success; 1 a loopml error (bad input, not found, conflict; ``doctor`` found a
problem); 2 a usage error (unknown option, missing argument); 3 the store cannot be reached;
4 a blob is missing or corrupt; 70 an unexpected internal error; 130 interrupted.
"""

from __future__ import annotations

import os
import sys

import typer

from loopml._version import __version__

app = typer.Typer(
    name="loopml",
    help=(
        "loopml: the whole machine-learning loop. Version and check data, track runs, run "
        "pipelines with caching and lineage, register and gate models."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_debug = {"on": os.environ.get("LOOPML_DEBUG", "") not in ("", "0")}


def _version(value: bool) -> None:
    if value:
        print(f"loopml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    if debug:
        _debug["on"] = True


def _register() -> None:
    from loopml._cli import (
        data,
        db,
        demo,
        doctor,
        experiments,
        export,
        gc,
        init,
        models,
        pipelines,
        predictions,
        runs,
        serve,
        triggers,
    )

    app.command("init")(init.init)
    app.add_typer(runs.app, name="runs")
    app.add_typer(data.app, name="data")
    app.command("experiments")(experiments.experiments)
    app.command("gc")(gc.gc)
    app.command("doctor")(doctor.doctor)
    app.add_typer(db.app, name="db")
    app.command("demo")(demo.demo)
    app.command("run")(pipelines.run)
    app.add_typer(pipelines.cache_app, name="cache")
    app.command("lineage")(pipelines.lineage)
    app.add_typer(export.app, name="export")
    app.command("reproduce")(pipelines.reproduce)
    app.command("agent")(pipelines.agent)
    app.add_typer(triggers.app, name="triggers")
    app.add_typer(models.app, name="models")
    app.add_typer(models.import_app, name="import")
    app.command("serve")(serve.serve)
    app.command("swap")(serve.swap)
    app.add_typer(predictions.app, name="predictions")
    app.command("feedback")(predictions.feedback)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turn errors into one line and an exit code.

    Typer (click) handles usage errors itself (exit 2) and ends with SystemExit; loopml's own
    errors surface here and become one red line.
    """
    from loopml._errors import LoopmlError

    if argv is None:
        argv = sys.argv[1:]
    if "--debug" in argv:
        # Accepted anywhere on the line, not only before the command.
        _debug["on"] = True
        argv = [arg for arg in argv if arg != "--debug"]
    try:
        app(args=argv, prog_name="loopml")
    except LoopmlError as exc:
        _report(exc, f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        _report(
            exc,
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in loopml; run again with --debug for the traceback and report it.",
        )
        sys.exit(70)


def _report(exc: BaseException, line: str) -> None:
    if _debug["on"]:
        import traceback

        traceback.print_exception(exc)
    from loopml._cli._output import err_console

    err_console().print(f"[red]{_escape(line)}[/]", soft_wrap=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
