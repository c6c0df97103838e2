"""``loopml run``, ``loopml cache list|clear`` and ``loopml lineage`` on a pipeline file."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

import loopml
from tests.cli.conftest import FLOW, Cli, CodeProject, one_line_error

SECOND = """

@loopml.pipeline
def other(rows: int = 2):
    return load(rows)
"""

FAILING = """
import loopml


@loopml.step
def base(rows: int) -> int:
    return rows * 10


@loopml.step
def fragile(value: int) -> int:
    raise RuntimeError("not fixed yet")


@loopml.step
def finish(value: int) -> int:
    return value + 1


@loopml.pipeline
def repairable(rows: int = 3):
    return finish(fragile(base(rows)))
"""


def step_lines(out: str) -> dict[str, str]:
    """{step: status} from the lines ``  finished load   12 ms  1a2b3c4d``."""
    found = {}
    for line in out.splitlines():
        match = re.match(r"^\s+(finished|cached|resumed|failed|skipped)\s+(\S+)\s+\d+ ms", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


# -- loopml run ---------------------------------------------------------------------------------
def test_run_a_pipeline_file_prints_each_step_and_the_summary(cli: Cli, flow: CodeProject) -> None:
    result = cli("run", "flow.py:flow", "-p", "rows=5")
    assert result.code == 0, result.err
    assert step_lines(result.out) == {"load": "finished", "total": "finished"}
    assert re.search(
        r"flow run [0-9a-f]{8} finished in [\d.]+ s \(0 of 2 steps cached\)", result.out
    )
    (run,) = loopml.search_runs(filter="tags.loopml.kind = 'pipeline'")
    assert run.params["rows"] == "5"
    assert run.tags["loopml.pipeline.target"] == "flow.py:flow"


def test_a_second_run_says_the_steps_are_cached(cli: Cli, flow: CodeProject) -> None:
    assert cli("run", "flow.py:flow", "-p", "rows=5").code == 0
    result = cli("run", "flow.py:flow", "-p", "rows=5")
    assert result.code == 0, result.err
    assert step_lines(result.out) == {"load": "cached", "total": "cached"}
    assert "(2 of 2 steps cached)" in result.out


def test_no_cache_executes_every_step(cli: Cli, flow: CodeProject) -> None:
    assert cli("run", "flow.py:flow").code == 0
    result = cli("run", "flow.py:flow", "--no-cache")
    assert result.code == 0, result.err
    assert step_lines(result.out) == {"load": "finished", "total": "finished"}
    assert "(0 of 2 steps cached)" in result.out


def test_run_json_prints_the_run_and_its_steps(cli: Cli, flow: CodeProject) -> None:
    result = cli("run", "flow.py:flow", "-p", "rows=4", "-p", "scale=0.5", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["status"] == "finished"
    assert re.fullmatch(r"[0-9a-f]{32}", data["run_id"])
    assert {name: s["status"] for name, s in data["steps"].items()} == {
        "load": "finished",
        "total": "finished",
    }
    assert all(isinstance(s["seconds"], float) for s in data["steps"].values())
    run = loopml.get_run(data["run_id"])
    assert run.params == {"rows": "4", "scale": "0.5", "label": '"x"'}


PRINTING = """
import loopml


@loopml.step
def noisy(rows: int) -> int:
    print(f"step says {rows}")
    return rows


@loopml.pipeline
def chatty(rows: int = 3):
    return noisy(rows)
"""


def test_what_a_step_prints_shows_while_it_runs(cli: Cli, code: CodeProject) -> None:
    code.write("chatty.py", PRINTING)
    result = cli("run", "chatty.py")
    assert result.code == 0, result.err
    assert "step says 3" in result.out + result.err


def test_run_json_prints_only_json_even_when_a_step_prints(cli: Cli, code: CodeProject) -> None:
    code.write("chatty.py", PRINTING)
    result = cli("run", "chatty.py", "--json")
    assert result.code == 0, result.err
    assert result.json()["steps"]["noisy"]["status"] == "finished"


def test_a_file_without_a_name_runs_its_only_pipeline(cli: Cli, flow: CodeProject) -> None:
    result = cli("run", "flow.py", "-p", "rows=2")
    assert result.code == 0, result.err
    assert step_lines(result.out) == {"load": "finished", "total": "finished"}


def test_a_module_name_target_runs_from_the_project_folder(cli: Cli, flow: CodeProject) -> None:
    result = cli("run", "flow:flow", "--json")
    assert result.code == 0, result.err
    assert result.json()["status"] == "finished"


def test_a_file_with_several_pipelines_needs_a_name(cli: Cli, code: CodeProject) -> None:
    code.write("flow.py", FLOW + SECOND)
    line = one_line_error(cli("run", "flow.py"), "holds 2 pipelines (flow, other)", "flow.py:flow")
    assert "say which" in line
    assert cli("run", "flow.py:other").code == 0


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("missing.py:flow", ["no such file: missing.py"]),
        ("flow.py:nothing", ["has no pipeline named 'nothing'", "its pipelines: flow"]),
        ("flow.py:load", ["has no pipeline named 'load'", "is a Step"]),
        ("broken.py:flow", ["importing broken.py failed", "ZeroDivisionError"]),
        ("no_such_module:flow", ["cannot import 'no_such_module'"]),
    ],
    ids=["missing-file", "unknown-name", "a-step", "import-error", "unknown-module"],
)
def test_a_target_that_does_not_load_is_a_one_line_error(
    cli: Cli, flow: CodeProject, target: str, words: list[str]
) -> None:
    flow.write("broken.py", "import loopml\n\nVALUE = 1 / 0\n")
    one_line_error(cli("run", target), *words)


def test_run_without_a_target_is_a_one_line_error(cli: Cli, flow: CodeProject) -> None:
    one_line_error(cli("run"), "which pipeline?")


@pytest.mark.parametrize(
    ("pair", "words"),
    [
        ("rows", ["-p takes key=value, not 'rows'"]),
        ("=5", ["-p takes key=value"]),
        ("rows=abc", ["'rows'", "int", "'abc'"]),
        ("rows=5.5", ["'rows'", "int", "5.5"]),
        ("rows=true", ["'rows'", "int", "true"]),
        ("scale=fast", ["'scale'", "float", "'fast'"]),
    ],
    ids=["no-equals", "no-key", "int-text", "int-float", "int-bool", "float-text"],
)
def test_a_bad_parameter_pair_is_a_one_line_error(
    cli: Cli, flow: CodeProject, pair: str, words: list[str]
) -> None:
    one_line_error(cli("run", "flow.py:flow", "-p", pair), *words)
    assert loopml.search_runs() == []


def test_parameters_are_converted_to_their_annotated_types(cli: Cli, flow: CodeProject) -> None:
    result = cli(
        "run", "flow.py:flow", "-p", "rows=3", "-p", "scale=2", "-p", "label=007", "--json"
    )
    assert result.code == 0, result.err
    run = loopml.get_run(result.json()["run_id"])
    assert run.params == {"rows": "3", "scale": "2.0", "label": '"007"'}


def test_an_unknown_parameter_is_an_error_listing_the_parameters(
    cli: Cli, flow: CodeProject
) -> None:
    one_line_error(
        cli("run", "flow.py:flow", "-p", "colums=3"),
        "has no parameter(s) 'colums'",
        "its parameters: rows, scale, label",
    )


def test_a_failing_step_is_a_one_line_error_that_says_how_to_resume(
    cli: Cli, code: CodeProject
) -> None:
    code.write("repair.py", FAILING)
    result = cli("run", "repair.py:repairable")
    line = one_line_error(result, "step fragile of pipeline repairable failed")
    assert re.search(r"loopml run --resume [0-9a-f]{32}", line)
    assert "loopml runs show" in line


def test_resume_after_fixing_the_failing_step_reuses_the_finished_ones(
    cli: Cli, code: CodeProject
) -> None:
    code.write("repair.py", FAILING)
    failed = cli("run", "repair.py:repairable", "-p", "rows=4")
    match = re.search(r"--resume ([0-9a-f]{32})", failed.err)
    assert match, failed.err
    run_id = match.group(1)
    code.write("repair.py", FAILING.replace('raise RuntimeError("not fixed yet")', "return value"))

    result = cli("run", "--resume", run_id, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert {name: s["status"] for name, s in data["steps"].items()} == {
        "base": "resumed",
        "fragile": "finished",
        "finish": "finished",
    }
    resumed = loopml.get_run(data["run_id"])
    assert resumed.tags["loopml.resumed_from"] == run_id
    assert resumed.params["rows"] == "4"  # the failed run's parameters
    assert resumed.tags["loopml.pipeline.target"] == "repair.py:repairable"
    finish_run = loopml.get_run(data["steps"]["finish"]["run_id"])
    assert finish_run.status == "finished"
    (value,) = [e for e in workspace_lineage(finish_run.id) if e.direction == "out"]
    assert loopml.workspace().artifacts.get_bytes(value.digest) == b"41"


def workspace_lineage(run_id: str) -> list[Any]:
    return loopml.workspace().store.lineage_of_run(run_id)


def test_resume_of_a_run_started_from_python_needs_the_target(cli: Cli, code: CodeProject) -> None:
    code.write("repair.py", FAILING)
    pipeline = code.load_pipeline("repair.py:repairable")
    from loopml.pipelines import StepFailedError

    with pytest.raises(StepFailedError) as caught:
        pipeline.run()  # type: ignore[attr-defined]
    run_id = caught.value.run_id
    one_line_error(cli("run", "--resume", run_id), "does not say which pipeline it ran")
    code.write("repair.py", FAILING.replace('raise RuntimeError("not fixed yet")', "return value"))
    result = cli("run", "repair.py:repairable", "--resume", run_id[:8], "--json")
    assert result.code == 0, result.err
    assert result.json()["steps"]["base"]["status"] == "resumed"


def test_resume_of_an_unknown_run_is_a_one_line_error(cli: Cli, flow: CodeProject) -> None:
    one_line_error(cli("run", "--resume", "ffffffff"), "ffffffff")


# -- loopml cache ---------------------------------------------------------------------------------
def test_cache_list_shows_a_table_and_json(cli: Cli, flow: CodeProject) -> None:
    assert cli("cache", "list").out.strip() == "the cache is empty"
    cli("run", "flow.py:flow")
    cli("run", "flow.py:flow")
    table = cli("cache", "list")
    assert table.code == 0, table.err
    header = table.out.splitlines()[0].split()
    assert header == ["key", "step", "run", "created", "hits", "last", "hit"]
    assert "flow.load" in table.out and "flow.total" in table.out
    entries = cli("cache", "list", "--json").json()
    assert {e["step"]: e["hits"] for e in entries} == {"flow.load": 1, "flow.total": 1}
    assert all(e["key"].startswith("sha256:") for e in entries)
    assert {e["key"][7:19] for e in entries} <= set(table.out.split())
    only = cli("cache", "list", "--step", "flow.load", "--json").json()
    assert [e["step"] for e in only] == ["flow.load"]


def test_cache_clear_step_forgets_that_steps_entries_only(cli: Cli, flow: CodeProject) -> None:
    cli("run", "flow.py:flow")
    cleared = cli("cache", "clear", "--step", "flow.load")
    assert cleared.code == 0, cleared.err
    assert cleared.out.strip() == "removed 1 cache entry"
    assert [e["step"] for e in cli("cache", "list", "--json").json()] == ["flow.total"]
    again = cli("run", "flow.py:flow", "--json").json()
    assert {n: s["status"] for n, s in again["steps"].items()} == {
        "load": "finished",
        "total": "cached",
    }


def test_cache_clear_forgets_every_entry(cli: Cli, flow: CodeProject) -> None:
    cli("run", "flow.py:flow", "-p", "rows=2")
    cli("run", "flow.py:flow", "-p", "rows=3")
    cleared = cli("cache", "clear")
    assert cleared.code == 0, cleared.err
    assert cleared.out.strip() == "removed 4 cache entries"
    assert cli("cache", "list", "--json").json() == []
    again = cli("run", "flow.py:flow", "-p", "rows=2", "--json").json()
    assert {s["status"] for s in again["steps"].values()} == {"finished"}


# -- loopml lineage -------------------------------------------------------------------------------
@pytest.fixture
def ran(cli: Cli, flow: CodeProject) -> dict[str, Any]:
    result = cli("run", "flow.py:flow", "-p", "rows=4", "--json")
    assert result.code == 0, result.err
    data: dict[str, Any] = result.json()
    return data


def test_lineage_of_a_pipeline_run_lists_every_steps_inputs_and_outputs(
    cli: Cli, ran: dict[str, Any]
) -> None:
    load_run = ran["steps"]["load"]["run_id"]
    total_run = ran["steps"]["total"]["run_id"]
    graph = cli("lineage", ran["run_id"], "--json").json()
    assert graph["object"].startswith(f"run {ran['run_id']} (flow, flow, finished)")
    (upstream,) = graph["upstream"]
    assert upstream.startswith("total.data: ")
    assert f"<- run {load_run[:8]} (load, flow, finished)" in upstream
    downstream = sorted(graph["downstream"])
    assert len(downstream) == 2
    assert downstream[0].startswith("load.output: ")
    assert f"-> run {total_run[:8]} (total, flow, finished)" in downstream[0]
    assert downstream[1].startswith("total.output: ") and downstream[1].endswith("not read yet")
    text = cli("lineage", ran["run_id"][:8])
    assert text.code == 0, text.err
    assert "upstream (1)" in text.out and "downstream (2)" in text.out


def test_lineage_of_a_step_run(cli: Cli, ran: dict[str, Any]) -> None:
    total_run = ran["steps"]["total"]["run_id"]
    graph = cli("lineage", total_run, "--json").json()
    assert graph["object"].startswith(f"run {total_run} (total, flow, finished)")
    (upstream,) = graph["upstream"]
    assert upstream.startswith("data: ") and "(load, flow, finished)" in upstream
    (downstream,) = graph["downstream"]
    assert downstream.startswith("output: ") and downstream.endswith("not read yet")


def test_lineage_of_an_artifact_digest_shows_who_wrote_and_read_it(
    cli: Cli, ran: dict[str, Any]
) -> None:
    load_run = ran["steps"]["load"]["run_id"]
    (edge,) = workspace_lineage(load_run)
    graph = cli("lineage", edge.digest, "--json").json()
    assert graph["object"] == f"artifact {edge.digest}"
    assert graph["upstream"] == [
        f"written as 'output' by run {load_run[:8]} (load, flow, finished)"
    ]
    total_run = ran["steps"]["total"]["run_id"]
    assert graph["downstream"] == [f"read as 'data' by run {total_run[:8]} (total, flow, finished)"]
    by_content = cli("lineage", edge.content_hash, "--json")
    assert by_content.code == 0, by_content.err
    assert len(by_content.json()["downstream"]) == 1
    text = cli("lineage", edge.digest)
    assert text.code == 0 and "written as 'output'" in text.out


def test_lineage_of_a_dataset_used_as_input(cli: Cli, code: CodeProject) -> None:
    code.write(
        "uses.py",
        """
        import loopml
        from loopml.data.datasets import DatasetVersion


        @loopml.step
        def size(data: DatasetVersion) -> int:
            return data.rows


        @loopml.pipeline
        def uses(data=None):
            return size(data)
        """,
    )
    version = loopml.datasets.register(pd.DataFrame({"x": [1, 2, 3]}), "txns")
    result = code.load_pipeline("uses.py:uses").run(data=version)  # type: ignore[attr-defined]
    size_run = result.steps["size"].run_id
    graph = cli("lineage", "txns/1", "--json").json()
    assert graph["object"] == "dataset txns/1"
    assert graph["upstream"] == []
    assert graph["downstream"] == [f"read as 'data' by run {size_run[:8]} (size, uses, finished)"]
    assert cli("lineage", "datasets:/txns/1", "--json").json() == graph
    step_graph = cli("lineage", size_run, "--json").json()
    assert step_graph["upstream"] == ["data: dataset txns/1 <- given"]


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        ("nothing-like-this", ["'nothing-like-this' is not a run id", "name/VERSION"]),
        ("txns/7", ["'txns/7' is not a run id", "name/VERSION"]),
        ("ffffffff", ["'ffffffff' is not a run id", "name/VERSION"]),
        ("sha256:" + "0" * 64, ["no execution read or wrote sha256:" + "0" * 64]),
    ],
    ids=["unknown", "unknown-dataset", "unknown-run", "unknown-digest"],
)
def test_lineage_of_an_unknown_object_is_a_one_line_error(
    cli: Cli, ran: dict[str, Any], obj: str, words: list[str]
) -> None:
    one_line_error(cli("lineage", obj), *words)
