"""Benchmark loopml's pipelines against ZenML and kfp.local, side by side.

Usage (from the repo root):

    .venv/bin/python benchmarks/pipelines.py [--repeat N] [--quick] [--json]
                                             [--skip-zenml] [--skip-kfp] [--verbose]

See benchmarks/README.md for what is measured and the targets.

ZenML and kfp are installed on first use into their own venvs at benchmarks/.venvs/zenml and
benchmarks/.venvs/kfp. Each measurement of the two-step pipeline writes a small project (the
pipeline in ``flow.py``, a driver ``main.py`` that imports it, runs it and prints JSON) into a
fresh folder and runs ``python main.py`` there in a new process, once for the first run and
once more, in another new process, for the cached re-run. The in-process loopml measurements
(per-step overhead, 200-step DAGs) run this file as a child (``--child inproc PARAMS``) in a
fresh workspace. This file only imports the standard library at module level.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# _harness.py sits next to this file. Children run with -P (this folder is not on their
# sys.path), so it is put there only for this import.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness
from _harness import RESULT, say

sys.path.pop(0)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
_VENV_PY = ROOT / ".venv" / "bin" / "python"
LOOPML_PY = _VENV_PY if _VENV_PY.exists() else Path(sys.executable)
VENVS = ROOT / "benchmarks" / ".venvs"
# The versions the research note (docs/design/pipelines.md) measured; the newest on PyPI.
PINS = {"zenml": ("zenml[local]==0.98.0",), "kfp": ("kfp==2.17.3",)}
PYTHONS = {
    "loopml": LOOPML_PY,
    "zenml": VENVS / "zenml" / "bin" / "python",
    "kfp": VENVS / "kfp" / "bin" / "python",
    "kfp-install": VENVS / "kfp" / "bin" / "python",
}
LABELS = {
    "loopml": "loopml",
    "zenml": "ZenML",
    "kfp": "kfp.local",
    "kfp-install": "kfp.local (install_kfp_package)",
}

N_ITEMS = 1000  # step 1 makes list(range(N_ITEMS)); step 2 sums it
ZENML_TARGET = 5.0  # loopml at least 5x faster than ZenML ...
KFP_TARGET = 2.0  # ... and 2x faster than kfp.local, first run and cached re-run
STEP_OVERHEAD_TARGET_MS = 10.0  # in-process overhead per step
DAG_TARGET_S = 2.0  # a 200-step DAG, in-process
OVERHEAD_STEPS = 50
DAG_STEPS = 200

# --------------------------------------------------------------------------
# The two-step pipeline, written into a fresh project folder for each measurement.
# --------------------------------------------------------------------------

FLOWS = {
    "loopml": '''"""The benchmark's two-step pipeline, loopml."""

import loopml


@loopml.step
def make(n: int) -> list:
    return list(range(n))


@loopml.step
def total(data: list) -> int:
    return sum(data)


@loopml.pipeline
def two_step(n: int = 1000):
    return total(make(n))
''',
    "zenml": '''"""The benchmark's two-step pipeline, ZenML."""

from zenml import pipeline, step


@step
def make(n: int) -> list:
    return list(range(n))


@step
def total(data: list) -> int:
    return sum(data)


@pipeline(enable_cache=True)
def two_step(n: int = 1000):
    total(make(n))
''',
    # Lists travel as a JSON artifact: kfp turns numbers nested in a list parameter to floats.
    "kfp": '''"""The benchmark's two-step pipeline, kfp."""

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package={install})
def make(n: int, out: dsl.Output[dsl.Artifact]):
    import json

    with open(out.path, "w") as f:
        json.dump(list(range(n)), f)


@dsl.component(base_image="python:3.11", install_kfp_package={install})
def total(data: dsl.Input[dsl.Artifact]) -> int:
    import json

    with open(data.path) as f:
        return sum(json.load(f))


@dsl.pipeline
def two_step(n: int = 1000) -> int:
    return total(data=make(n=n).outputs["out"]).output
''',
}

# The driver: import the project, set up, run, then check (the check's time is taken off
# the process wall time, so loading ZenML's output to verify it costs ZenML nothing).
DRIVER = """import time

T0 = time.perf_counter()
import flow

T1 = time.perf_counter()
{setup}
T2 = time.perf_counter()
{run}
T3 = time.perf_counter()
import json

{check}
result.update(import_s=T1 - T0, setup_s=T2 - T1, run_s=T3 - T2, check_s=time.perf_counter() - T3)
print({marker!r} + json.dumps(result), flush=True)
"""

SETUP = {
    "loopml": "",
    "zenml": "",
    # kfp.local logs a cache hit with logging.info on the root logger: collect those.
    "kfp": """import logging

from kfp import local

HITS = []


class CacheHits(logging.Handler):
    def emit(self, record):
        if "cache hit" in record.getMessage():
            HITS.append(record.getMessage().split()[1])  # "Task make cache hit (key=...)"


logging.getLogger().addHandler(CacheHits(logging.INFO))
logging.getLogger().setLevel(logging.INFO)
local.init(
    runner=local.SubprocessRunner(use_venv=False),
    pipeline_root="kfp-outputs",
    enable_caching=True,
    cache_root="kfp-cache",
)""",
}

RUN = {
    "loopml": "run = flow.two_step.run(n={n})",
    "zenml": "run = flow.two_step(n={n})",
    "kfp": "task = flow.two_step(n={n})",
}

CHECK = {
    "loopml": """from pathlib import Path

import loopml

assert loopml.workspace().root == Path.cwd().resolve(), loopml.workspace()
result = {
    "output": run.output,
    "status": run.status,
    "steps": {name: s.status for name, s in run.steps.items()},
    "cached": len(run.cached_steps),
    "version": loopml.__version__,
}""",
    "zenml": """import zenml

steps = {name: str(s.status).split(".")[-1].lower() for name, s in run.steps.items()}
result = {
    "output": run.steps["total"].outputs["output"][0].load(),
    "status": str(run.status).split(".")[-1].lower(),
    "steps": steps,
    "cached": sum(s == "cached" for s in steps.values()),
    "version": zenml.__version__,
}""",
    "kfp": """import kfp

steps = {name: "cache hit" if name in HITS else "executed" for name in ("make", "total")}
result = {
    "output": task.output,
    "status": "finished",
    "steps": steps,
    "cached": sum(s == "cache hit" for s in steps.values()),
    "version": kfp.__version__,
}""",
}


def write_project(folder: Path, side: str) -> None:
    kind = "kfp" if side.startswith("kfp") else side
    folder.mkdir(parents=True)
    flow = FLOWS[kind].replace("{install}", str(side == "kfp-install"))
    (folder / "flow.py").write_text(flow)
    driver = DRIVER.format(
        setup=SETUP[kind], run=RUN[kind].format(n=N_ITEMS), check=CHECK[kind], marker=RESULT
    )
    (folder / "main.py").write_text(driver)


# --------------------------------------------------------------------------
# loopml in-process: N trivial steps as a chain or a fan-out/fan-in.
# --------------------------------------------------------------------------


def dag_module(shape: str, steps: int) -> str:
    """Source of a project module with pipelines ``warmup`` (1 step) and ``dag`` (``steps``
    steps), ``direct(n)`` calling the same step functions without a pipeline, ``expected(n)``
    and ``STEPS``. ``chain``: s000 -> s001 -> ...; ``fan``: src -> m000..mXXX -> sink."""
    out = [
        f'"""{steps} trivial steps ({shape}), generated by benchmarks/pipelines.py."""',
        "",
        "import loopml",
        "",
        f"STEPS = {steps}",
        "",
        "",
        "@loopml.step",
        "def warm(n: int) -> int:",
        "    return n",
        "",
        "",
        "@loopml.pipeline",
        "def warmup(n: int = 0):",
        "    return warm(n)",
        "",
    ]
    if shape == "chain":
        names = [f"s{i:03d}" for i in range(steps)]
        for name in names:
            out += ["", "@loopml.step", f"def {name}(x: int) -> int:", "    return x + 1", ""]
        body = ["    x = n", *(f"    x = {name}(x)" for name in names), "    return x"]
        out += ["", "@loopml.pipeline", "def dag(n: int = 0):", *body, ""]
        out += ["", "def direct(n):", *body, ""]
        out += ["", "def expected(n):", f"    return n + {steps}", ""]
    elif shape == "fan":
        mids = [f"m{i:03d}" for i in range(steps - 2)]
        args = [f"a{i:03d}" for i in range(len(mids))]
        out += ["", "@loopml.step", "def src(n: int) -> int:", "    return n", ""]
        for i, name in enumerate(mids):
            out += ["", "@loopml.step", f"def {name}(x: int) -> int:", f"    return x + {i}", ""]
        out += ["", "@loopml.step", "def sink(", *(f"    {a}: int," for a in args), ") -> int:"]
        out += ["    return sum([", *(f"        {a}," for a in args), "    ])", ""]
        body = ["    x = src(n)", "    return sink(", *(f"        {m}(x)," for m in mids), "    )"]
        out += ["", "@loopml.pipeline", "def dag(n: int = 0):", *body, ""]
        out += ["", "def direct(n):", *body, ""]
        total = sum(range(len(mids)))
        out += ["", "def expected(n):", f"    return {len(mids)} * n + {total}", ""]
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return "\n".join(out)


def child_inproc(params: dict[str, Any]) -> None:
    """In a fresh workspace (the cwd): define, warm up, time direct calls, a first run and a
    cached re-run of the generated module's ``dag`` pipeline."""
    import importlib

    import loopml

    root = Path.cwd().resolve()
    sys.path.insert(0, str(root))
    t = time.perf_counter()
    loopml.init(root)
    init_s = time.perf_counter() - t
    t = time.perf_counter()
    mod = importlib.import_module(params["module"])
    define_s = time.perf_counter() - t
    # Warm-up (runner imports, store opened, a cache miss and a cache hit): not timed below.
    t = time.perf_counter()
    assert mod.warmup.run(n=1).output == 1
    warm_first_s = time.perf_counter() - t
    t = time.perf_counter()
    assert mod.warmup.run(n=1).cached_steps == ["warm"]
    warm_cached_s = time.perf_counter() - t
    n = 7
    direct = []
    for _ in range(5):
        t = time.perf_counter()
        value = mod.direct(n)
        direct.append(time.perf_counter() - t)
        assert value == mod.expected(n)
    runs = {}
    for case in ("first", "cached"):
        t = time.perf_counter()
        run = mod.dag.run(n=n)
        seconds = time.perf_counter() - t
        assert run.output == mod.expected(n), (run.output, mod.expected(n))
        runs[case] = {
            "seconds": seconds,
            "steps": len(run.steps),
            "cached": len(run.cached_steps),
            "statuses": sorted({s.status for s in run.steps.values()}),
        }
    _harness.emit(
        {
            "init_s": init_s,
            "define_s": define_s,
            "warm_first_s": warm_first_s,
            "warm_cached_s": warm_cached_s,
            "direct_s": min(direct),
            "first": runs["first"],
            "cached": runs["cached"],
            "version": loopml.__version__,
        }
    )


def child_main(task: str, params: dict[str, Any]) -> None:
    if task != "inproc":
        raise SystemExit(f"unknown child task {task!r}")
    child_inproc(params)


# --------------------------------------------------------------------------
# Parent side.
# --------------------------------------------------------------------------


def child_env(side: str, cwd: Path) -> dict[str, str]:
    zenml = {  # a throwaway global config and store in the project folder
        "ZENML_CONFIG_PATH": str(cwd / "zenml-config"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_LOGGING_VERBOSITY": "WARN",
        "ZENML_ENABLE_RICH_TRACEBACK": "false",
    }
    # PYTHONDONTWRITEBYTECODE is dropped as an installed package would: the warm-up writes .pyc
    # files that later runs read. With it set (it is on these machines), a package installed in
    # editable mode (loopml here) is compiled from source in every process, and pip-installed
    # ones are not: about 70 ms of difference that no user sees.
    return _harness.child_env(
        ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE"),
        drop_prefixes=("LOOPML_", "ZENML_", "KFP_"),
        DO_NOT_TRACK="1",
        GIT_PYTHON_REFRESH="quiet",
        **(zenml if side == "zenml" else {}),
    )


def run_child(side: str, cmd: list[str], cwd: Path, verbose: bool) -> dict[str, Any]:
    """Run ``cmd`` in ``cwd``; return its result dict with the wall time of the whole child
    process (start to exit) added as ``wall_s``."""
    env = child_env(side, cwd)
    shown = f"{' '.join(cmd)} in {cwd}"
    return _harness.run_child(
        cmd, cwd, env, verbose, indent="    ", tail_lines=60, shown=shown, timed=True
    )


def ensure_venv(name: str) -> None:
    _harness.ensure_venv(VENVS / name, PINS[name], f"import {name}", takes="takes about 30 s")


def two_step_pair(side: str, folder: Path, verbose: bool) -> dict[str, dict[str, Any]]:
    """A first run and a cached re-run of the two-step pipeline, each in a new process, in a
    new project folder (with a fresh workspace / store / pipeline root)."""
    write_project(folder, side)
    cmd = [str(PYTHONS[side]), "main.py"]
    out = {}
    for case in ("first", "cached"):
        res = run_child(side, cmd, folder, verbose)
        res["user_s"] = res["wall_s"] - res["check_s"]  # the process without our checks
        out[case] = res
    return out


def check_two_step(side: str, case: str, res: dict[str, Any]) -> list[str]:
    """What is wrong with a result: output, step count, cached steps."""
    problems = []
    if res["output"] != N_ITEMS * (N_ITEMS - 1) // 2:
        problems.append(f"output {res['output']!r}")
    if len(res["steps"]) != 2:
        problems.append(f"{len(res['steps'])} steps")
    want = 2 if case == "cached" else 0
    if res["cached"] != want:
        problems.append(f"{res['cached']} of 2 steps cached, expected {want}: {res['steps']}")
    return problems


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def bench_two_step(sides: list[str], repeat: int, base: Path, verbose: bool) -> dict[str, Any]:
    say("[1/2] two-step pipeline, first run and cached re-run, each in a new process")
    for side in sides:  # warm-up: .pyc files and the OS page cache, not recorded
        say(f"  warm-up: {LABELS[side]} ...")
        try:
            two_step_pair(side, base / f"warmup-{side}", verbose)
        except RuntimeError as exc:
            say(f"    failed: {str(exc).splitlines()[0]}")
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        s: {"first": [], "cached": []} for s in sides
    }
    errors: dict[str, str] = {}
    for i in range(repeat):  # interleaved, so load changes hit every side alike
        for side in sides:
            if side in errors:
                continue
            say(f"  {LABELS[side]} (run {i + 1}/{repeat}) ...")
            try:
                pair = two_step_pair(side, base / f"{side}-{i}", verbose)
            except RuntimeError as exc:
                if side != "kfp-install":
                    raise
                errors[side] = str(exc).splitlines()[0]
                say(f"    failed (information only): {errors[side]}")
                continue
            for case, res in pair.items():
                runs[side][case].append(res)
            say(
                "    first {:.2f} s, cached {:.2f} s ({} of 2 steps cached)".format(
                    pair["first"]["user_s"], pair["cached"]["user_s"], pair["cached"]["cached"]
                )
            )
    sides_out: dict[str, Any] = {}
    for side in sides:
        if side in errors:
            sides_out[side] = {"error": errors[side]}
            continue
        sides_out[side] = {"version": runs[side]["first"][0]["version"]}
        for case in ("first", "cached"):
            rs = runs[side][case]
            problems = sorted({p for r in rs for p in check_two_step(side, case, r)})
            sides_out[side][case] = {
                "wall_s": median_of(rs, "user_s"),
                "run_s": median_of(rs, "run_s"),
                "import_s": median_of(rs, "import_s"),
                "setup_s": median_of(rs, "setup_s"),
                "all_wall_s": [r["user_s"] for r in rs],
                "all_raw_wall_s": [r["wall_s"] for r in rs],
                "all_run_s": [r["run_s"] for r in rs],
                "check_s": median_of(rs, "check_s"),
                "steps": rs[-1]["steps"],
                "cached": [r["cached"] for r in rs],
                "problems": problems,
            }
    targets = []
    lm = sides_out["loopml"]
    for other, factor in (("zenml", ZENML_TARGET), ("kfp", KFP_TARGET)):
        for case in ("first", "cached"):
            row: dict[str, Any] = {
                "case": case,
                "other": other,
                "target": f">= {factor:.0f}x",
                "ratio": None,
                "run_ratio": None,
                "passed": None,
            }
            if other in sides_out and "error" not in sides_out[other]:
                theirs, ours = sides_out[other][case], lm[case]
                row["ratio"] = theirs["wall_s"] / ours["wall_s"]
                row["run_ratio"] = theirs["run_s"] / ours["run_s"]
                valid = not ours["problems"] and not theirs["problems"]
                row["passed"] = valid and row["ratio"] >= factor
            targets.append(row)
    return {"sides": sides_out, "targets": targets}


def bench_inproc(repeat: int, base: Path, verbose: bool) -> dict[str, Any]:
    say("[2/2] loopml in-process: per-step overhead and 200-step DAGs")
    configs = [
        ("overhead", "chain", OVERHEAD_STEPS),
        ("chain", "chain", DAG_STEPS),
        ("fan", "fan", DAG_STEPS),
    ]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in configs}
    for i in range(repeat):
        for name, shape, steps in configs:
            folder = base / f"inproc-{name}-{i}"
            folder.mkdir(parents=True)
            module = f"flow_{shape}_{steps}"
            (folder / f"{module}.py").write_text(dag_module(shape, steps))
            say(f"  {steps} steps, {shape} (run {i + 1}/{repeat}) ...")
            params = json.dumps({"module": module})
            cmd = [str(LOOPML_PY), "-P", str(SCRIPT), "--child", "inproc", params]
            res = run_child("loopml", cmd, folder, verbose)
            res["shape"], res["steps"] = shape, steps
            say(
                f"    first {res['first']['seconds']:.3f} s, cached {res['cached']['seconds']:.3f}"
                f" s ({res['cached']['cached']} of {steps} cached)"
            )
            runs[name].append(res)
    out: dict[str, Any] = {}
    for name, shape, steps in configs:
        rs = runs[name]
        entry: dict[str, Any] = {"shape": shape, "steps": steps}
        for key in ("define_s", "warm_first_s", "warm_cached_s", "direct_s", "init_s"):
            entry[key] = median_of(rs, key)
        for case in ("first", "cached"):
            seconds = [r[case]["seconds"] for r in rs]
            per_step = [(r[case]["seconds"] - r["direct_s"]) / steps for r in rs]
            want = steps if case == "cached" else 0
            problems = sorted(
                {
                    f"{r[case]['cached']} of {steps} cached, expected {want}"
                    for r in rs
                    if r[case]["cached"] != want or r[case]["steps"] != steps
                }
            )
            entry[case] = {
                "seconds": float(statistics.median(seconds)),
                "per_step_s": float(statistics.median(per_step)),
                "all_seconds": seconds,
                "cached": [r[case]["cached"] for r in rs],
                "statuses": rs[-1][case]["statuses"],
                "problems": problems,
            }
            if name == "overhead":
                ok = entry[case]["per_step_s"] * 1000 < STEP_OVERHEAD_TARGET_MS
            else:
                ok = entry[case]["seconds"] < DAG_TARGET_S
            entry[case]["passed"] = ok and not problems
        out[name] = entry
    return out


def run_all(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    sides = ["loopml"]
    if not args.skip_zenml:
        sides.append("zenml")
    if not args.skip_kfp:
        sides.append("kfp")
        if not args.quick:
            sides.append("kfp-install")
    two = bench_two_step(sides, args.repeat, base, args.verbose)
    inproc = bench_inproc(args.repeat, base, args.verbose)
    versions = {
        LABELS[s]: v["version"] for s, v in two["sides"].items() if "version" in v and s in PINS
    } | {"loopml": two["sides"]["loopml"]["version"]}
    passed = all(t["passed"] is not False for t in two["targets"]) and all(
        inproc[name][case]["passed"] for name in inproc for case in ("first", "cached")
    )
    return {
        "settings": {
            "quick": args.quick,
            "repeat": args.repeat,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "items": N_ITEMS,
            "primary_figure": "whole child process wall time, start to exit, less its checks",
        },
        "versions": versions,
        "two_step": two,
        "inproc": inproc,
        "passed": passed,
    }


# --------------------------------------------------------------------------
# Output.
# --------------------------------------------------------------------------


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def fmt_ratio(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.1f}x" if x >= 0.95 else f"{x:.2f}x"


def fmt_ms(x: float) -> str:
    return f"{x * 1000:.2f} ms"


def verdict(ok: bool | None) -> str:
    return {True: "[green]PASS[/]", False: "[bold red]FAIL[/]", None: "skipped"}[ok]


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped: don't squeeze the tables into 80 columns
        console = Console(width=200)
    s, v = report["settings"], report["versions"]
    names = ", ".join(f"{k} {val}" for k, val in v.items())
    console.print(
        f"[bold]pipelines benchmark[/] ({names}; Python {s['python']}, {s['cpus']} CPUs; "
        + (f"median of {s['repeat']} interleaved runs)" if s["repeat"] > 1 else "one run of each)")
    )
    two = report["two_step"]
    sides = two["sides"]
    shown = [x for x in ("loopml", "zenml", "kfp") if x in sides]

    t = Table(
        title=f"two-step pipeline (make list(range({s['items']})) -> sum), new process per run: "
        "whole-process wall time"
    )
    t.add_column("run")
    for x in shown:
        t.add_column(LABELS[x], justify="right")
    for other in ("zenml", "kfp"):
        if other in shown:
            t.add_column(f"{LABELS[other]} / loopml", justify="right")
            t.add_column(f">= {ZENML_TARGET if other == 'zenml' else KFP_TARGET:.0f}x")
    by_case = {(r["case"], r["other"]): r for r in two["targets"]}
    for case, label in (("first", "first run (fresh store)"), ("cached", "fully cached re-run")):
        cells = [label, *(fmt_s(sides[x][case]["wall_s"]) for x in shown)]
        for other in ("zenml", "kfp"):
            if other in shown:
                r = by_case[(case, other)]
                cells += [fmt_ratio(r["ratio"]), verdict(r["passed"])]
        t.add_row(*cells)
    console.print(t)
    console.print(
        "The targets use the whole-process wall time (interpreter start, imports, run, exit), "
        "as the issue's anchor figures do; each child's own output checks are taken off it."
    )

    t = Table(title="two-step pipeline: details (medians; all runs listed)")
    for h in (
        "side",
        "run",
        "whole process",
        "all runs",
        "import",
        "setup",
        "run call",
        "run-call ratio",
        "step statuses",
        "cached per run",
        "checks",
    ):
        t.add_column(h, justify="left" if h in ("side", "run", "step statuses") else "right")
    for x in sides:
        if "error" in sides[x]:
            t.add_row(LABELS[x], "-", "failed: " + sides[x]["error"][:80])
            continue
        for case in ("first", "cached"):
            r = sides[x][case]
            ratio = "-"
            if x != "loopml":
                ratio = fmt_ratio(r["run_s"] / sides["loopml"][case]["run_s"])
            statuses = ", ".join(f"{k} {val}" for k, val in r["steps"].items())
            cached = "/".join(str(c) for c in r["cached"])
            check = "[red]" + "; ".join(r["problems"]) + "[/]" if r["problems"] else "ok"
            t.add_row(
                LABELS[x],
                case,
                fmt_s(r["wall_s"]),
                " / ".join(fmt_s(w) for w in r["all_wall_s"]),
                fmt_s(r["import_s"]),
                fmt_s(r["setup_s"]),
                fmt_s(r["run_s"]),
                ratio,
                statuses,
                cached,
                check,
            )
    console.print(t)
    console.print(
        "import = `import flow` (the library and the pipeline definition); setup = kfp's "
        "local.init; run call = the pipeline call alone, in-process (info: the targets use the "
        "whole process). Cached statuses come from loopml's PipelineRun.cached_steps, ZenML's "
        "step run statuses and kfp.local's 'cache hit' log records."
    )

    inproc = report["inproc"]
    t = Table(title="loopml in-process (a warm process: runner imported, store open)")
    for h in (
        "pipeline",
        "define",
        "direct calls",
        "first run",
        "cached run",
        "per step, first",
        "per step, cached",
        "target",
        "first",
        "cached",
        "cached steps",
    ):
        t.add_column(h, justify="left" if h in ("pipeline", "target") else "right")
    for name, e in inproc.items():
        target = (
            f"< {STEP_OVERHEAD_TARGET_MS:.0f} ms per step"
            if name == "overhead"
            else f"< {DAG_TARGET_S:.0f} s per run"
        )
        problems = e["first"]["problems"] + e["cached"]["problems"]
        t.add_row(
            f"{e['steps']} steps, " + ("fan-out/fan-in" if e["shape"] == "fan" else "chain"),
            fmt_s(e["define_s"]),
            fmt_ms(e["direct_s"]),
            fmt_s(e["first"]["seconds"]),
            fmt_s(e["cached"]["seconds"]),
            fmt_ms(e["first"]["per_step_s"]),
            fmt_ms(e["cached"]["per_step_s"]),
            target,
            verdict(e["first"]["passed"]),
            verdict(e["cached"]["passed"]),
            "[red]" + "; ".join(problems) + "[/]"
            if problems
            else f"0 then {e['steps']} of {e['steps']}",
        )
    console.print(t)
    ov = inproc["overhead"]
    console.print(
        f"per step = (pipeline.run() - the same step functions called directly) / steps. Before "
        f"timing, each child ran `loopml.init` ({fmt_s(ov['init_s'])}) and a 1-step pipeline "
        f"twice: {fmt_s(ov['warm_first_s'])} (first in the process: imports, store open), "
        f"{fmt_s(ov['warm_cached_s'])} (cached). define = importing the generated module "
        "(tracing the pipeline)."
    )
    skipped = sum(t["passed"] is None for t in two["targets"])
    verdict_line = "all targets PASS" if report["passed"] else "some targets FAIL"
    if skipped:
        verdict_line += f" ({skipped} skipped: a tool was not run)"
    console.print("[bold]" + verdict_line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, help="runs of every measurement, interleaved (default 3, quick 1)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke check: one run of each, no kfp install_kfp_package=True row",
    )
    parser.add_argument("--skip-zenml", action="store_true", help="do not run ZenML")
    parser.add_argument("--skip-kfp", action="store_true", help="do not run kfp.local")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--verbose", action="store_true", help="show children's output")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "PARAMS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], json.loads(args.child[1]))
        return 0
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if not args.skip_zenml:
        ensure_venv("zenml")
    if not args.skip_kfp:
        ensure_venv("kfp")
    base = Path(tempfile.mkdtemp(prefix="loopml-pipelines-bench-"))
    try:
        report = run_all(args, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return _harness.show_report(report, args.json, print_report, report["passed"])


if __name__ == "__main__":
    sys.exit(main())
