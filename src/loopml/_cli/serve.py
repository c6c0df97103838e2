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
    max_batch_size: int = typer.Option(
        64,
        "--max-batch-size",
        min=1,
        help="Rows predicted together when requests queue up (1 turns batching off).",
    ),
    max_batch_wait_ms: float = typer.Option(
        0.0,
        "--max-batch-wait-ms",
        min=0.0,
        help="Wait this long for more rows before predicting a batch (0: take what queued).",
    ),
    prediction_log: str = typer.Option(
        "async",
        "--prediction-log",
        help="async (written behind requests, fsynced every second), sync (an answer waits "
        "until it is on disk; about 40% of the throughput) or off.",
    ),
    log_flush_s: float = typer.Option(
        1.0,
        "--log-fsync-seconds",
        min=0.01,
        help="async log: fsync this often (what a machine crash may lose; a killed server "
        "loses at most ~0.1 s).",
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
        max_batch_size=max_batch_size,
        max_batch_wait_ms=max_batch_wait_ms,
        prediction_log=prediction_log,
        log_flush_s=log_flush_s,
    )


def swap(
    name: str = typer.Argument(..., help="The served model."),
    uri: str = typer.Argument(..., help="The version to serve: models:/NAME/V or @ALIAS."),
    server: str = typer.Option(
        "http://127.0.0.1:8080", "--server", help="The running `loopml serve`."
    ),
) -> None:
    """Switch a running server to another version of a model, with no failed request."""
    import json
    import urllib.error
    import urllib.request

    from loopml._cli._output import console
    from loopml._errors import InvalidInputError, StoreUnavailableError

    if not server.startswith(("http://", "https://")):
        raise InvalidInputError(f"--server {server!r} must be an http:// or https:// URL")
    request = urllib.request.Request(  # noqa: S310 - checked to be http(s) above
        f"{server.rstrip('/')}/v2/models/{name}/swap",
        data=json.dumps({"uri": uri}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", str(exc))
        except ValueError:
            message = str(exc)
        raise InvalidInputError(f"the server refused the swap: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise StoreUnavailableError(
            f"cannot reach the server at {server} ({exc}); is `loopml serve` running there?"
        ) from None
    console().print(f"{name} now serves version {answer['version']} ({answer['uri']})")
