"""Benchmark loopml's model registry against MLflow's, side by side.

Usage (from the repo root):

    .venv/bin/python benchmarks/models.py [--repeat N] [--json] [--verbose]

MLflow 3.17.2 (with skops, its default format for scikit-learn) is installed on first use into
the venv benchmarks/.venvs/mlflow that benchmarks/tracking.py shares. Each measurement runs in
a fresh interpreter in a fresh folder, on the same data (scikit-learn's breast-cancer table, 30
columns) and the same model (StandardScaler + LogisticRegression):

1. log + register, target >= 10x: after imports and ``fit``, on a fresh store: MLflow's
   ``set_tracking_uri`` (SQLite) + ``set_experiment`` + ``log_model(..., registered_model_name=,
   input_example=)`` inside ``start_run``; loopml's ``init`` + ``log_model(..., input_example=)``
   inside ``start_run``.
2. load + one-row predict, target >= 5x: in a process that has already imported scikit-learn and
   pandas (as a serving worker or a notebook has), the time to import the library, load the
   version by its registry URI and predict one row: ``mlflow.pyfunc.load_model("models:/fraud/1")``
   against ``loopml.load_model("models:/fraud/1")``.

Whole-process times are printed for information. loopml runs from benchmarks/.venvs/loopml
(this checkout, core dependencies only; no PyTorch, as in MLflow's venv). This file imports
only the standard library at module level: it is also the child program (``--child TASK``)
both interpreters run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracking import (
    MLFLOW_PY,
    MLFLOW_VENV,
    RESULT,
    ROOT,
    run_child,
)

SCRIPT = Path(__file__).resolve()
# loopml runs from a venv of its own with only its core dependencies, as MLflow does: in the
# repo's dev venv PyTorch is installed, and with it ``import skops.io`` takes about 1 s longer
# (scikit-learn's estimator discovery imports torch), which no side should pay here.
LOOPML_VENV = ROOT / "benchmarks" / ".venvs" / "loopml"
LOOPML_PY = LOOPML_VENV / "bin" / "python"
MLFLOW_PINS = ("mlflow==3.17.2", "skops>=0.16")
LOG_TARGET = 10.0
LOAD_TARGET = 5.0


# --------------------------------------------------------------------------
# Child side
# --------------------------------------------------------------------------


def _emit(result: dict[str, Any]) -> None:
    print(RESULT + json.dumps(result), flush=True)


def _data() -> Any:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    return x, model


def child_log(side: str) -> None:
    t0 = time.perf_counter()
    x, model = _data()
    t1 = time.perf_counter()
    if side == "mlflow":
        import mlflow
        import mlflow.sklearn

        mlflow.set_tracking_uri(f"sqlite:///{Path.cwd() / 'mlflow.db'}")
        mlflow.set_experiment("bench")
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model, name="m", registered_model_name="fraud", input_example=x.head(5)
            )
        version = str(info.registered_model_version)
    else:
        import loopml

        loopml.init(Path.cwd())
        with loopml.start_run(experiment="bench"):
            version = str(loopml.log_model(model, "fraud", input_example=x.head(5)).version)
    t2 = time.perf_counter()
    _emit({"prepare_s": t1 - t0, "log_s": t2 - t1, "version": version})


def child_load(side: str) -> None:
    import numpy as np
    import pandas as pd  # noqa: F401 - pre-imported, as a serving worker has it
    import sklearn
    import sklearn.linear_model  # noqa: F401
    from sklearn.datasets import load_breast_cancer

    x, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    row = x.iloc[[7]]
    t0 = time.perf_counter()
    if side == "mlflow":
        import mlflow
        import mlflow.pyfunc

        mlflow.set_tracking_uri(f"sqlite:///{Path.cwd() / 'mlflow.db'}")
        model = mlflow.pyfunc.load_model("models:/fraud/1")
        out = model.predict(row)
    else:
        import loopml

        model = loopml.load_model("models:/fraud/1")
        out = model.predict(row)
    t1 = time.perf_counter()
    _emit({"load_predict_s": t1 - t0, "prediction": np.asarray(out).tolist()})


# --------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ensure_mlflow() -> None:
    from _harness import ensure_venv

    probe = "import mlflow, skops; assert mlflow.__version__ == '3.17.2'"
    ensure_venv(MLFLOW_VENV, MLFLOW_PINS, probe, takes="about a minute")


def ensure_loopml() -> None:
    """A venv with loopml (this checkout, editable) and its core dependencies only."""
    if not LOOPML_PY.exists():
        say(f"creating {LOOPML_VENV} ...")
        base = shutil.which("python3.11") or sys.executable
        subprocess.run([base, "-m", "venv", str(LOOPML_VENV)], check=True)
        subprocess.run(
            [str(LOOPML_PY), "-m", "pip", "install", "-q", "--upgrade", "pip", "-e", str(ROOT)],
            check=True,
            stdout=sys.stderr,
        )


def one_round(python: Path, side: str, verbose: bool) -> dict[str, Any]:
    """log in a fresh folder, then load in a second process on the same store."""
    folder = Path(tempfile.mkdtemp(prefix=f"loopml-models-bench-{side}-"))
    try:
        t0 = time.perf_counter()
        logged = run_child(python, [str(SCRIPT), "--child", "log", side], folder, verbose)
        logged["process_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        loaded = run_child(python, [str(SCRIPT), "--child", "load", side], folder, verbose)
        loaded["process_s"] = time.perf_counter() - t1
        return {"log": logged, "load": loaded}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def median(runs: list[dict[str, Any]], part: str, key: str) -> float:
    return float(statistics.median(r[part][key] for r in runs))


def run_all(repeat: int, verbose: bool) -> dict[str, Any]:
    ensure_mlflow()
    ensure_loopml()
    sides = {"loopml": LOOPML_PY, "mlflow": MLFLOW_PY}
    for side, python in sides.items():  # warm-up: .pyc files, page cache
        say(f"warm-up: {side} ...")
        one_round(python, side, verbose)
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
    for i in range(repeat):  # interleaved: load changes hit both alike
        for side, python in sides.items():
            say(f"{side} (run {i + 1}/{repeat}) ...")
            runs[side].append(one_round(python, side, verbose))
    same = all(
        a["load"]["prediction"] == b["load"]["prediction"]
        for a, b in zip(runs["loopml"], runs["mlflow"], strict=True)
    )
    figures = {
        side: {
            "log_s": median(r, "log", "log_s"),
            "log_process_s": median(r, "log", "process_s"),
            "load_predict_s": median(r, "load", "load_predict_s"),
            "load_process_s": median(r, "load", "process_s"),
        }
        for side, r in runs.items()
    }
    log_ratio = figures["mlflow"]["log_s"] / figures["loopml"]["log_s"]
    load_ratio = figures["mlflow"]["load_predict_s"] / figures["loopml"]["load_predict_s"]
    return {
        "repeat": repeat,
        "figures": figures,
        "log_ratio": log_ratio,
        "log_pass": log_ratio >= LOG_TARGET,
        "load_ratio": load_ratio,
        "load_pass": load_ratio >= LOAD_TARGET,
        "same_predictions": same,
        "runs": runs,
    }


def print_report(report: dict[str, Any]) -> None:
    f = report["figures"]

    def row(label: str, key: str, target: str = "", ratio: float | None = None) -> None:
        lo, ml = f["loopml"][key], f["mlflow"][key]
        shown = f"{ml / lo:.1f}x" if ratio is None else f"{ratio:.1f}x"
        print(f"| {label} | {lo * 1000:.0f} ms | {ml * 1000:.0f} ms | {shown} | {target} |")

    print(f"models benchmark: median of {report['repeat']} interleaved runs (MLflow 3.17.2)")
    print("| measurement | loopml | MLflow | MLflow / loopml | target |")
    print("|---|---:|---:|---:|---|")
    verdict = "PASS" if report["log_pass"] else "FAIL"
    row("log + register (fresh store, after fit)", "log_s", f">= 10x {verdict}")
    row("log: whole process (information)", "log_process_s")
    verdict = "PASS" if report["load_pass"] else "FAIL"
    row("load + 1-row predict (sklearn, pandas imported)", "load_predict_s", f">= 5x {verdict}")
    row("load: whole process (information)", "load_process_s")
    print(f"same predictions on both sides: {report['same_predictions']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "SIDE"))
    args = parser.parse_args()
    if args.child:
        task, side = args.child
        {"log": child_log, "load": child_load}[task](side)
        return 0
    report = run_all(args.repeat, args.verbose)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0 if report["log_pass"] and report["load_pass"] and report["same_predictions"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
