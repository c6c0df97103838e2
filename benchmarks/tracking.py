"""Benchmark loopml's tracking against MLflow (SQLite backend), side by side.

Usage (from the repo root):

    .venv/bin/python benchmarks/tracking.py [--quick] [--json]

MLflow is installed on first use into its own venv at benchmarks/.venvs/mlflow.
Every measurement runs in a fresh interpreter (loopml: this repo's .venv python;
MLflow: the MLflow venv's python) inside its own fresh temporary directory.
This file only imports the standard library at module level, because it is
also the child program (``--child TASK``) run by both interpreters.
"""

from __future__ import annotations

import argparse
import importlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# _harness.py sits next to this file. Children run with -P (this folder is not on their
# sys.path), so it is put there only for this import.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness
from _harness import RESULT, say  # RESULT: models.py imports it from here

sys.path.pop(0)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
LOOPML_PY = ROOT / ".venv" / "bin" / "python"
MLFLOW_VENV = ROOT / "benchmarks" / ".venvs" / "mlflow"
MLFLOW_PY = MLFLOW_VENV / "bin" / "python"
SIDES = ((LOOPML_PY, "loopml"), (MLFLOW_PY, "mlflow"))

IMPORT_REPEATS = 5
QUERY_REPEATS = 5
FILTER = "metrics.m0 > 0.5 and params.C = '1.0'"
PAGE = 100


# --------------------------------------------------------------------------
# Child side: runs in a fresh interpreter, cwd = a fresh temp dir.
# --------------------------------------------------------------------------


def fake_run(rng: random.Random, i: int) -> tuple[dict[str, str], dict[str, float]]:
    """Params and metrics of run number i; the same for both sides (same seed)."""
    params = {
        "C": rng.choice(["0.1", "1.0", "10.0"]),
        "penalty": rng.choice(["l1", "l2"]),
        "seed": str(i),
    }
    return params, {f"m{j}": rng.random() for j in range(20)}


def check_page(df: Any) -> list[str]:
    """Assert the page is 100 rows, filtered and sorted by m1 desc; return the seeds in order."""
    missing = {"metrics.m0", "metrics.m1", "params.C", "params.seed"} - set(df.columns)
    assert not missing, f"columns {missing} missing from {list(df.columns)}"
    assert len(df) == PAGE, f"expected {PAGE} rows, got {len(df)}"
    m1 = [float(x) for x in df["metrics.m1"]]
    assert m1 == sorted(m1, reverse=True), "rows not sorted by metrics.m1 desc"
    assert all(float(x) > 0.5 for x in df["metrics.m0"]), "row with m0 <= 0.5"
    assert all(str(x) == "1.0" for x in df["params.C"]), "row with C != '1.0'"
    return [str(s) for s in df["params.seed"]]


def child_log(side: str, n: int) -> None:
    if side == "mlflow":
        import mlflow
        from mlflow.tracking import MlflowClient

        mlflow.set_tracking_uri("sqlite:///" + str(Path("mlflow.db").resolve()))
        mlflow.set_experiment("bench")
        with mlflow.start_run() as run:
            t0 = time.perf_counter()
            for i in range(n):
                mlflow.log_metric("loss", i * 0.001, step=i)
        elapsed = time.perf_counter() - t0
        stored = len(MlflowClient().get_metric_history(run.info.run_id, "loss"))
        version = mlflow.__version__
    else:
        import loopml

        loopml.init()  # = `loopml init` here: this temp dir is its own workspace
        with loopml.start_run(experiment="bench") as run:
            t0 = time.perf_counter()
            for i in range(n):
                loopml.log_metric("loss", i * 0.001, step=i)
        elapsed = time.perf_counter() - t0
        assert loopml.get_run(run.id) is not None, "get_run returned None"
        stored = len(loopml.metric_history(run.id, "loss"))
        version = getattr(loopml, "__version__", "?")
    assert stored == n, f"stored {stored} of {n} points"
    _harness.emit({"seconds": elapsed, "stored": stored, "version": version})


def _fill_mlflow(n: int) -> None:
    import mlflow
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri("sqlite:///" + str(Path("mlflow.db").resolve()))
    client = MlflowClient()
    exp_id = client.create_experiment("bench")
    rng = random.Random(42)
    for i in range(n):
        params, metrics = fake_run(rng, i)
        ts = int(time.time() * 1000)
        run_id = client.create_run(exp_id).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
        )
        client.set_terminated(run_id)
        if (i + 1) % 1000 == 0:
            _harness.progress(f"mlflow fill {i + 1:,}/{n:,}")


def _fill_loopml(n: int) -> None:
    import loopml

    loopml.init()
    rng = random.Random(42)
    for i in range(n):
        params, metrics = fake_run(rng, i)
        with loopml.start_run(experiment="bench") as r:
            r.log_params(params)
            r.log_metrics(metrics)
        if (i + 1) % 1000 == 0:
            _harness.progress(f"loopml fill {i + 1:,}/{n:,}")


def _open_store(side: str, mod: Any) -> Callable[[], Any]:
    """Point the library at the store in the cwd; return the first-page query."""
    if side == "mlflow":
        mod.set_tracking_uri("sqlite:///" + str(Path("mlflow.db").resolve()))
        exp_id = mod.get_experiment_by_name("bench").experiment_id
        return lambda: mod.search_runs(
            experiment_ids=[exp_id],
            filter_string=FILTER,
            order_by=["metrics.m1 DESC"],
            max_results=PAGE,
        )
    return lambda: mod.runs(
        experiment="bench", filter=FILTER, order_by="metrics.m1 desc", limit=PAGE
    )


def child_query(side: str, n: int, fill: bool) -> None:
    """Fill the store with n runs (if asked), then time first-page queries.

    With fill=False (a fresh process on an existing store) only one query is run
    and "first" includes opening the store (MLflow: set URI, look up experiment).
    """
    mod = importlib.import_module(side)
    fill_s = None
    if fill:
        t0 = time.perf_counter()
        _fill_mlflow(n) if side == "mlflow" else _fill_loopml(n)
        fill_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    query = _open_store(side, mod)
    open_s = time.perf_counter() - t0
    times, seeds = [], []
    for _ in range(QUERY_REPEATS if fill else 1):
        t0 = time.perf_counter()
        df = query()
        times.append(time.perf_counter() - t0)
        seeds = check_page(df)
    first = times[0] if fill else times[0] + open_s
    _harness.emit(
        {"fill": fill_s, "first": first, "median": statistics.median(times), "seeds": seeds}
    )


def child_main(task: str, side: str, n: int) -> None:
    if task == "log":
        child_log(side, n)
    elif task == "query":
        child_query(side, n, fill=True)
    elif task == "query-fresh":
        child_query(side, n, fill=False)
    else:
        raise SystemExit(f"unknown child task {task!r}")


# --------------------------------------------------------------------------
# Parent side.
# --------------------------------------------------------------------------

# {touch}: optionally also load the tracking API, for libraries that import lazily.
IMPORT_CODE = (
    "import time, json; t = time.perf_counter(); import {mod}; {touch}"
    "print({marker!r} + json.dumps({{'seconds': time.perf_counter() - t}}))"
)
TOUCH = "{mod}.start_run, {mod}.log_metric, {mod}.search_runs; "


def child_env() -> dict[str, str]:
    return _harness.child_env(
        ("LOOPML_URI", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PYTHONPATH"),
        MLFLOW_ENABLE_TELEMETRY="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="1",
        GIT_PYTHON_REFRESH="quiet",
        PYTHONUNBUFFERED="1",
    )


def run_child(python: Path, args: list[str], cwd: Path, verbose: bool) -> dict[str, Any]:
    """Run a child interpreter; forward its progress lines; return its result dict."""
    cmd = [str(python), "-P", *args]  # -P: don't put the script's dir on sys.path
    return _harness.run_child(cmd, cwd, child_env(), verbose)


def in_tempdir(
    python: Path, args: list[str], verbose: bool, then: list[str] | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Run a child in a fresh temp dir (and optionally a second child in the same dir)."""
    tmp = Path(tempfile.mkdtemp(prefix="loopml-bench-"))
    try:
        first = run_child(python, args, tmp, verbose)
        second = run_child(python, then, tmp, verbose) if then else None
        return first, second
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_mlflow() -> None:
    _harness.ensure_venv(
        MLFLOW_VENV, ("mlflow==3.17.2", "skops>=0.16"), "import mlflow", what="mlflow"
    )


def bench_import(python: Path, mod: str, verbose: bool, touch: bool = False) -> float:
    code = IMPORT_CODE.format(mod=mod, marker=RESULT, touch=TOUCH.format(mod=mod) if touch else "")
    in_tempdir(python, ["-c", code], verbose)  # warm-up: .pyc files, OS page cache
    times = [in_tempdir(python, ["-c", code], verbose)[0]["seconds"] for _ in range(IMPORT_REPEATS)]
    return float(statistics.median(times))


@dataclass
class Row:
    benchmark: str
    loopml_s: float | None
    mlflow_s: float | None
    target: str = ""
    passed: bool | None = None  # None: no target, information only
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        ratio = self.mlflow_s / self.loopml_s if self.loopml_s and self.mlflow_s else None
        return {**asdict(self), "ratio": ratio}


def run_all(quick: bool, verbose: bool) -> dict[str, Any]:
    def query_pair(python: Path, side: str, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Fill + in-process queries, then one query from a fresh process on the same store."""
        args = [str(SCRIPT), "--child", "query", side, str(n)]
        then = [str(SCRIPT), "--child", "query-fresh", side, str(n)]
        filled, fresh = in_tempdir(python, args, verbose, then=then)
        assert fresh is not None
        return filled, fresh

    say("[1/3] import time (median of 5 fresh interpreters)")
    ours, theirs = (bench_import(py, mod, verbose) for py, mod in SIDES)
    rows = [Row("import", ours, theirs, ">= 8x", theirs >= 8 * ours)]
    ours, theirs = (bench_import(py, mod, verbose, touch=True) for py, mod in SIDES)
    note = "also touches start_run, log_metric, search_runs"
    rows.append(Row("import + load tracking API", ours, theirs, note=note))

    n_log, n_log_ml = 10_000, 1_000 if quick else 10_000
    say(f"[2/3] {n_log:,} log_metric calls in one run")
    lm, _ = in_tempdir(LOOPML_PY, [str(SCRIPT), "--child", "log", "loopml", str(n_log)], verbose)
    mf, _ = in_tempdir(MLFLOW_PY, [str(SCRIPT), "--child", "log", "mlflow", str(n_log_ml)], verbose)
    ours, theirs = lm["seconds"], mf["seconds"] * n_log / n_log_ml
    note = f"mlflow: {n_log_ml:,} calls x{n_log // n_log_ml}" if n_log_ml != n_log else ""
    ok = theirs >= 50 * ours
    rows.append(Row(f"log_metric x{n_log:,} + end run", ours, theirs, ">= 50x", ok, note))

    n_q = 2_000 if quick else 10_000
    say(f"[3/3] first-page query, N={n_q:,} runs x 20 metrics x 3 params")
    lq, lfresh = query_pair(LOOPML_PY, "loopml", n_q)
    mq, mfresh = query_pair(MLFLOW_PY, "mlflow", n_q)
    same = lq["seeds"] == mq["seeds"]
    note = "same 100 runs, same order" if same else "RESULTS DIFFER"
    ok = mq["median"] >= 10 * lq["median"] and same
    tag = f"query N={n_q:,}"
    rows += [
        Row(f"{tag} (median of {QUERY_REPEATS})", lq["median"], mq["median"], ">= 10x", ok, note),
        Row(f"{tag} (first in process)", lq["first"], mq["first"]),
        Row(f"{tag} (fresh process)", lfresh["first"], mfresh["first"]),
        Row(f"fill N={n_q:,} runs (info)", lq["fill"], mq["fill"]),
    ]
    if not quick:
        n_big = 100_000
        say(f"[3b] loopml alone, N={n_big:,}")
        big, fresh = query_pair(LOOPML_PY, "loopml", n_big)
        tag = f"query N={n_big:,}"
        ok = big["median"] < 0.5
        rows += [
            Row(f"{tag} (median of {QUERY_REPEATS})", big["median"], None, "< 0.5 s", ok),
            Row(f"{tag} (first in process)", big["first"], None),
            Row(f"{tag} (fresh process)", fresh["first"], None),
            Row(f"fill N={n_big:,} runs (info)", big["fill"], None),
        ]
    versions = {"loopml": lm["version"], "mlflow": mf["version"]}
    return {"quick": quick, "versions": versions, "rows": [r.as_dict() for r in rows]}


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def print_table(report: dict[str, Any]) -> None:
    v = report["versions"]
    title = f"loopml {v['loopml']} vs MLflow {v['mlflow']} (SQLite)"
    header = ["benchmark", "loopml", "MLflow", "ratio", "target", "result", "note"]
    lines = [
        [
            r["benchmark"],
            fmt_s(r["loopml_s"]),
            fmt_s(r["mlflow_s"]),
            f"{r['ratio']:.1f}x" if r["ratio"] else "-",
            r["target"] or "-",
            {True: "PASS", False: "FAIL", None: ""}[r["passed"]],
            r["note"],
        ]
        for r in report["rows"]
    ]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(x) for x in col) for col in zip(header, *lines, strict=True)]
        print(title)
        for cells in [header, *lines]:
            print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        print("ratio = MLflow time / loopml time (higher is better for loopml)")
        return
    table = Table(title=title)
    for h in header:
        table.add_column(h, justify="right" if h in ("loopml", "MLflow", "ratio") else "left")
    for cells in lines:
        color = {"PASS": "green", "FAIL": "bold red"}.get(cells[5])
        table.add_row(*cells[:5], f"[{color}]{cells[5]}[/]" if color else "", cells[6])
    console = Console()
    if not console.is_terminal:  # piped: don't squeeze the table into 80 columns
        console = Console(width=160)
    console.print(table)
    console.print("ratio = MLflow time / loopml time (higher is better for loopml)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="MLflow logs 1,000 points (x10), N=2,000 runs, skip N=100,000",
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--verbose", action="store_true", help="show children's output")
    parser.add_argument("--child", nargs=3, metavar=("TASK", "SIDE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        task, side, n = args.child
        child_main(task, side, int(n))
        return 0
    ensure_mlflow()
    report = run_all(args.quick, args.verbose)
    passed = all(r["passed"] is not False for r in report["rows"])
    return _harness.show_report(report, args.json, print_table, passed)


if __name__ == "__main__":
    sys.exit(main())
