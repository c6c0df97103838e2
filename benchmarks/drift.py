"""Benchmark loopml's drift report against Evidently's DataDriftPreset, side by side.

Usage (from the repo root):

    .venv/bin/python benchmarks/drift.py [--rows 100000 1000000] [--skip-10m] [--skip-ray]
                                         [--quick] [--repeat N] [--no-warmup]
                                         [--json] [--save-json FILE] [--verbose]

See benchmarks/README.md for what is measured and the targets.

Evidently is installed on first use into its own venv at benchmarks/.venvs/evidently.
The data (20 numeric + 5 categorical columns, 5 of them shifted in the current set) is
generated once, deterministically, into Parquet files under benchmarks/.work/drift-data/
(git-ignored); both sides read the same files. Every measurement runs in a fresh
interpreter (loopml: the interpreter running this script; Evidently: its venv's python).
This file only imports the standard library at module level, because it is also the
child program (``--child TASK PARAMS``) run by both interpreters.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# _harness.py sits next to this file. Children run with -P (this folder is not on their
# sys.path), so it is put there only for this import.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness
from _harness import say

sys.path.pop(0)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
LOOPML_PY = Path(sys.executable)
EVIDENTLY_VENV = ROOT / "benchmarks" / ".venvs" / "evidently"
EVIDENTLY_PY = EVIDENTLY_VENV / "bin" / "python"
# Evidently 0.7 does not work with pandas 3; these resolved and ran on Python 3.11.
EVIDENTLY_PINS = ("evidently==0.7.23", "pandas==2.3.3", "pyarrow==26.0.1")
DATA_DIR = ROOT / "benchmarks" / ".work" / "drift-data"  # benchmarks/.work/ is git-ignored

SPEED_TARGET = 20.0  # loopml at least 20x faster than Evidently
MEMORY_TARGET = 0.5  # loopml at most half of Evidently's peak RSS
BIG_PEAK_TARGET_MB = 2048.0  # profile-based drift on 10M rows: peak RSS under 2 GiB
WARMUP_ROWS = 5_000  # > 1,000 so the warm-up takes the same test path as the real run

# --------------------------------------------------------------------------
# The data: deterministic, written to Parquet by the parent, read by both sides.
# --------------------------------------------------------------------------

DATA_VERSION = "v1"  # bump when the generator changes: the cache folder is keyed on it
SEED = 20261125
SIDE_IDS = {"ref": 0, "cur": 1, "warm-ref": 2, "warm-cur": 3}
SHIFT_SD = 0.5  # shifted numeric columns move by half a (theoretical) standard deviation

# name, distribution, parameters, shifted in current
NUMERIC: tuple[tuple[str, str, tuple[float, ...], bool], ...] = (
    ("num_00", "normal", (0.0, 1.0), True),
    ("num_01", "normal", (10.0, 3.0), False),
    ("num_02", "normal", (-5.0, 0.5), False),
    ("num_03", "normal", (100.0, 20.0), False),
    ("num_04", "normal", (0.0, 1e-3), False),
    ("num_05", "normal", (50.0, 10.0), False),  # 1% missing on both sides
    ("num_06", "normal", (1e6, 1e4), False),
    ("num_07", "lognormal", (0.0, 1.0), False),
    ("num_08", "lognormal", (2.0, 0.5), True),
    ("num_09", "lognormal", (-1.0, 1.5), False),
    ("num_10", "lognormal", (5.0, 0.25), False),
    ("num_11", "lognormal", (1.0, 0.75), False),
    ("num_12", "uniform", (0.0, 1.0), False),
    ("num_13", "uniform", (-100.0, 100.0), False),
    ("num_14", "uniform", (1e3, 1e4), False),
    ("num_15", "uniform", (0.0, 1e6), False),
    ("num_16", "integers", (0, 1000), False),  # integer-valued, many distinct values
    ("num_17", "poisson", (200.0,), True),
    ("num_18", "integers", (-50_000, 50_000), False),
    ("num_19", "binomial", (1000, 0.5), False),
)
# name, categories, reference shares, current shares (None: unchanged)
_CAT3 = [0.7**i for i in range(8)]
_CAT4 = [1 / (i + 1) for i in range(12)]
CATEGORICAL: tuple[tuple[str, list[str], list[float], list[float] | None], ...] = (
    ("cat_0", ["red", "green", "blue"], [0.5, 0.3, 0.2], None),
    ("cat_1", ["no", "yes"], [0.7, 0.3], [0.4, 0.6]),
    ("cat_2", ["A", "B", "C", "D", "E"], [0.2] * 5, None),  # 1% missing on both sides
    ("cat_3", [f"level_{i}" for i in range(8)], _CAT3, _CAT3[::-1]),
    ("cat_4", [f"city_{i:02d}" for i in range(12)], _CAT4, None),
)
MISSING = {"num_05": 0.01, "cat_2": 0.01}
NUMERIC_COLUMNS = [c[0] for c in NUMERIC]
CATEGORICAL_COLUMNS = [c[0] for c in CATEGORICAL]
SHIFTED = {c[0] for c in NUMERIC if c[3]} | {c[0] for c in CATEGORICAL if c[3] is not None}


def _sd(dist: str, p: tuple[float, ...]) -> float:
    if dist == "normal":
        return p[1]
    if dist == "lognormal":
        return math.sqrt((math.exp(p[1] ** 2) - 1) * math.exp(2 * p[0] + p[1] ** 2))
    if dist in ("uniform", "integers"):
        return (p[1] - p[0]) / math.sqrt(12)
    if dist == "poisson":
        return math.sqrt(p[0])
    if dist == "binomial":
        return math.sqrt(p[0] * p[1] * (1 - p[1]))
    raise ValueError(dist)


def make_table(side: str, n: int, chunk: int = 0) -> Any:
    """One chunk of one data set as a pyarrow Table; the same bytes on every machine."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    current = side.endswith("cur")
    columns: dict[str, Any] = {}
    for i, (name, dist, p, shifted) in enumerate(NUMERIC):
        rng = np.random.default_rng([SEED, SIDE_IDS[side], n, chunk, i])
        if dist == "normal":
            x = rng.normal(p[0], p[1], n)
        elif dist == "lognormal":
            x = rng.lognormal(p[0], p[1], n)
        elif dist == "uniform":
            x = rng.uniform(p[0], p[1], n)
        elif dist == "integers":
            x = rng.integers(int(p[0]), int(p[1]), n)
        elif dist == "poisson":
            x = rng.poisson(p[0], n)
        else:
            x = rng.binomial(int(p[0]), p[1], n)
        if current and shifted:
            shift = SHIFT_SD * _sd(dist, p)
            x = x + (round(shift) if x.dtype.kind == "i" else shift)
        mask = rng.random(n) < MISSING[name] if name in MISSING else None
        columns[name] = pa.array(x, mask=mask)
    for j, (name, labels, ref_p, cur_p) in enumerate(CATEGORICAL):
        rng = np.random.default_rng([SEED, SIDE_IDS[side], n, chunk, 100 + j])
        shares = np.asarray(cur_p if current and cur_p is not None else ref_p)
        codes = rng.choice(len(labels), size=n, p=shares / shares.sum()).astype(np.int32)
        mask = rng.random(n) < MISSING[name] if name in MISSING else None
        columns[name] = pc.take(pa.array(labels), pa.array(codes, mask=mask))
    return pa.table(columns)


def ensure_data(data_dir: Path, name: str, side: str, rows: int, files: int = 1) -> Path:
    """Write data set ``name`` (``files`` Parquet files of ``rows // files`` rows) once.

    Returns the file for a one-file set, else the folder holding ``part-NN.parquet``.
    """
    import pyarrow.parquet as pq

    folder = data_dir / DATA_VERSION / name
    done = folder / ".done"
    if not done.exists():
        say(f"  generating {name}: {rows:,} rows in {files} Parquet file(s) under {folder}")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        per_file = rows // files
        for k in range(files):
            table = make_table(side, per_file, chunk=k if files > 1 else 0)
            pq.write_table(table, folder / f"part-{k:02d}.parquet")
        done.write_text(json.dumps({"rows": rows, "files": files, "side": side}))
    return folder / "part-00.parquet" if files == 1 else folder


def data_pair(data_dir: Path, rows: int) -> tuple[Path, Path]:
    ref = ensure_data(data_dir, f"ref-{rows}", "ref", rows)
    cur = ensure_data(data_dir, f"cur-{rows}", "cur", rows)
    return ref, cur


# --------------------------------------------------------------------------
# Child side: runs in a fresh interpreter, prints one result line.
# --------------------------------------------------------------------------


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# Evidently's display names (config "method") -> short test names (loopml's TEST_NAMES keys).
EVIDENTLY_TESTS = {
    "K-S p_value": "ks",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "PSI": "psi",
}
P_VALUE_TESTS = {"ks", "chisquare", "z"}


def evidently_rule(test: str, value: float, threshold: float) -> bool:
    """Evidently 0.7.23's drift decision (docs/design/data-phase.md section 3)."""
    if test == "ks":
        return value <= threshold
    if test in P_VALUE_TESTS:
        return value < threshold
    return value >= threshold


def child_evidently(params: dict[str, Any]) -> None:
    t0 = time.perf_counter()
    import pandas as pd
    import pyarrow.parquet  # noqa: F401 - used by read_parquet; an import, not timed below
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_s = time.perf_counter() - t0

    def run(ref_path: str, cur_path: str, html: str) -> Any:
        ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
        dd = DataDefinition(
            numerical_columns=params["numerical"], categorical_columns=params["categorical"]
        )
        snap = Report([DataDriftPreset()], include_tests=True).run(
            current_data=Dataset.from_pandas(cur, data_definition=dd),
            reference_data=Dataset.from_pandas(ref, data_definition=dd),
        )
        snap.save_html(html)
        return snap

    warmup_s = None
    if params["warmup"]:
        t0 = time.perf_counter()
        run(params["warm_ref"], params["warm_cur"], params["html"])
        warmup_s = time.perf_counter() - t0
    rss_before = _peak_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    snap = run(params["ref"], params["cur"], params["html"])
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    peak = _peak_mb()

    d = snap.dict()
    status = {t["metric_config"]["metric_id"]: t["status"] for t in d["tests"]}
    kinds = {c: "numerical" for c in params["numerical"]}
    kinds |= {c: "categorical" for c in params["categorical"]}
    columns, share = [], None
    for m in d["metrics"]:
        cfg = m["config"]
        if "column" not in cfg:
            share = m["value"]["share"]
            continue
        test = EVIDENTLY_TESTS.get(cfg["method"], cfg["method"])
        value, threshold = float(m["value"]), float(cfg["threshold"])
        drifted = str(status.get(m["id"])).upper().endswith("FAIL")
        columns.append(
            {
                "column": cfg["column"],
                "kind": kinds.get(cfg["column"], "?"),
                "test": test,
                "statistic": value,
                "threshold": threshold,
                "drifted": drifted,
                "rule_agrees": drifted == evidently_rule(test, value, threshold),
            }
        )
    import evidently

    _harness.emit(
        {
            "import_s": import_s,
            "warmup_s": warmup_s,
            "seconds": seconds,
            "cpu_s": cpu_s,  # all threads of the child, timed region only
            "peak_mb": peak,
            "peak_before_mb": rss_before,
            "html_bytes": Path(params["html"]).stat().st_size,
            "share_drifted": share,
            "columns": columns,
            "versions": {
                "evidently": evidently.__version__,
                "pandas (Evidently venv)": pd.__version__,
            },
        }
    )


def child_loopml(params: dict[str, Any]) -> None:
    t0 = time.perf_counter()
    import loopml

    loopml.drift  # noqa: B018 - loopml imports lazily: load the API as part of the import
    import_s = time.perf_counter() - t0
    kwargs = loopml_kinds(loopml, params)

    def run(ref: str, cur: str, html: str) -> Any:
        report = loopml.drift(ref, cur, **kwargs)
        report.to_html(html)
        return report

    warmup_s = None
    if params["warmup"]:
        t0 = time.perf_counter()
        run(params["warm_ref"], params["warm_cur"], params["html"])
        warmup_s = time.perf_counter() - t0
    rss_before = _peak_mb()
    modules = set(sys.modules)
    t0, c0 = time.perf_counter(), time.process_time()
    report = run(params["ref"], params["cur"], params["html"])
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    peak = _peak_mb()
    _harness.emit(
        {
            "import_s": import_s,
            "warmup_s": warmup_s,
            "seconds": seconds,
            "cpu_s": cpu_s,  # all threads of the child, timed region only
            "peak_mb": peak,
            "peak_before_mb": rss_before,
            "imported_while_timed": sorted(set(sys.modules) - modules)[:40],
            "html_bytes": Path(params["html"]).stat().st_size,
            "share_drifted": report.share_drifted,
            "columns": [_column_dict(c) for c in report.columns],
            "skipped": [list(s) for s in getattr(report, "skipped", [])],
            "kinds_given": bool(kwargs),
            "versions": {"loopml": getattr(loopml, "__version__", "?")},
        }
    )


def loopml_kinds(loopml: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments giving loopml.drift the same column kinds as Evidently's definition,
    if its signature has a way to say them; {} otherwise (kinds are then inferred)."""
    import inspect

    names = inspect.signature(loopml.drift).parameters
    num, cat = params["numerical"], params["categorical"]
    if "kinds" in names:
        return {"kinds": {c: "numerical" for c in num} | {c: "categorical" for c in cat}}
    if "categorical" in names and "numerical" in names:
        return {"numerical": num, "categorical": cat}
    if "categorical" in names:
        return {"categorical": cat}
    return {}


def _column_dict(c: Any) -> dict[str, Any]:
    return {
        "column": c.column,
        "kind": c.kind,
        "test": c.test,
        "statistic": float(c.statistic),
        "p_value": None if c.p_value is None else float(c.p_value),
        "threshold": float(c.threshold),
        "drifted": bool(c.drifted),
        "exact": bool(getattr(c, "exact", True)),
        "error": getattr(c, "error", None),
        "uncertain": bool(getattr(c, "uncertain", False)),
        "note": getattr(c, "note", None),
    }


def child_profile_drift(params: dict[str, Any]) -> None:
    """Profile the reference and current globs, then a drift report from the two profiles."""
    t0 = time.perf_counter()
    import loopml

    loopml.drift, loopml.profile  # noqa: B018 - load the lazy API
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = loopml.profile(params["ref"])
    t_ref = time.perf_counter() - t0
    _harness.progress(f"reference profiled in {t_ref:.1f} s, peak {_peak_mb():,.0f} MB")
    cur = loopml.profile(params["cur"])
    t_cur = time.perf_counter() - t0 - t_ref
    _harness.progress(f"current profiled in {t_cur:.1f} s, peak {_peak_mb():,.0f} MB")
    t1 = time.perf_counter()
    report = loopml.drift(ref, cur, **loopml_kinds(loopml, params))
    report.to_html(params["html"])
    drift_s = time.perf_counter() - t1
    _harness.emit(
        {
            "import_s": import_s,
            "seconds": time.perf_counter() - t0,
            "profile_ref_s": t_ref,
            "profile_cur_s": t_cur,
            "drift_html_s": drift_s,
            "peak_mb": _peak_mb(),
            "html_bytes": Path(params["html"]).stat().st_size,
            "share_drifted": report.share_drifted,
            "columns": [_column_dict(c) for c in report.columns],
            "versions": {"loopml": getattr(loopml, "__version__", "?")},
        }
    )


def child_profile(params: dict[str, Any]) -> None:
    """One profile of a glob, with executor="local" or "ray"; writes it to params["out"].

    With Ray, the local Ray instance is started first (timed separately): loopml starts one
    itself unless one is running, so the profile time is the time on a running cluster.
    """
    t0 = time.perf_counter()
    import loopml

    loopml.profile  # noqa: B018 - load the lazy API
    import_s = time.perf_counter() - t0
    executor = params["executor"]
    ray_start_s = None
    if executor == "ray":
        import ray

        t0 = time.perf_counter()
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray_start_s = time.perf_counter() - t0
        _harness.progress(f"local Ray started in {ray_start_s:.1f} s, {ray.available_resources()}")
    t0, c0 = time.perf_counter(), time.process_time()
    prof = loopml.profile(params["glob"], executor=executor)
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    Path(params["out"]).write_bytes(prof.to_bytes())
    _harness.emit(
        {
            "import_s": import_s,
            "ray_start_s": ray_start_s,
            "seconds": seconds,
            "cpu_s": cpu_s,  # all threads of the child, timed region only
            "peak_mb": _peak_mb(),  # the driver only: Ray's workers are other processes
            "rows": prof.rows,
            "versions": {"loopml": getattr(loopml, "__version__", "?")},
        }
    )


def child_main(task: str, params: dict[str, Any]) -> None:
    tasks = {
        "evidently": child_evidently,
        "loopml": child_loopml,
        "profile-drift": child_profile_drift,
        "profile": child_profile,
    }
    if task not in tasks:
        raise SystemExit(f"unknown child task {task!r}")
    tasks[task](params)


# --------------------------------------------------------------------------
# Parent side.
# --------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    return _harness.child_env(
        ("LOOPML_URI", "PYTHONPATH"),
        DO_NOT_TRACK="1",
        PYTHONUNBUFFERED="1",
        EVIDENTLY_DISABLE_TELEMETRY="1",
    )


def run_child(
    python: Path, task: str, params: dict[str, Any], cwd: Path, verbose: bool
) -> dict[str, Any]:
    """Run ``task`` in a fresh interpreter; forward its progress; return its result dict
    with the child's total wall time (interpreter start to exit) added as ``wall_s``."""
    cmd = [str(python), "-P", str(SCRIPT), "--child", task, json.dumps(params)]
    shown = " ".join(cmd[:4]) + " ..."
    return _harness.run_child(
        cmd, cwd, child_env(), verbose, indent="    ", shown=shown, timed=True
    )


def ensure_evidently() -> None:
    _harness.ensure_venv(EVIDENTLY_VENV, EVIDENTLY_PINS, "import evidently, pandas")


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time (the lower middle one for an even count), with every
    run's time and peak listed; its peak is the highest of all runs."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    out = dict(ordered[(len(ordered) - 1) // 2])
    out["all_seconds"] = [r["seconds"] for r in runs]
    out["all_peak_mb"] = [r["peak_mb"] for r in runs]
    out["peak_mb"] = max(out["all_peak_mb"])
    return out


def compare_columns(lm: list[dict[str, Any]], ev: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-column agreement of two reports (decisions, kinds, tests, statistic values)."""
    by_lm, by_ev = {c["column"]: c for c in lm}, {c["column"]: c for c in ev}
    names = sorted(set(by_lm) | set(by_ev))
    agree, rows, worst = 0, [], 0.0
    for name in names:
        a, b = by_lm.get(name), by_ev.get(name)
        if a is None or b is None:
            rows.append(
                {
                    "column": name,
                    "problem": "missing in " + ("loopml" if a is None else "evidently"),
                }
            )
            continue
        same = a["drifted"] == b["drifted"]
        agree += same
        rel = abs(a["statistic"] - b["statistic"]) / max(abs(b["statistic"]), 1e-300)
        if a["test"] == b["test"]:
            worst = max(worst, rel)
        problems = []
        if not same:
            problems.append("decision differs")
        if a["test"] != b["test"]:
            problems.append("test differs")
        if a["kind"] != b["kind"]:
            problems.append("kind differs")
        if a["test"] == b["test"] and rel > 1e-6:
            problems.append(f"statistic differs (rel {rel:.1e})")
        if problems:
            rows.append(
                {
                    "column": name,
                    "problem": ", ".join(problems),
                    "loopml": {
                        k: a[k] for k in ("kind", "test", "statistic", "threshold", "drifted")
                    },
                    "evidently": {
                        k: b[k] for k in ("kind", "test", "statistic", "threshold", "drifted")
                    },
                }
            )
    return {"agree": agree, "total": len(names), "worst_rel_diff": worst, "problems": rows}


def truth_check(columns: list[dict[str, Any]]) -> list[str]:
    """Columns whose decision differs from how the data was generated (5 shifted columns)."""
    return [c["column"] for c in columns if c["drifted"] != (c["column"] in SHIFTED)]


def kind_check(columns: list[dict[str, Any]]) -> list[str]:
    want = {c: "numerical" for c in NUMERIC_COLUMNS} | {
        c: "categorical" for c in CATEGORICAL_COLUMNS
    }
    return [
        f"{c['column']}: {c['kind']} (want {want.get(c['column'])})"
        for c in columns
        if c["kind"] != want.get(c["column"])
    ]


def bench_pair(rows: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    ref, cur = data_pair(args.data_dir, rows)
    warm_ref = ensure_data(args.data_dir, f"ref-{WARMUP_ROWS}", "warm-ref", WARMUP_ROWS)
    warm_cur = ensure_data(args.data_dir, f"cur-{WARMUP_ROWS}", "warm-cur", WARMUP_ROWS)
    common = {
        "ref": str(ref),
        "cur": str(cur),
        "warm_ref": str(warm_ref),
        "warm_cur": str(warm_cur),
        "warmup": not args.no_warmup,
        "numerical": NUMERIC_COLUMNS,
        "categorical": CATEGORICAL_COLUMNS,
    }
    runs: dict[str, list[dict[str, Any]]] = {"loopml": [], "evidently": []}
    for i in range(args.repeat):  # interleaved, so load changes hit both sides alike
        tag = f" (run {i + 1}/{args.repeat})" if args.repeat > 1 else ""
        for side, python, label in (
            ("loopml", LOOPML_PY, "loopml.drift"),
            ("evidently", EVIDENTLY_PY, "Evidently DataDriftPreset"),
        ):
            say(f"  {label} on {rows:,} rows{tag} ...")
            html = str(tmp / f"{side}-{rows}.html")
            res = run_child(python, side, common | {"html": html}, tmp, args.verbose)
            say(f"    {res['seconds']:.2f} s, peak {res['peak_mb']:,.0f} MB")
            runs[side].append(res)
    lm, ev = (median_run(runs[side]) for side in ("loopml", "evidently"))
    cmp = compare_columns(lm["columns"], ev["columns"])
    speed = ev["seconds"] / lm["seconds"]
    memory = lm["peak_mb"] / ev["peak_mb"]
    return {
        "rows": rows,
        "loopml": lm,
        "evidently": ev,
        "speed_ratio": speed,
        "memory_ratio": memory,
        "compare": cmp,
        "loopml_kind_problems": kind_check(lm["columns"]),
        "loopml_vs_truth": truth_check(lm["columns"]),
        "evidently_vs_truth": truth_check(ev["columns"]),
        "evidently_rule_mismatch": [c["column"] for c in ev["columns"] if not c["rule_agrees"]],
        "passed": {
            "speed": speed >= SPEED_TARGET,
            "memory": memory <= MEMORY_TARGET,
            "decisions": cmp["agree"] == cmp["total"] == len(NUMERIC) + len(CATEGORICAL),
        },
    }


def bench_profile_drift(
    rows: int, files: int, args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    ref = ensure_data(args.data_dir, f"ref-{rows}-x{files}", "ref", rows, files)
    cur = ensure_data(args.data_dir, f"cur-{rows}-x{files}", "cur", rows, files)
    params = {
        "ref": str(ref / "*.parquet"),
        "cur": str(cur / "*.parquet"),
        "numerical": NUMERIC_COLUMNS,
        "categorical": CATEGORICAL_COLUMNS,
        "html": str(tmp / "profile-drift.html"),
    }
    say(
        f"  loopml.profile x2 + loopml.drift(profiles) on {rows:,} rows from {files} files each ..."
    )
    res = run_child(LOOPML_PY, "profile-drift", params, tmp, args.verbose)
    say(f"    {res['seconds']:.1f} s, peak {res['peak_mb']:,.0f} MB")
    res.update(
        rows=rows,
        files=files,
        loopml_vs_truth=truth_check(res["columns"]),
        loopml_kind_problems=kind_check(res["columns"]),
        passed={"peak": res["peak_mb"] < BIG_PEAK_TARGET_MB},
    )
    return res


def bench_ray(rows: int, files: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    ref = ensure_data(args.data_dir, f"ref-{rows}-x{files}", "ref", rows, files)
    glob = str(ref / "*.parquet")
    out: dict[str, Any] = {"rows": rows, "files": files}
    for executor in ("local", "ray"):
        say(f"  loopml.profile(executor={executor!r}) on {rows:,} rows from {files} files ...")
        params = {"glob": glob, "executor": executor, "out": str(tmp / f"profile-{executor}.bin")}
        out[executor] = run_child(LOOPML_PY, "profile", params, tmp, args.verbose)
        say(f"    {out[executor]['seconds']:.1f} s")
    out["differences"], out["checked"] = compare_profiles(
        tmp / "profile-local.bin", tmp / "profile-ray.bin"
    )
    out["passed"] = {"same_profile": not out["differences"]}
    return out


QUANTILES = (0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999)


def compare_profiles(local_path: Path, ray_path: Path) -> tuple[list[str], dict[str, Any]]:
    """Check two profiles of the same data agree: rows, missing, counts and categories equal,
    means equal (to 1e-12 relative: merge order changes the last bits), and each quantile of
    one within the two sketches' rank error of the other (tied values widen the rank)."""
    try:
        from loopml import Profile
    except ImportError:
        from loopml.data._profile import Profile

    a = Profile.from_bytes(local_path.read_bytes())
    b = Profile.from_bytes(ray_path.read_bytes())
    problems: list[str] = []
    checked = {"columns": 0, "quantiles": 0, "worst_mean_rel": 0.0, "worst_rank_excess": -1.0}
    if a.rows != b.rows:
        problems.append(f"rows: {a.rows} vs {b.rows}")
    if list(a.columns) != list(b.columns):
        problems.append(f"columns: {list(a.columns)} vs {list(b.columns)}")
    for name, ca in a.columns.items():
        cb = b.columns.get(name)
        if cb is None:
            continue
        checked["columns"] += 1
        for attr in ("rows", "missing"):
            if getattr(ca, attr) != getattr(cb, attr):
                problems.append(f"{name}.{attr}: {getattr(ca, attr)} vs {getattr(cb, attr)}")
        if ca.counts != cb.counts:
            problems.append(f"{name}: exact value counts differ")
        ma, mb = ca.moments, cb.moments
        if ma is not None and mb is not None:
            if ma.count != mb.count:
                problems.append(f"{name}: {ma.count} vs {mb.count} finite values")
            for stat in ("mean", "minimum", "maximum"):
                x, y = getattr(ma, stat), getattr(mb, stat)
                rel = abs(x - y) / max(abs(x), 1e-300)
                if stat == "mean":
                    checked["worst_mean_rel"] = max(checked["worst_mean_rel"], rel)
                if rel > 1e-12:
                    problems.append(f"{name}.{stat}: {x!r} vs {y!r} (rel {rel:.1e})")
        qa, qb = ca.quantiles, cb.quantiles
        if qa is None or qb is None or not qa.count or not qb.count:
            continue
        eps = qa.rank_error + qb.rank_error
        for q, v in zip(QUANTILES, qb.quantiles(QUANTILES), strict=True):
            below = qa.cdf([math.nextafter(v, -math.inf)])[0]  # share < v in the local sketch
            at_or_below = qa.cdf([v])[0]
            excess = max(below - q, q - at_or_below, 0.0)
            checked["quantiles"] += 1
            checked["worst_rank_excess"] = max(checked["worst_rank_excess"], excess - eps)
            if excess > eps:
                problems.append(
                    f"{name} q{q}: Ray's value {v!r} has rank {below:.5f}..{at_or_below:.5f} "
                    f"in the local profile (allowed {q} +- {eps:.5f})"
                )
    return problems, checked


def run_all(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    sizes = args.rows
    if sizes is None:
        sizes = [20_000] if args.quick else [100_000, 1_000_000]
    big, files = (200_000, 10) if args.quick else (10_000_000, 10)
    report: dict[str, Any] = {
        "settings": {
            "quick": args.quick,
            "warmup": not args.no_warmup,
            "repeat": args.repeat,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "data": str(args.data_dir / DATA_VERSION),
        },
        "pairs": [],
        "profile_drift": None,
        "ray": None,
    }
    steps = len(sizes) + (not args.skip_10m) + (not args.skip_ray)
    step = 0
    for rows in sizes:
        step += 1
        say(f"[{step}/{steps}] drift report, {rows:,} rows per side, loopml vs Evidently")
        report["pairs"].append(bench_pair(rows, args, tmp))
    if not args.skip_10m:
        step += 1
        say(f"[{step}/{steps}] profile-based drift report, {big:,} rows per side (loopml only)")
        report["profile_drift"] = bench_profile_drift(big, files, args, tmp)
    if not args.skip_ray:
        step += 1
        say(f"[{step}/{steps}] profile {big:,} rows on a local Ray cluster vs one process")
        report["ray"] = bench_ray(big, files, args, tmp)
    versions: dict[str, str] = {}
    for part in [*report["pairs"], report["profile_drift"], report["ray"]]:
        if part:
            for side in ("loopml", "evidently", "local"):
                versions |= (part.get(side) or {}).get("versions", {})
            versions |= part.get("versions", {})
    report["versions"] = versions
    report["passed"] = all(
        ok
        for part in [*report["pairs"], report["profile_drift"], report["ray"]]
        if part
        for ok in part["passed"].values()
    )
    return report


# --------------------------------------------------------------------------
# Output.
# --------------------------------------------------------------------------


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def verdict(ok: bool) -> str:
    return "[green]PASS[/]" if ok else "[bold red]FAIL[/]"


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped: don't squeeze the tables into 80 columns
        console = Console(width=180)
    v = report["versions"]
    names = ", ".join(f"{k} {val}" for k, val in v.items())
    s = report["settings"]
    timed = "after a warm-up run on 5,000 rows" if s["warmup"] else "first call"
    if s["repeat"] > 1:
        timed = f"median of {s['repeat']} interleaved fresh children, each {timed}"
    console.print(
        f"[bold]drift benchmark[/] ({names}; Python {s['python']}, {s['cpus']} CPUs; "
        f"timed: {timed} in each child)"
    )

    if report["pairs"]:
        t = Table(title="loopml.drift vs Evidently DataDriftPreset: read Parquet + report + HTML")
        for h in (
            "rows",
            "loopml",
            "Evidently",
            "speed",
            "loopml peak",
            "Evidently peak",
            "memory",
            "same decision",
            f">= {SPEED_TARGET:.0f}x",
            f"<= {MEMORY_TARGET}x memory",
            "all 25 agree",
        ):
            t.add_column(h, justify="right")
        for r in report["pairs"]:
            lm, ev, c, ok = r["loopml"], r["evidently"], r["compare"], r["passed"]
            t.add_row(
                f"{r['rows']:,}",
                fmt_s(lm["seconds"]),
                fmt_s(ev["seconds"]),
                f"{r['speed_ratio']:.1f}x",
                f"{lm['peak_mb']:,.0f} MB",
                f"{ev['peak_mb']:,.0f} MB",
                f"{r['memory_ratio']:.2f}x",
                f"{c['agree']}/{c['total']}",
                verdict(ok["speed"]),
                verdict(ok["memory"]),
                verdict(ok["decisions"]),
            )
        console.print(t)
        console.print(
            "speed = Evidently time / loopml time; memory = loopml peak RSS / Evidently peak RSS "
            "(each child's ru_maxrss at its end, imports and warm-up included)"
        )
        t = Table(title="details")
        for h in (
            "rows",
            "side",
            "import",
            "warm-up",
            "timed",
            "timed CPU",
            "child wall",
            "peak before",
            "HTML",
            "drifted share",
            "vs generated truth",
        ):
            t.add_column(h, justify="right")
        for r in report["pairs"]:
            for side in ("loopml", "evidently"):
                x = r[side]
                wrong = r[f"{side}_vs_truth"]
                t.add_row(
                    f"{r['rows']:,}",
                    side,
                    fmt_s(x["import_s"]),
                    fmt_s(x["warmup_s"]),
                    " / ".join(fmt_s(t) for t in x["all_seconds"]),
                    fmt_s(x["cpu_s"]),
                    fmt_s(x["wall_s"]),
                    f"{x['peak_before_mb']:,.0f} MB",
                    f"{x['html_bytes'] / 1e6:.2f} MB",
                    f"{x['share_drifted']:.2f}",
                    "25/25" if not wrong else "differs: " + ", ".join(wrong),
                )
        console.print(t)
        for r in report["pairs"]:
            c = r["compare"]
            console.print(
                f"{r['rows']:,} rows: worst relative difference of the statistics where both "
                f"ran the same test: {c['worst_rel_diff']:.1e}"
            )
            for p in c["problems"]:
                console.print(f"  [yellow]{p['column']}[/]: {p['problem']}")
                for side in ("loopml", "evidently"):
                    if side in p:
                        x = p[side]
                        console.print(
                            f"      {side:9s} {x['kind']:11s} {x['test']:13s} "
                            f"statistic {x['statistic']:.10g}  threshold {x['threshold']}  "
                            f"drifted {x['drifted']}"
                        )
            for kind in r["loopml_kind_problems"]:
                console.print(f"  [yellow]WARNING[/] loopml column kind {kind}")
            if r["evidently_rule_mismatch"]:
                console.print(
                    f"  [yellow]WARNING[/] Evidently's test status differs from its documented "
                    f"rule on {', '.join(r['evidently_rule_mismatch'])}"
                )
            if not r["loopml"].get("kinds_given"):
                console.print(
                    "  note: loopml.drift has no parameter for column kinds: they were inferred"
                )

    pd_ = report["profile_drift"]
    if pd_:
        t = Table(
            title=f"profile-based drift report, {pd_['rows']:,} rows per side from "
            f"{pd_['files']} Parquet files each (loopml only)"
        )
        for h in (
            "profile ref",
            "profile cur",
            "drift + HTML",
            "total",
            "child wall",
            "peak RSS",
            f"< {BIG_PEAK_TARGET_MB:,.0f} MB",
            "vs generated truth",
        ):
            t.add_column(h, justify="right")
        wrong = pd_["loopml_vs_truth"]
        t.add_row(
            fmt_s(pd_["profile_ref_s"]),
            fmt_s(pd_["profile_cur_s"]),
            fmt_s(pd_["drift_html_s"]),
            fmt_s(pd_["seconds"]),
            fmt_s(pd_["wall_s"]),
            f"{pd_['peak_mb']:,.0f} MB",
            verdict(pd_["passed"]["peak"]),
            "25/25" if not wrong else "differs: " + ", ".join(wrong),
        )
        console.print(t)
        console.print(
            "Evidently is not run at this size: it runs out of memory there (evidently issue 1526)."
        )
        for c in pd_["columns"]:
            if c["column"] in wrong or c.get("uncertain"):
                console.print(
                    f"  [yellow]{c['column']}[/]: {c['test']} statistic {c['statistic']:.6g} "
                    f"(error {c['error']}), threshold {c['threshold']}, drifted {c['drifted']}, "
                    f"uncertain {c['uncertain']}"
                )
        for kind in pd_["loopml_kind_problems"]:
            console.print(f"  [yellow]WARNING[/] loopml column kind {kind}")

    ray = report["ray"]
    if ray:
        t = Table(title=f"loopml.profile of {ray['rows']:,} rows ({ray['files']} files)")
        for h in (
            "one process",
            "Ray (profile)",
            "Ray start",
            "Ray total",
            "speed-up",
            "merges to the same profile",
        ):
            t.add_column(h, justify="right")
        lo, ra = ray["local"], ray["ray"]
        t.add_row(
            fmt_s(lo["seconds"]),
            fmt_s(ra["seconds"]),
            fmt_s(ra["ray_start_s"]),
            fmt_s(ra["seconds"] + (ra["ray_start_s"] or 0)),
            f"{lo['seconds'] / ra['seconds']:.2f}x",
            "[green]yes[/]" if ray["passed"]["same_profile"] else "[bold red]no[/]",
        )
        console.print(t)
        ck = ray["checked"]
        console.print(
            f"checked {ck['columns']} columns: rows, missing, exact counts equal; means within "
            f"1e-12 (worst {ck['worst_mean_rel']:.1e}); {ck['quantiles']} quantiles within the "
            f"sketches' rank error (worst rank gap minus allowed: {ck['worst_rank_excess']:+.5f})"
        )
        for p in ray["differences"]:
            console.print(f"  [yellow]{p}[/]")
    console.print("[bold]" + ("all targets PASS" if report["passed"] else "some targets FAIL"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        nargs="*",
        help="row counts to compare with Evidently (default 100000 1000000; none: skip)",
    )
    parser.add_argument(
        "--skip-10m", action="store_true", help="skip the 10M-row profile-based report"
    )
    parser.add_argument("--skip-ray", action="store_true", help="skip profiling on Ray")
    parser.add_argument(
        "--quick", action="store_true", help="smoke check: 20k rows; profiles of 10 x 20k rows"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each side N times, interleaved; compare the median times (default 1)",
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="time the first call in each child"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR, help="where the generated Parquet data goes"
    )
    parser.add_argument("--keep-html", type=Path, help="keep the HTML reports in this folder")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--save-json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--verbose", action="store_true", help="show children's output")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "PARAMS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], json.loads(args.child[1]))
        return 0
    args.data_dir = args.data_dir.resolve()
    ensure_evidently()
    if args.keep_html:
        args.keep_html.mkdir(parents=True, exist_ok=True)
        tmp = args.keep_html.resolve()
    else:
        tmp = Path(tempfile.mkdtemp(prefix="loopml-drift-bench-"))
    try:
        report = run_all(args, tmp)
    finally:
        if not args.keep_html:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.save_json:
        args.save_json.write_text(json.dumps(report, indent=2))
    return _harness.show_report(report, args.json, print_report, report["passed"])


if __name__ == "__main__":
    sys.exit(main())
