"""``loopml serve``: it loads every model before it binds, hands uvicorn the worker factory,
and (slow) a real server with two workers answers concurrent clients and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import loopml
from loopml.models import log_model
from loopml.serving import _main
from loopml.serving._app import Server
from tests.cli.conftest import Cli, one_line_error
from tests.serving._helpers import free_port, wait_ready


def passthrough(frame: pd.DataFrame) -> pd.DataFrame:
    """A step that makes a pipeline worth pickling (logged as ``pyfunc``)."""
    return frame


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, Pipeline]:
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return x, make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)


@pytest.fixture
def champion(project: Path, cancer: tuple[pd.DataFrame, Pipeline]) -> str:
    """``cancer`` version 1 in this project, as ``models:/cancer@champion``."""
    x, model = cancer
    loopml.init(project)
    version = log_model(model, "cancer", input_example=x.head(20))
    loopml.models.set_alias("cancer", "champion", version.version, force="tests serve it")
    return "models:/cancer@champion"


@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace ``uvicorn.run`` (nothing binds); the list gets each call's arguments."""
    import uvicorn

    calls: list[dict[str, Any]] = []

    def run(app: str, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs, "env": os.environ.get(_main.ENV)})

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv(_main.ENV, "unset")  # serve() sets it: restored after the test
    return calls


def test_serve_help_names_its_options(cli: Cli) -> None:
    result = cli("serve", "--help")

    assert result.code == 0, result.err
    for option in ("--host", "--port", "--workers", "--trusted", "models:/NAME@ALIAS"):
        assert option in result.out, option


def test_serve_hands_uvicorn_the_worker_factory_and_the_models(
    cli: Cli, champion: str, uvicorn_runs: list[dict[str, Any]], cancer: Any
) -> None:
    result = cli("serve", champion, "--host", "0.0.0.0", "--port", "9123", "--workers", "3")

    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert f"serving {champion} on http://0.0.0.0:9123 (3 worker(s))" in result.err
    [call] = uvicorn_runs
    assert call["app"] == "loopml.serving._main:create_app" and call["factory"] is True
    assert (call["host"], call["port"], call["workers"]) == ("0.0.0.0", 9123, 3)
    env = json.loads(call["env"])
    assert env.pop("state_file").endswith("desired.json")  # the workers' shared swap state
    assert env == {
        "models": [champion],
        "trusted": False,
        "max_in_flight": 256,
        "timeout_s": 30.0,
        "max_batch_size": 64,
        "max_batch_wait_ms": 0.0,
        "prediction_log": "async",
        "log_flush_s": 1.0,
    }
    server = _main.create_app()  # what each worker builds from the environment
    assert isinstance(server, Server)
    served = server.latest["cancer"]
    assert served.ready and served.version == "1"
    x, model = cancer
    np.testing.assert_array_equal(served.loaded.predict(x.head(5)), model.predict(x.head(5)))


def test_serving_an_unknown_model_fails_before_binding(
    cli: Cli, project: Path, uvicorn_runs: list[dict[str, Any]]
) -> None:
    loopml.init(project)

    result = cli("serve", "models:/fraud@champion", "--port", "9124")

    assert result.code == 1
    assert "Traceback" not in result.err + result.out
    assert result.err_lines[-1] == (
        "error: no registered model 'fraud'; list them with `loopml models list`"
    )
    assert uvicorn_runs == []


def test_serving_an_unknown_model_is_a_one_line_error(
    cli: Cli, project: Path, uvicorn_runs: list[dict[str, Any]]
) -> None:
    loopml.init(project)

    one_line_error(cli("serve", "models:/fraud@champion"), "'fraud'")


def test_a_pickled_model_is_served_only_with_trusted(
    cli: Cli,
    project: Path,
    cancer: tuple[pd.DataFrame, Pipeline],
    uvicorn_runs: list[dict[str, Any]],
) -> None:
    x, model = cancer
    loopml.init(project)
    pickled = make_pipeline(FunctionTransformer(passthrough), *[s for _, s in model.steps])
    uri = log_model(pickled, "pickled", input_example=x.head(5), flavor="pyfunc").uri

    refused = cli("serve", uri)
    served = cli("serve", uri, "--trusted")

    assert refused.code == 1 and "Traceback" not in refused.err
    assert "error: this model is a pickle" in refused.err
    assert served.code == 0, served.err
    [call] = uvicorn_runs
    env = json.loads(call["env"])
    assert env.pop("state_file").endswith("desired.json")  # the workers' shared swap state
    assert env == {
        "models": [uri],
        "trusted": True,
        "max_in_flight": 256,
        "timeout_s": 30.0,
        "max_batch_size": 64,
        "max_batch_wait_ms": 0.0,
        "prediction_log": "async",
        "log_flush_s": 1.0,
    }
    assert _main.create_app().latest["pickled"].ready


@pytest.mark.parametrize(
    "args",
    [["--port", "0"], ["--port", "70000"], ["--workers", "0"], ["--port", "http"]],
    ids=["port-0", "port-too-big", "no-workers", "port-text"],
)
def test_bad_options_are_usage_errors(
    cli: Cli, champion: str, uvicorn_runs: list[dict[str, Any]], args: list[str]
) -> None:
    result = cli("serve", champion, *args)

    assert result.code == 2 and "Traceback" not in result.err
    assert uvicorn_runs == []


def test_serve_needs_a_model(cli: Cli, uvicorn_runs: list[dict[str, Any]]) -> None:
    result = cli("serve")

    assert result.code == 2 and "Missing argument" in result.err
    assert uvicorn_runs == []


# -- a real server -----------------------------------------------------------------------------
@pytest.mark.slow
def test_a_real_server_answers_concurrent_clients_and_stops_on_sigterm(
    champion: str, project: Path, cancer: tuple[pd.DataFrame, Pipeline]
) -> None:
    import psutil

    x, model = cancer
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "loopml", "serve", champion, "--port", str(port), "--workers", "2"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(process, url)
        workers = psutil.Process(process.pid).children(recursive=True)

        def ask(i: int) -> tuple[int, list[int]]:
            rows = x.iloc[(i * 11) % 560 : (i * 11) % 560 + 1 + i % 4]
            with httpx.Client(base_url=url, timeout=30) as client:
                if i % 2:
                    body = {
                        "id": f"r{i}",
                        "inputs": [
                            {
                                "name": "rows",
                                "shape": list(rows.shape),
                                "datatype": "FP64",
                                "data": rows.to_numpy().tolist(),
                            }
                        ],
                    }
                    response = client.post("/v2/models/cancer/infer", json=body)
                    assert response.status_code == 200, response.text
                    assert response.json()["id"] == f"r{i}"
                    return i, response.json()["outputs"][0]["data"]
                body = {"dataframe_split": rows.to_dict(orient="split")}
                response = client.post("/invocations", json=body)
                assert response.status_code == 200, response.text
                return i, response.json()["predictions"]

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(ask, range(100)))

        for i, predictions in answers:
            rows = x.iloc[(i * 11) % 560 : (i * 11) % 560 + 1 + i % 4]
            assert predictions == model.predict(rows).tolist(), i
        bad = httpx.post(f"{url}/v2/models/cancer/infer", content=b"{", timeout=10)
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
        assert httpx.get(f"{url}/v2/health/ready", timeout=10).status_code == 200

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _, err = process.communicate()
    assert code in (0, -signal.SIGTERM), err.decode()
    assert b"Traceback" not in err, err.decode()
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == [] and len(gone) >= 2
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v2/health/live", timeout=2)
