"""The infra check: does the bundle load and answer in a clean process?

A fresh ``python -I -S`` (no site-packages, no user site, no environment variables) gets a
``sys.path`` of the standard library plus a folder of symlinks to exactly the distributions in
the bundle's lock (the ``Requires-Dist`` closure of its requirements), so an import the lock
does not cover fails as it would in a fresh environment. The child runs
:mod:`loopml.models._infra_runner` (stdlib only) on the bundle's files and prints its
predictions for the input example, which must equal the parent's.

It checks the installed versions, not whether they can be installed from an index; a
requirement installed in editable mode is refused. (A venv built with pip costs about 17 s
here; this costs about 0.1 s plus the child's imports.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT_S = 300


@dataclass
class InfraResult:
    ok: bool
    seconds: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "seconds": round(self.seconds, 3), "error": self.error}


def build_farm(lock: list[str], dest: Path) -> list[str]:
    """Symlink every top-level entry of each locked distribution into ``dest``; returns the
    problems (missing or editable distributions)."""
    from importlib.metadata import PackageNotFoundError, distribution

    problems = []
    for pin in lock:
        name = pin.split("==")[0]
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            problems.append(f"{name} is not installed")
            continue
        files = dist.files or []
        if any(str(f).startswith("__editable__") or str(f).endswith(".pth") for f in files):
            problems.append(f"{name} is installed in editable mode; the check needs a real install")
            continue
        base = Path(str(dist.locate_file("")))
        tops = {
            f.parts[0]
            for f in files
            if f.parts
            and f.parts[0] not in ("..", "__pycache__")
            and not f.parts[0].endswith((".data", ".pth"))
        }
        for top in sorted(tops):
            source, target = base / top, dest / top
            if source.exists() and not target.exists():
                target.symlink_to(source)
    return problems


def infra_check(name: str, version: int, *, path: Any = None) -> InfraResult:
    """Load ``models:/name/version`` in a clean process and compare its predictions."""
    import numpy as np

    from loopml._workspace import workspace
    from loopml.models._loader import download, load_model

    started = time.perf_counter()
    here = load_model(f"models:/{name}/{version}", path=path)
    if here.input_example is None:
        return InfraResult(False, 0.0, "the version has no input example to run")
    if here.flavor == "pyfunc":
        return InfraResult(False, 0.0, "a pickled (pyfunc) model is not run in the infra check")
    record = workspace(path).store.get_model_version(name, version)
    expected = here.model.predict(here.input_example)
    with tempfile.TemporaryDirectory(prefix="loopml-infra-") as tmp:
        folder, farm = Path(tmp) / "bundle", Path(tmp) / "site"
        farm.mkdir()
        download(f"models:/{name}/{version}", folder, path=path)
        problems = build_farm(list(here.manifest.get("lock") or []), farm)
        if problems:
            return InfraResult(False, time.perf_counter() - started, "; ".join(problems))
        runner = Path(__file__).with_name("_infra_runner.py")
        code = (
            f"import sys; sys.path.insert(0, {str(farm)!r}); sys.argv = sys.argv[1:]; "
            f"exec(compile(open({str(runner)!r}).read(), {str(runner)!r}, 'exec'))"
        )
        meta = json.dumps(dict(here.manifest.get("meta") or {}))
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    code,
                    "runner",
                    str(folder),
                    here.flavor,
                    json.dumps(record.trusted_types),
                    meta,
                ],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                env={"PATH": os.environ.get("PATH", ""), "HOME": tmp},
                check=False,
            )
        except subprocess.TimeoutExpired:
            return InfraResult(False, time.perf_counter() - started, f"timed out ({TIMEOUT_S} s)")
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return InfraResult(False, seconds, f"the clean process failed: {last}")
    try:
        got = json.loads(done.stdout.strip().splitlines()[-1])["predictions"]
    except (ValueError, KeyError, IndexError):
        return InfraResult(False, seconds, "the clean process printed no predictions")
    want = np.asarray(expected)
    if want.dtype.kind in "fc":
        same = np.allclose(np.asarray(got, dtype=float), want.astype(float), rtol=1e-6, atol=1e-9)
    else:
        same = [str(v) for v in np.ravel(want)] == [str(v) for v in np.ravel(got)]
    if not same:
        return InfraResult(False, seconds, "its predictions differ from this process's")
    return InfraResult(True, seconds)
