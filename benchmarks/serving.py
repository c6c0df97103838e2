"""Benchmark loopml's prediction server against MLflow, MLServer and a bare Starlette app.

Usage (from the repo root):

    .venv/bin/python benchmarks/serving.py [--repeat N] [--seconds S] [--quick] [--json]
                                           [--skip mlflow,mlserver,ceiling] [--verbose]

One run starts every server in turn on the same model, ``LogisticRegression(max_iter=5000)``
fitted on scikit-learn's breast-cancer table (a DataFrame with the 30 named columns), and
drives it with ``wrk -t2 -c16 -d{S}s --latency`` posting one fixed one-row body (the Lua script
of docs/design/serving.md, section 3). Every server that has workers gets 2:

1. MLflow 3.17.2, ``mlflow models serve --env-manager local -w 2`` from benchmarks/.venvs/mlflow
   (the venv benchmarks/models.py makes; the model saved there with ``mlflow.sklearn.save_model``
   and a signature), MLflow's ``dataframe_split`` JSON to ``/invocations``. As ``pip install
   mlflow`` ships it: uvicorn on the asyncio loop with h11 (no uvloop in that venv).
2. MLServer 1.7.1 + mlserver-sklearn (benchmarks/.venvs/mlserver, ``uvloop<0.22``: MLServer dies
   at start on uvloop 0.23), the model as ``model.joblib``, V2 JSON (one FP64 input [1, 30]).
   Default settings (``parallel_workers`` 1: one HTTP process plus one inference process; only
   ``debug`` off and the ports set), the same with ``parallel_workers`` 2 (information: loopml's
   worker count), and with adaptive batching (``max_batch_size`` 64, ``max_batch_time`` 1 ms).
3. The ceiling: a bare Starlette app on ``uvicorn --workers 2 --loop uvloop --http httptools``
   (benchmarks/.venvs/starlette) that parses the V2 body with orjson, ``np.asarray(...)
   .reshape(shape)``, calls ``model.predict`` and answers V2 JSON. It is this file's
   ``ceiling_app`` factory.
4. loopml, ``python -m loopml serve models:/cancer/1 --workers 2`` from the repo's .venv in a
   fresh workspace where ``loopml.log_model(model, "cancer", input_example=X.head(5))`` stored
   the model: V2 JSON and ``dataframe_split`` with the prediction log on (the default), V2 with
   ``--prediction-log off`` and ``sync`` (information: what sync mode costs), and V2 at 64
   connections with batching (the default) and with
   ``--max-batch-size 1``. A flag ``loopml serve --help`` does not list is skipped ("not
   available").

Each start is polled until ready, checked with one request (status 200 and the expected
prediction), warmed up with 1 s of wrk, then measured; the servers are started and stopped in
turn, interleaved over ``--repeat`` rounds (the order rotates each round), and the medians are
compared. Beside req/s and p99 the table gives the server's CPU time per response (user +
system time of the server's whole process tree, from psutil, over the measured wrk run / the
responses wrk counted): it moves far less than req/s on a shared machine. A non-2xx response
or a socket error in any measured run is an error. Targets (issue 6):

* loopml V2 and ``dataframe_split`` (log on): >= 10x MLflow's req/s, >= 2x MLServer's default,
  p99 <= MLServer's;
* loopml V2 (log on) >= 80% of the bare Starlette ceiling;
* batching at 64 connections >= 1.5x ``--max-batch-size 1``;
* the prediction log costs <= 10% of the throughput (V2, log on vs off).

This file imports only the standard library at module level: it is also the child program
(``--child TASK PARAMS``) of the other venvs and the ceiling app uvicorn imports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness
from _harness import say

SCRIPT = Path(__file__).resolve()
BENCH = SCRIPT.parent
ROOT = BENCH.parent
LOOPML_PY = ROOT / ".venv" / "bin" / "python"
VENVS = BENCH / ".venvs"
MLFLOW_VENV = VENVS / "mlflow"
MLSERVER_VENV = VENVS / "mlserver"
STARLETTE_VENV = VENVS / "starlette"
MLSERVER_PINS = ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22")
STARLETTE_PINS = ("starlette", "uvicorn[standard]", "orjson", "numpy", "joblib")

ROW = 7  # the row every request sends
MODEL_NAME = "cancer"
WORKERS = 2
READY_TIMEOUT_S = 180.0

MLFLOW_TARGET = 10.0
MLSERVER_TARGET = 2.0
CEILING_TARGET = 0.8
BATCH_TARGET = 1.5
LOG_COST_TARGET = 0.10

WRK_LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CT") or "application/json"
local f = io.open(os.getenv("BODY"), "rb"); wrk.body = f:read("*a"); f:close()
"""


# --------------------------------------------------------------------------
# Child side (run in the other venvs) and the ceiling app
# --------------------------------------------------------------------------


def _fit() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return x, LogisticRegression(max_iter=5000).fit(x, y)


def child_prepare(params: dict[str, Any]) -> None:
    """In the repo's venv: fit the model, write it and the request bodies, log it to loopml."""
    import joblib
    import sklearn

    import loopml

    work = Path(params["work"])
    x, model = _fit()
    joblib.dump(model, work / "model.joblib")
    row = x.iloc[[ROW]]
    values = [float(v) for v in row.to_numpy(dtype="float64")[0]]
    v2 = {"inputs": [{"name": "input-0", "shape": [1, 30], "datatype": "FP64", "data": values}]}
    split = {"dataframe_split": {"columns": [str(c) for c in x.columns], "data": [values]}}
    (work / "v2.json").write_text(json.dumps(v2))
    (work / "split.json").write_text(json.dumps(split))
    ws = work / "loopml-ws"
    ws.mkdir()
    os.chdir(ws)
    loopml.init(ws)
    version = loopml.log_model(model, MODEL_NAME, input_example=x.head(5))
    _harness.emit(
        {
            "expected": int(model.predict(row)[0]),
            "sklearn": sklearn.__version__,
            "loopml": loopml.__version__,
            "model_version": str(version.version),
        }
    )


def child_mlflow_save(params: dict[str, Any]) -> None:
    """In MLflow's venv: save the same model as an MLflow model with a signature."""
    import mlflow
    import mlflow.sklearn
    import sklearn
    from mlflow.models import infer_signature

    if sklearn.__version__ == params["sklearn"]:
        import joblib
        from sklearn.datasets import load_breast_cancer

        x, _ = load_breast_cancer(return_X_y=True, as_frame=True)
        model, how = joblib.load(params["model"]), "the same model.joblib"
    else:  # another scikit-learn: fit again (lbfgs is deterministic: the same coefficients)
        x, model = _fit()
        how = f"refitted with scikit-learn {sklearn.__version__}"
    mlflow.sklearn.save_model(
        model,
        params["dir"],
        signature=infer_signature(x, model.predict(x)),
        input_example=x.head(5),
    )
    _harness.emit({"how": how, "sklearn": sklearn.__version__})


def ceiling_app() -> Any:
    """The bare ceiling (a uvicorn factory): Starlette, orjson, ``model.predict`` inline."""
    import joblib
    import numpy as np
    import orjson
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    model = joblib.load(os.environ["BENCH_MODEL"])
    # Fitted on a DataFrame, the model warns on every ndarray predict; loopml's server drops
    # the names the same way once it has checked the columns itself.
    if hasattr(model, "feature_names_in_"):
        del model.feature_names_in_

    async def infer(request: Request) -> Response:
        doc = orjson.loads(await request.body())
        tensor = doc["inputs"][0]
        x = np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
        y = model.predict(x)
        out = {
            "model_name": request.path_params["name"],
            "outputs": [
                {"name": "predict", "shape": [len(y)], "datatype": "INT64", "data": y.tolist()}
            ],
        }
        return Response(orjson.dumps(out), media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(
        routes=[
            Route("/v2/models/{name}/infer", infer, methods=["POST"]),
            Route("/v2/health/ready", ready),
        ]
    )


# --------------------------------------------------------------------------
# Parent side: servers
# --------------------------------------------------------------------------


@dataclass
class Load:
    """One wrk measurement on a running server."""

    key: str
    label: str
    path: str
    body: str  # "v2" or "split"
    connections: int


@dataclass
class Spec:
    """A server configuration: how to start it and what to measure on it."""

    key: str
    family: str  # mlflow, mlserver, ceiling, loopml
    label: str
    start: Callable[[int, Path], tuple[list[str], Path, dict[str, str]]]  # (port, work folder)
    ready_path: str
    loads: list[Load]
    unavailable: str | None = None


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    log: Path
    port: int


_RUNNING: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(venv: Path | None = None, **values: str) -> dict[str, str]:
    env = _harness.child_env(
        (
            "LOOPML_URI",
            "MLFLOW_TRACKING_URI",
            "MLFLOW_REGISTRY_URI",
            "PYTHONPATH",
            "PYTHONDONTWRITEBYTECODE",
            "PROMETHEUS_MULTIPROC_DIR",
        ),
        MLFLOW_ENABLE_TELEMETRY="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="1",
    )
    env.update(values)
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv)
    return env


def start_server(spec: Spec, work: Path, verbose: bool) -> Running:
    port = free_port()
    cmd, cwd, env = spec.start(port, work)
    log = work / "logs" / f"{spec.key}-{time.time_ns()}.log"
    log.parent.mkdir(exist_ok=True)
    if verbose:
        say(f"    $ {' '.join(cmd)}  (in {cwd})")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _RUNNING.append(proc)
    return Running(proc, log, port)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's whole process group (its own session), SIGKILL after 15 s."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        proc.poll()  # reap the leader, or the group stays "alive" as a zombie
        if not _group_alive(proc.pid):
            break
        os.killpg(proc.pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            if not _group_alive(proc.pid):
                break
            time.sleep(0.1)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        say(f"process {proc.pid} did not exit after SIGKILL")
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def stop_all() -> None:
    for proc in list(_RUNNING):
        try:
            stop_server(proc)
        except Exception as exc:  # keep stopping the others
            say(f"could not stop process group {proc.pid}: {exc}")


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def http(
    url: str, body: bytes | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:  # (status, body)
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json"} if body is not None else {},
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def wait_ready(running: Running, path: str, timeout: float) -> float:
    t0 = time.perf_counter()
    url = f"http://127.0.0.1:{running.port}{path}"
    while time.perf_counter() - t0 < timeout:
        if running.proc.poll() is not None:
            raise RuntimeError(
                f"the server exited with {running.proc.returncode} before it was ready:\n"
                + log_tail(running.log)
            )
        try:
            status, _ = http(url, timeout=2.0)
            if status == 200:
                return time.perf_counter() - t0
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"not ready after {timeout:.0f} s:\n" + log_tail(running.log))


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [v for item in value for v in _flat(item)]
    if isinstance(value, dict):  # MLflow may answer [{"predict": ...}] for named outputs
        return [v for item in value.values() for v in _flat(item)]
    return [value]


def check_answer(running: Running, load: Load, body: bytes, expected: int) -> str | None:
    """One request: None if the answer is 200 with the expected prediction, else why not."""
    try:
        status, answer = http(f"http://127.0.0.1:{running.port}{load.path}", body)
    except (OSError, urllib.error.URLError) as exc:
        return f"no answer: {exc}"
    shown = answer[:300].decode(errors="replace")
    if status != 200:
        return f"status {status}: {shown}"
    try:
        doc = json.loads(answer)
        if load.body == "split":
            got = _flat(doc["predictions"])
        else:
            outputs = doc["outputs"]
            chosen = next((o for o in outputs if o.get("name") == "predict"), outputs[0])
            got = _flat(chosen["data"])
    except (ValueError, KeyError, IndexError, TypeError):
        return f"no prediction in the answer: {shown}"
    if len(got) != 1 or int(got[0]) != expected:
        return f"predicted {got}, expected [{expected}]: {shown}"
    return None


# --------------------------------------------------------------------------
# Parent side: wrk and CPU
# --------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def parse_wrk(text: str) -> dict[str, Any]:
    def latency(pct: str) -> float | None:
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.MULTILINE)
        return float(m.group(1)) * _UNITS[m.group(2)] if m else None

    u = r"([\d.]+)(us|ms|s|m|h)"
    stats = re.search(rf"^\s*Latency\s+{u}\s+{u}\s+{u}", text, re.MULTILINE)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    requests = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if rps is None or requests is None:
        raise RuntimeError("cannot read wrk's output:\n" + text)
    return {
        "rps": float(rps.group(1)),
        "requests": int(requests.group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "max_ms": float(stats.group(5)) * _UNITS[stats.group(6)] if stats else None,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "socket_errors_detail": errors.group(0) if errors else "",
    }


def run_wrk(url: str, body: Path, connections: int, seconds: int, lua: Path) -> dict[str, Any]:
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(lua),
        url,
    ]
    env = dict(os.environ, BODY=str(body), CT="application/json")
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr}{out.stdout}")
    result = parse_wrk(out.stdout)
    result["wrk_output"] = out.stdout
    return result


def batch_stats(port: int) -> tuple[float, float] | None:
    """loopml's ``loopml_batch_size`` histogram (rows, batches) over all workers, from
    ``/metrics``; None if the server does not export it."""
    try:
        status, text = http(f"http://127.0.0.1:{port}/metrics", timeout=5.0)
    except (OSError, urllib.error.URLError):
        return None
    if status != 200:
        return None
    totals = {"sum": 0.0, "count": 0.0}
    found = False
    for line in text.decode(errors="replace").splitlines():
        m = re.match(r"loopml_batch_size_(sum|count)(?:\{[^}]*\})?\s+([0-9.eE+-]+)$", line)
        if m:
            totals[m.group(1)] += float(m.group(2))
            found = True
    return (totals["sum"], totals["count"]) if found else None


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and all its descendants still alive."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


# --------------------------------------------------------------------------
# Parent side: set-up
# --------------------------------------------------------------------------


def ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        say("installing wrk (apt-get) ...")
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
        if subprocess.run(cmd, stdout=sys.stderr, check=False).returncode != 0:
            subprocess.run(["apt-get", "update"], stdout=sys.stderr, check=True)
            subprocess.run(cmd, stdout=sys.stderr, check=True)


def venv_versions(python: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m, sys\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    out = subprocess.run(
        [str(python), "-c", code, *names], capture_output=True, text=True, check=False
    )
    try:
        return dict(json.loads(out.stdout))
    except ValueError:
        return {}


def loopml_flags() -> dict[str, bool]:
    """Which of the flags this benchmark needs ``loopml serve --help`` lists now."""
    out = subprocess.run(
        [str(LOOPML_PY), "-m", "loopml", "serve", "--help"],
        capture_output=True,
        text=True,
        env=env_for(COLUMNS="250", TERM="dumb", NO_COLOR="1"),
        check=False,
    )
    text = out.stdout + out.stderr
    return {
        flag: re.search(rf"{re.escape(flag)}\b", text) is not None
        for flag in ("--max-batch-size", "--max-batch-wait-ms", "--prediction-log")
    }


def mlserver_folder(work: Path, key: str, model: dict[str, Any]) -> Path:
    folder = work / key
    folder.mkdir(exist_ok=True)
    shutil.copy(work / "model.joblib", folder / "model.joblib")
    doc = {
        "name": MODEL_NAME,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"},
        **model,
    }
    (folder / "model-settings.json").write_text(json.dumps(doc, indent=2))
    return folder


Starter = Callable[[int, Path], tuple[list[str], Path, dict[str, str]]]


def start_mlflow(port: int, work: Path) -> tuple[list[str], Path, dict[str, str]]:
    model = work / "mlflow-model"
    args = f"models serve -m {model} --env-manager local -h 127.0.0.1 -p {port} -w {WORKERS}"
    return [str(MLFLOW_VENV / "bin" / "mlflow"), *args.split()], work, env_for(MLFLOW_VENV)


def mlserver_starter(key: str, settings: dict[str, Any], model: dict[str, Any]) -> Starter:
    def start(port: int, work: Path) -> tuple[list[str], Path, dict[str, str]]:
        folder = mlserver_folder(work, key, model)
        doc = {
            "debug": False,  # the default, True, logs every request
            "host": "127.0.0.1",
            "http_port": port,
            "grpc_port": free_port(),
            "metrics_port": free_port(),
            **settings,
        }
        (folder / "settings.json").write_text(json.dumps(doc, indent=2))
        return (
            [str(MLSERVER_VENV / "bin" / "mlserver"), "start", "."],
            folder,
            env_for(MLSERVER_VENV),
        )

    return start


def start_ceiling(port: int, work: Path) -> tuple[list[str], Path, dict[str, str]]:
    args = (
        f"-m uvicorn serving:ceiling_app --factory --app-dir {BENCH} --host 127.0.0.1 "
        f"--port {port} --workers {WORKERS} --loop uvloop --http httptools --no-access-log "
        "--log-level warning"
    )
    env = env_for(STARLETTE_VENV, BENCH_MODEL=str(work / "model.joblib"))
    return [str(STARLETTE_VENV / "bin" / "python"), *args.split()], work, env


def loopml_starter(extra: list[str]) -> Starter:
    def start(port: int, work: Path) -> tuple[list[str], Path, dict[str, str]]:
        args = f"-m loopml serve models:/{MODEL_NAME}/1 --port {port} --workers {WORKERS}"
        return [str(LOOPML_PY), *args.split(), *extra], work / "loopml-ws", env_for()

    return start


def make_specs(flags: dict[str, bool], skip: set[str]) -> list[Spec]:
    v2, ready = f"/v2/models/{MODEL_NAME}/infer", "/v2/health/ready"
    specs: list[Spec] = []
    if "mlflow" not in skip:
        load = Load("mlflow", "MLflow, dataframe_split", "/invocations", "split", 16)
        specs.append(
            Spec("mlflow", "mlflow", "MLflow models serve -w 2", start_mlflow, "/ping", [load])
        )
    if "mlserver" not in skip:
        batching = {"max_batch_size": 64, "max_batch_time": 0.001}
        for key, label, settings, model in (
            ("mlserver", "MLServer, default", {}, {}),
            ("mlserver_pw2", "MLServer, parallel_workers 2", {"parallel_workers": 2}, {}),
            ("mlserver_batch", "MLServer, batching 64 / 1 ms", {}, batching),
        ):
            start = mlserver_starter(key, settings, model)
            load = Load(key, label + ", V2", v2, "v2", 16)
            specs.append(Spec(key, "mlserver", label, start, ready, [load]))
    if "ceiling" not in skip:
        label = "bare Starlette + uvicorn -w 2 (uvloop, httptools, orjson)"
        load = Load("ceiling", "ceiling: bare Starlette, V2", v2, "v2", 16)
        specs.append(Spec("ceiling", "ceiling", label, start_ceiling, ready, [load]))
    loads = [
        Load("loopml_v2", "loopml, V2, log on", v2, "v2", 16),
        Load("loopml_split", "loopml, dataframe_split, log on", "/invocations", "split", 16),
        Load("loopml_v2_c64", "loopml, V2, batching (default)", v2, "v2", 64),
    ]
    start = loopml_starter([])
    specs.append(Spec("loopml", "loopml", "loopml serve -w 2 (defaults)", start, ready, loads))
    for key, flag, value, load in (
        (
            "loopml_nolog",
            "--prediction-log",
            "off",
            Load("loopml_v2_nolog", "loopml, V2, log off", v2, "v2", 16),
        ),
        (
            "loopml_sync",
            "--prediction-log",
            "sync",
            Load("loopml_v2_sync", "loopml, V2, log sync (info)", v2, "v2", 16),
        ),
        (
            "loopml_nobatch",
            "--max-batch-size",
            "1",
            Load(
                "loopml_v2_c64_nobatch",
                "loopml, V2, --max-batch-size 1",
                v2,
                "v2",
                64,
            ),
        ),
    ):
        missing = None if flags[flag] else f"not available: loopml serve has no {flag} yet"
        label = f"loopml serve -w 2 {flag} {value}"
        start = loopml_starter([flag, value])
        specs.append(Spec(key, "loopml", label, start, ready, [load], missing))
    return specs


# --------------------------------------------------------------------------
# Parent side: the run
# --------------------------------------------------------------------------


@dataclass
class Results:
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    starts: dict[str, list[float]] = field(default_factory=dict)


def measure_server(
    spec: Spec,
    work: Path,
    expected: int,
    seconds: int,
    lua: Path,
    results: Results,
    round_no: int,
    verbose: bool,
) -> None:
    say(f"  {spec.label} ...")
    running = start_server(spec, work, verbose)
    try:
        try:
            ready_s = wait_ready(running, spec.ready_path, READY_TIMEOUT_S)
        except RuntimeError as exc:
            results.errors.append(f"round {round_no}: {spec.label}: {exc}")
            say(f"    FAILED to start: {exc}")
            return
        results.starts.setdefault(spec.key, []).append(ready_s)
        for load in spec.loads:
            body = work / f"{load.body}.json"
            problem = check_answer(running, load, body.read_bytes(), expected)
            if problem is not None:
                results.errors.append(f"round {round_no}: {load.label}: wrong answer: {problem}")
                say(f"    {load.label}: wrong answer: {problem}")
                continue
            url = f"http://127.0.0.1:{running.port}{load.path}"
            try:
                run_wrk(url, body, load.connections, 1, lua)  # warm-up
                batches0 = batch_stats(running.port) if spec.family == "loopml" else None
                cpu0 = tree_cpu_s(running.proc.pid)
                result = run_wrk(url, body, load.connections, seconds, lua)
                cpu1 = tree_cpu_s(running.proc.pid)
                batches1 = batch_stats(running.port) if spec.family == "loopml" else None
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                results.errors.append(f"round {round_no}: {load.label}: {exc}")
                say(f"    {load.label}: wrk failed: {exc}")
                continue
            responses = max(result["requests"], 1)
            result["cpu_us_per_request"] = (cpu1 - cpu0) / responses * 1e6
            result["mean_batch_rows"] = None
            if batches0 is not None and batches1 is not None and batches1[1] > batches0[1]:
                rows, count = batches1[0] - batches0[0], batches1[1] - batches0[1]
                result["mean_batch_rows"] = rows / count
            result["round"] = round_no
            if verbose:
                say(result["wrk_output"])
            output = result.pop("wrk_output")
            if result["non2xx"] or result["socket_errors"]:
                results.errors.append(
                    f"round {round_no}: {load.label}: {result['non2xx']} non-2xx responses, "
                    f"{result['socket_errors_detail'] or '0 socket errors'}"
                )
                if not verbose:
                    say(output)
            results.runs.setdefault(load.key, []).append(result)
            p99 = result["p99_ms"]
            say(
                f"    {load.label}: {result['rps']:,.0f} req/s, p99 "
                f"{'-' if p99 is None else f'{p99:.1f} ms'}, "
                f"{result['cpu_us_per_request']:.0f} us CPU/request"
                + (f", {result['non2xx']} non-2xx" if result["non2xx"] else "")
                + (f", socket errors {result['socket_errors']}" if result["socket_errors"] else "")
            )
    finally:
        stop_server(running.proc)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return float(statistics.median(values)) if values else None

    return {
        "rps": med("rps"),
        "p50_ms": med("p50_ms"),
        "p99_ms": med("p99_ms"),
        "max_ms": max((r["max_ms"] for r in runs if r.get("max_ms") is not None), default=None),
        "cpu_us_per_request": med("cpu_us_per_request"),
        "non2xx": sum(r["non2xx"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "rounds": [round(r["rps"], 1) for r in runs],
        "rounds_p99_ms": [r["p99_ms"] for r in runs],
        "rounds_max_ms": [r["max_ms"] for r in runs],
        "rounds_cpu_us": [round(r["cpu_us_per_request"], 1) for r in runs],
        "mean_batch_rows": med("mean_batch_rows"),
    }


def targets(figures: dict[str, dict[str, Any]], notes: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def fig(key: str) -> dict[str, Any] | None:
        return figures.get(key)

    def add(
        name: str,
        keys: tuple[str, str],
        value: Callable[[dict[str, Any], dict[str, Any]], float | None],
        shown: Callable[[float], str],
        target: str,
        ok: Callable[[float], bool],
        by_cpu: bool = True,
    ) -> None:
        a, b = fig(keys[0]), fig(keys[1])
        missing = [k for k, f in zip(keys, (a, b), strict=True) if f is None]
        if a is None or b is None:
            why = "; ".join(notes.get(k, f"{k}: no measurement") for k in missing)
            out.append(
                {
                    "target": name,
                    "measured": "-",
                    "by_cpu": "-",
                    "goal": target,
                    "passed": None,
                    "why": why,
                }
            )
            return
        v = value(a, b)
        clean = all(f["non2xx"] == 0 and f["socket_errors"] == 0 for f in (a, b))
        passed = v is not None and ok(v) and clean
        # The same ratio from CPU time per request (throughput ~ 1 / CPU): information.
        cpu = None
        if by_cpu and a["cpu_us_per_request"] and b["cpu_us_per_request"]:
            cpu = value(
                {"rps": 1e6 / a["cpu_us_per_request"]}, {"rps": 1e6 / b["cpu_us_per_request"]}
            )
        out.append(
            {
                "target": name,
                "value": v,
                "measured": "-" if v is None else shown(v),
                "by_cpu_value": cpu,
                "by_cpu": "-" if cpu is None else shown(cpu),
                "goal": target,
                "passed": passed,
                "why": "" if clean else "errors in the measured runs",
            }
        )

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
        return a["rps"] / b["rps"] if a["rps"] and b["rps"] else None

    def times(v: float) -> str:
        return f"{v:.1f}x" if v >= 1.95 else f"{v:.2f}x"

    for key, label in (("loopml_v2", "V2 JSON"), ("loopml_split", "dataframe_split")):
        add(
            f"loopml {label} (log on) vs MLflow: req/s",
            (key, "mlflow"),
            ratio,
            times,
            f">= {MLFLOW_TARGET:.0f}x",
            lambda v: v >= MLFLOW_TARGET,
        )
        add(
            f"loopml {label} (log on) vs MLServer default: req/s",
            (key, "mlserver"),
            ratio,
            times,
            f">= {MLSERVER_TARGET:.0f}x",
            lambda v: v >= MLSERVER_TARGET,
        )
        add(
            f"loopml {label} (log on) vs MLServer default: p99",
            (key, "mlserver"),
            lambda a, b: a["p99_ms"] / b["p99_ms"] if a["p99_ms"] and b["p99_ms"] else None,
            lambda v: f"{v:.2f}x of MLServer's p99",
            "<= 1.00x",
            lambda v: v <= 1.0,
            by_cpu=False,
        )
    add(
        "loopml V2 (log on) vs bare Starlette ceiling: req/s",
        ("loopml_v2", "ceiling"),
        ratio,
        lambda v: f"{v * 100:.0f}%",
        f">= {CEILING_TARGET * 100:.0f}%",
        lambda v: v >= CEILING_TARGET,
    )
    add(
        "loopml batching vs --max-batch-size 1, 64 connections: req/s",
        ("loopml_v2_c64", "loopml_v2_c64_nobatch"),
        ratio,
        times,
        f">= {BATCH_TARGET}x",
        lambda v: v >= BATCH_TARGET,
    )
    add(
        "prediction log cost (V2, log on vs off): req/s lost",
        ("loopml_v2", "loopml_v2_nolog"),
        lambda a, b: 1.0 - a["rps"] / b["rps"] if b["rps"] else None,
        lambda v: f"{v * 100:.1f}%",
        f"<= {LOG_COST_TARGET * 100:.0f}%",
        lambda v: v <= LOG_COST_TARGET,
    )
    return out


def run_all(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    ensure_wrk()
    say("preparing the model, the request bodies and the loopml workspace ...")
    prepared = _harness.run_child(
        [str(LOOPML_PY), str(SCRIPT), "--child", "prepare", json.dumps({"work": str(work)})],
        work,
        env_for(),
        args.verbose,
    )
    expected = int(prepared["expected"])
    sklearn_version = str(prepared["sklearn"])
    versions: dict[str, Any] = {"loopml": prepared["loopml"], "scikit-learn": sklearn_version}
    venvs = [(LOOPML_PY, "loopml venv", ["uvicorn", "uvloop", "httptools"])]
    mlflow_model = "-"
    if "mlflow" not in skip:
        import models  # benchmarks/models.py: the MLflow venv it makes

        models.ensure_mlflow()
        python = MLFLOW_VENV / "bin" / "python"
        params = {
            "model": str(work / "model.joblib"),
            "dir": str(work / "mlflow-model"),
            "sklearn": sklearn_version,
        }
        cmd = [str(python), str(SCRIPT), "--child", "mlflow-save", json.dumps(params)]
        mlflow_model = _harness.run_child(cmd, work, env_for(MLFLOW_VENV), args.verbose)["how"]
        venvs.append((python, "MLflow venv", ["mlflow", "uvicorn", "uvloop", "httptools"]))
    sk_pin = f"scikit-learn=={sklearn_version}"
    sk_probe = f"import sklearn; assert sklearn.__version__ == {sklearn_version!r}"
    if "mlserver" not in skip:
        python = _harness.ensure_venv(
            MLSERVER_VENV,
            [*MLSERVER_PINS, sk_pin],
            f"import mlserver, mlserver_sklearn; {sk_probe}",
            what="MLServer 1.7.1 + mlserver-sklearn",
            takes="about two minutes",
        )
        names = ["mlserver", "mlserver-sklearn", "uvicorn", "uvloop", "httptools"]
        venvs.append((python, "MLServer venv", names))
    if "ceiling" not in skip:
        python = _harness.ensure_venv(
            STARLETTE_VENV,
            [*STARLETTE_PINS, sk_pin],
            f"import starlette, uvicorn, uvloop, httptools, orjson, joblib; {sk_probe}",
            what="Starlette + uvicorn[standard] + orjson",
            takes="about a minute",
        )
        names = ["starlette", "uvicorn", "uvloop", "httptools", "orjson"]
        venvs.append((python, "ceiling venv", names))
    for python, where, names in venvs:
        found = venv_versions(python, names)
        versions.update({f"{k} ({where})": found.get(k, "absent") for k in names})
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    wrk_version = re.search(r"wrk (?:debian/)?(\S+)", wrk_v.stdout + wrk_v.stderr)
    versions["wrk"] = wrk_version.group(1) if wrk_version else "?"
    load_start = os.getloadavg()

    flags = loopml_flags()
    specs = make_specs(flags, skip)
    notes: dict[str, str] = {}
    for spec in specs:
        if spec.unavailable:
            say(f"{spec.label}: {spec.unavailable}; skipped")
            for load in spec.loads:
                notes[load.key] = spec.unavailable
    active = [s for s in specs if not s.unavailable]
    lua = work / "post.lua"
    lua.write_text(WRK_LUA)

    results = Results()
    for i in range(args.repeat):
        say(f"round {i + 1}/{args.repeat} ...")
        shift = i % len(active)
        for spec in active[shift:] + active[:shift]:
            measure_server(spec, work, expected, args.seconds, lua, results, i + 1, args.verbose)

    labels = {load.key: load.label for spec in specs for load in spec.loads}
    conns = {load.key: load.connections for spec in specs for load in spec.loads}
    figures = {key: summarize(runs) for key, runs in results.runs.items()}
    for key, f in figures.items():
        f["label"], f["connections"] = labels[key], conns[key]
    checked = targets(figures, notes)
    passed = not results.errors and all(t["passed"] is True for t in checked)
    return {
        "settings": {
            "repeat": args.repeat,
            "seconds": args.seconds,
            "wrk": "wrk -t2 -c{16|64} -d{seconds}s --latency -s post.lua",
            "workers": WORKERS,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "row": ROW,
            "skipped": sorted(skip),
            "mlflow_model": mlflow_model,
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": versions,
        "loopml_flags": flags,
        "unavailable": notes,
        "labels": labels,
        "connections": conns,
        "figures": {k: figures[k] for k in labels if k in figures},
        "order": [k for k in labels if k in figures],
        "starts_s": {k: [round(s, 2) for s in v] for k, v in results.starts.items()},
        "targets": checked,
        "errors": results.errors,
        "passed": passed,
        "runs": results.runs,
    }


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped: don't squeeze the tables into 80 columns
        console = Console(width=220)
    s = report["settings"]
    console.print(
        f"[bold]serving benchmark[/] (Python {s['python']}, {s['cpus']} CPUs; "
        f"{s['workers']} workers per server; wrk {s['seconds']} s per measurement; "
        + (f"median of {s['repeat']} interleaved rounds)" if s["repeat"] > 1 else "one round)")
    )
    console.print(", ".join(f"{k} {v}" for k, v in report["versions"].items()), markup=False)
    console.print(
        f"MLflow's model: {s['mlflow_model']}; load average at start "
        f"{s['load_average_start']}, at end {s['load_average_end']}",
        markup=False,
    )

    t = Table(title="one-row requests (LogisticRegression on breast cancer, 30 columns)")
    for h in ("configuration", "conns", "req/s", "rounds", "p50", "p99", "rounds (ms)", "max",
              "CPU/req", "rounds (us)", "rows/batch", "non-2xx", "socket err"):  # fmt: skip
        t.add_column(h, justify="left" if h == "configuration" else "right")

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f} ms" if v >= 1 else f"{v * 1000:.0f} us"

    for key in report["order"]:
        f = report["figures"][key]
        errors = f["non2xx"] or f["socket_errors"]
        t.add_row(
            f["label"],
            str(f["connections"]),
            f"{f['rps']:,.0f}",
            " / ".join(f"{r:,.0f}" for r in f["rounds"]),
            ms(f["p50_ms"]),
            ms(f["p99_ms"]),
            " / ".join("-" if v is None else f"{v:.1f}" for v in f["rounds_p99_ms"]),
            ms(f["max_ms"]),
            f"{f['cpu_us_per_request']:,.0f} us",
            " / ".join(f"{v:,.0f}" for v in f["rounds_cpu_us"]),
            "-" if f.get("mean_batch_rows") is None else f"{f['mean_batch_rows']:.1f}",
            ("[bold red]" if errors else "") + str(f["non2xx"]),
            ("[bold red]" if errors else "") + str(f["socket_errors"]),
        )
    for key, note in report["unavailable"].items():
        row = [report["labels"][key], str(report["connections"][key]), "-"]
        t.add_row(*row, f"[yellow]{note}[/]", *[""] * 9)
    console.print(t)

    t = Table(title="issue 6 targets (ratios of the medians)")
    for h in ("target", "measured", "goal", "result", "same from CPU/request (info)"):
        t.add_column(h, justify="left" if h in ("target", "goal", "result") else "right")
    verdicts = {True: "[green]PASS[/]", False: "[bold red]FAIL[/]", None: "[yellow]not run[/]"}
    for r in report["targets"]:
        why = f" ({r['why']})" if r["why"] else ""
        t.add_row(r["target"], r["measured"], r["goal"], verdicts[r["passed"]] + why, r["by_cpu"])
    console.print(t)
    if report["starts_s"]:
        console.print(
            "time to ready (s): "
            + ", ".join(
                f"{k} {statistics.median(v):.1f}" for k, v in report["starts_s"].items() if v
            )
        )
    for e in report["errors"]:
        console.print(f"[bold red]error:[/] {e}", markup=True, highlight=False)
    console.print(
        "CPU/request = user + system time of the server's process tree during the measured wrk "
        "run / the responses wrk counted (wrk itself shares the 2 cores). The last column "
        "recomputes each ratio with 1 / (CPU per request) in place of req/s: what the ratio "
        "would be if every server were CPU-bound; it moves less than req/s on a shared machine. "
        "rows/batch: loopml's mean batch (its loopml_batch_size histogram) in the measured run."
    )
    console.print("[green]all targets met[/]" if report["passed"] else "[bold red]not all met[/]")


def child_main(task: str, params: dict[str, Any]) -> None:
    {"prepare": child_prepare, "mlflow-save": child_mlflow_save}[task](params)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument("--seconds", type=int, help="wrk duration per measurement (default 8)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 3 s")
    parser.add_argument(
        "--skip", default="", help="comma-separated servers not to run: mlflow,mlserver,ceiling"
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--verbose", action="store_true", help="show commands and wrk output")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "PARAMS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], json.loads(args.child[1]))
        return 0
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.seconds is None:
        args.seconds = 3 if args.quick else 8
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="loopml-serving-bench-"))
    try:
        report = run_all(args, work)
    except KeyboardInterrupt:
        say("interrupted: stopping the servers ...")
        return 130
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)
    return _harness.show_report(report, args.json, print_report, report["passed"])


if __name__ == "__main__":
    sys.exit(main())
