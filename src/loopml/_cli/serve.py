"""``loopml serve``: the prediction server."""

from __future__ import annotations

import typer


def serve(
    models: list[str] = typer.Argument(
        ..., help="What to serve: models:/NAME@ALIAS, models:/NAME/VERSION or bundle folders."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="The address to listen on."),
    port: int = typer.Option(8080, "--port", "-p", min=1, max=65535),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes."),
    trusted: bool = typer.Option(
        False, "--trusted", help="Allow pickled (pyfunc) models: loading them runs code."
    ),
) -> None:
    """Serve models over the Open Inference Protocol (/v2) and MLflow's /invocations."""
    from loopml._cli._output import err_console
    from loopml.serving._main import serve as run

    def announce() -> None:  # once the models have loaded
        err_console().print(
            f"serving {', '.join(models)} on http://{host}:{port} ({workers} worker(s)); "
            "Ctrl-C stops",
            markup=False,
        )

    run(list(models), host=host, port=port, workers=workers, trusted=trusted, announce=announce)
