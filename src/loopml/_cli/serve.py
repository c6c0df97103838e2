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
    max_in_flight: int = typer.Option(
        256, "--max-in-flight", min=1, help="Requests per model and worker; more get 503."
    ),
    timeout: float = typer.Option(
        30.0, "--timeout", min=0.001, help="Seconds a prediction may take; then 504."
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

    run(
        list(models),
        host=host,
        port=port,
        workers=workers,
        trusted=trusted,
        announce=announce,
        max_in_flight=max_in_flight,
        timeout_s=timeout,
    )
