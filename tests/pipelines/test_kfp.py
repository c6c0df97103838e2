"""Kubeflow Pipelines export: the real kfp compiler, and the exported YAML run with kfp.local.

The YAML is loaded back with ``kfp.components.load_component_from_file`` and run under
``kfp.local`` ``SubprocessRunner(use_venv=False)``: every step is a subprocess of this Python in
the test's project folder, importing ``flow.py`` from there. Its outputs must equal the outputs
of the same pipeline run by loopml in this process.

kfp 2.17 emits no warning on these paths, so no warning filter is needed here (pytest turns
every warning into an error); ``run_kfp_locally`` itself silences kfp's RuntimeWarning about a
non-Python image name, since the SubprocessRunner never uses the image.
"""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from loopml._errors import InvalidInputError
from loopml.pipelines._kfp import compile_kfp, run_kfp_locally
from tests.pipelines._project import CodeProject

FLOW = """
from __future__ import annotations

import numpy as np
import pandas as pd

import loopml


@loopml.step
def make(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(rows, dtype="float64"), "k": np.arange(rows) % 3})


@loopml.step
def summarize(data: pd.DataFrame, scale: float, tags: dict | None, label: str, cols: tuple) -> dict:
    return {
        "label": label,
        "rows": len(data),
        "total": float(data[list(cols)].to_numpy().sum() * scale),
        "tags": tags,
    }


@loopml.step
def combine(data: pd.DataFrame, info: dict, scale: float) -> np.ndarray:
    return data["x"].to_numpy() * scale + info["rows"]


@loopml.pipeline
def flow(rows: int = 5, scale: float = 2.0, tags: dict | None = None):
    data = make(rows)
    info = summarize(data, scale, tags, label="demo", cols=("x",))
    return {"table": data, "info": info, "scaled": combine(data, info, scale)}
"""


@pytest.fixture
def flow(code: CodeProject) -> Any:
    code.write("flow.py", FLOW)
    return code.load_pipeline("flow.py:flow")


def _assert_same_outputs(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert sorted(got) == sorted(expected) == ["info", "scaled", "table"]
    pd.testing.assert_frame_equal(got["table"], expected["table"])
    assert got["info"] == expected["info"]
    assert isinstance(got["scaled"], np.ndarray)
    np.testing.assert_array_equal(got["scaled"], expected["scaled"])
    assert got["scaled"].dtype == expected["scaled"].dtype


@pytest.mark.slow
def test_the_exported_yaml_is_kfp_ir_and_runs_on_kfp_local_like_loopml(
    flow: Any, project: Path
) -> None:
    from kfp import components

    path = compile_kfp(flow, "flow.py:flow", project / "out" / "flow.yaml")
    assert path == project / "out" / "flow.yaml"

    loaded = components.load_component_from_file(str(path))
    spec = loaded.component_spec
    assert spec.name == "flow"
    assert {n: (i.type, i.default) for n, i in spec.inputs.items()} == {
        "rows": ("Integer", 5),
        "scale": ("Float", 2.0),
        "tags": ("String", "null"),  # JSON values travel as JSON text
    }
    assert sorted(spec.outputs) == ["info", "scaled", "table"]

    ir = yaml.safe_load(path.read_text())
    tasks = ir["root"]["dag"]["tasks"]
    assert sorted(tasks) == ["combine", "make", "summarize"]
    summarize = tasks["summarize"]["inputs"]
    constant = summarize["parameters"]["params"]["runtimeValue"]["constant"]
    assert constant == '{"label": "demo"}'  # the tuple constant comes from the code
    assert summarize["parameters"]["step_target"]["runtimeValue"]["constant"] == "flow.py:flow"
    assert summarize["parameters"]["scale"] == {"componentInputParameter": "scale"}
    assert summarize["artifacts"]["data"] == {
        "taskOutputArtifact": {"outputArtifactKey": "output", "producerTask": "make"}
    }
    assert sorted(tasks["combine"]["dependentTasks"]) == ["make", "summarize"]
    image = ir["deploymentSpec"]["executors"]["exec-make"]["container"]["image"]
    assert image == "python:3.11"

    started = time.perf_counter()
    got = run_kfp_locally(path, scale=0.5, tags={"team": "ml", "n": 1})
    seconds = time.perf_counter() - started
    print(f"kfp.local ran {len(tasks)} steps in {seconds:.2f} s")

    expected = flow.run(scale=0.5, tags={"team": "ml", "n": 1}).outputs
    _assert_same_outputs(got, expected)
    assert got["info"] == {"label": "demo", "rows": 5, "total": 5.0, "tags": {"team": "ml", "n": 1}}
    assert type(got["info"]["tags"]["n"]) is int  # not 1.0: params travel as JSON text


def test_step_options_are_compiled_into_the_tasks(code: CodeProject, project: Path) -> None:
    code.write(
        "opts.py",
        """
        import loopml

        @loopml.step(retries=2, retry_delay=0.5, env={"MODE": "fast"}, cache=False,
                     resources={"cpu": 0.5, "memory": 2**30})
        def first(flag: bool, name: str) -> int:
            return 1

        @loopml.step
        def first_2(node: int, params: int, step_target: int = 0) -> None:
            return None

        @loopml.pipeline(name="Opts_Flow")
        def opts(flag: bool = True, name: str = "a"):
            x = first(flag, name)
            first_2(x, x, step_target=3)
            return {"class": x}
        """,
    )
    pipeline = code.load_pipeline("opts.py")
    path = compile_kfp(pipeline, "opts.py", project / "opts.yaml", base_image="reg/img:1")
    ir = yaml.safe_load(path.read_text())
    assert ir["pipelineInfo"]["name"] == "opts-flow"
    tasks = ir["root"]["dag"]["tasks"]
    assert sorted(tasks) == ["first", "first-2"]
    first = tasks["first"]
    assert first["retryPolicy"]["maxRetryCount"] == 2
    assert first["cachingOptions"] == {}  # caching off
    assert tasks["first-2"]["cachingOptions"] == {"enableCache": True}
    # step arguments named like the component's own inputs get a "_" appended
    inputs = tasks["first-2"]["inputs"]
    assert sorted(inputs["artifacts"]) == ["node_", "params_"]
    assert inputs["parameters"]["params"]["runtimeValue"]["constant"] == '{"step_target": 3}'
    container = ir["deploymentSpec"]["executors"]["exec-first"]["container"]
    assert container["image"] == "reg/img:1"
    assert container["env"] == [{"name": "MODE", "value": "fast"}]
    assert container["resources"]["resourceCpuLimit"] == "500m"
    assert ir["root"]["inputDefinitions"]["parameters"]["flag"]["parameterType"] == "BOOLEAN"
    assert list(ir["root"]["outputDefinitions"]["artifacts"]) == ["class_"]  # a keyword


def test_a_parameter_kfp_cannot_hold_is_refused_when_compiling(
    code: CodeProject, project: Path
) -> None:
    code.write(
        "bad.py",
        """
        from pathlib import Path

        import loopml

        @loopml.step
        def read(where: Path) -> int:
            return 1

        @loopml.pipeline
        def bad(where: Path = Path("data.csv")):
            return read(where)
        """,
    )
    pipeline = code.load_pipeline("bad.py:bad")
    with pytest.raises(InvalidInputError) as caught:
        compile_kfp(pipeline, "bad.py:bad", project / "bad.yaml")
    message = str(caught.value)
    assert "parameter 'where' is a Path" in message
    assert "int, float, bool, str, or JSON" in message
    assert not (project / "bad.yaml").exists()


def test_without_kfp_the_error_says_what_to_install(
    flow: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "kfp", None)  # `import kfp` now raises ImportError
    with pytest.raises(InvalidInputError, match=r"pip install 'loopml\[kfp\]'"):
        compile_kfp(flow, "flow.py:flow", project / "flow.yaml")
    with pytest.raises(InvalidInputError, match=r"pip install 'loopml\[kfp\]'"):
        run_kfp_locally(project / "flow.yaml")


# -- the command ----------------------------------------------------------------------------------
def _loopml(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run ``loopml ARGS`` through the CLI's main (exit code, stdout, stderr)."""
    import typer

    from loopml._cli import _output, export
    from loopml._cli import app as app_module

    if not any(group.name == "export" for group in app_module.app.registered_groups):
        app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
        app.add_typer(export.app, name="export")
        monkeypatch.setattr(app_module, "app", app)
    monkeypatch.setitem(app_module._debug, "on", False)
    monkeypatch.setenv("COLUMNS", "200")
    _output.console.cache_clear()
    _output.err_console.cache_clear()
    capsys.readouterr()
    code = 0
    try:
        app_module.main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    _output.console.cache_clear()
    _output.err_console.cache_clear()
    return code, out, err


def test_loopml_export_kfp_writes_the_yaml(
    flow: Any,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = _loopml(
        capsys,
        monkeypatch,
        "export",
        "kfp",
        "flow.py:flow",
        "-o",
        "x.yaml",
        "--base-image",
        "a/b:1",
    )
    assert (code, err) == (0, "")
    assert "wrote x.yaml" in out
    assert "3 steps" in out
    ir = yaml.safe_load((project / "x.yaml").read_text())
    assert sorted(ir["root"]["dag"]["tasks"]) == ["combine", "make", "summarize"]
    assert ir["deploymentSpec"]["executors"]["exec-combine"]["container"]["image"] == "a/b:1"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("nope.py:flow", "error: no such file: nope.py"),
        ("flow.py:other", "error: flow.py has no pipeline named 'other'"),
    ],
)
def test_loopml_export_kfp_with_a_bad_target_is_one_line(
    flow: Any,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    expected: str,
) -> None:
    code, out, err = _loopml(capsys, monkeypatch, "export", "kfp", target, "-o", "x.yaml")
    assert code == 1
    assert out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith(expected)
    assert not (project / "x.yaml").exists()


def test_loopml_export_kfp_without_kfp_is_one_line(
    flow: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "kfp", None)
    code, _, err = _loopml(capsys, monkeypatch, "export", "kfp", "flow.py:flow", "-o", "x.yaml")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "pip install 'loopml[kfp]'" in err


def test_the_generated_component_source_is_registered_for_inspect(flow: Any) -> None:
    """kfp ships each component's source text; it must read the generated function's."""
    import inspect

    from loopml.pipelines import _kfp

    plans = _kfp._plan(flow, _kfp._pipeline_params(flow))
    component = _kfp._make_component(plans[1], "python:3.11", [])
    source = inspect.getsource(component.python_func)
    assert source.startswith("def summarize(step_target: str, node: str, params: str,")
    assert "run_kfp_step(step_target, node, params, {'data': data}" in textwrap.dedent(source)


def test_run_kfp_step_runs_one_node_between_artifact_files(flow: Any, project: Path) -> None:
    """The component body's entry point, without kfp: files in, files and metadata out."""
    from types import SimpleNamespace

    from loopml.pipelines._kfp import run_kfp_step

    def artifact(name: str) -> SimpleNamespace:
        return SimpleNamespace(path=str(project / "a" / name), uri=f"file:{name}", metadata={})

    table, info = artifact("table"), artifact("info")
    run_kfp_step("flow.py:flow", "make", "{}", {}, {"output": table}, {"rows": 3})
    assert table.metadata["loopml.materializer"] == "pandas"
    assert table.metadata["loopml.type"].endswith("DataFrame")
    assert table.metadata["loopml.content_hash"].startswith("sha256:")
    run_kfp_step(
        "flow.py:flow",
        "summarize",
        '{"label": "x"}',
        {"data": table},
        {"output": info},
        {"scale": 1.0, "tags": '{"a": [1, 2]}'},
        ["tags"],
    )
    assert info.metadata["loopml.materializer"] == "json"
    assert (project / "a" / "info").read_bytes() == (
        b'{"label":"x","rows":3,"tags":{"a":[1,2]},"total":3.0}'
    )

    with pytest.raises(InvalidInputError, match=r"has no step node 'gone'.*export it again"):
        run_kfp_step("flow.py:flow", "gone", "{}", {}, {})
    stranger = SimpleNamespace(path=str(project / "a" / "table"), uri="file:x", metadata={})
    with pytest.raises(InvalidInputError, match=r"no 'loopml\.materializer' in its metadata"):
        run_kfp_step("flow.py:flow", "combine", "{}", {"data": stranger, "info": info}, {})
