"""Running pipelines in this process: tracked runs, caching, failures, resume, materializers.

Every test gets its own workspace: the autouse ``project`` fixture runs it in an empty folder
(the default SQLite workspace is created there), or ``workspace_env`` points it at a fresh
store on each backend.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopml
from loopml._errors import InvalidInputError
from loopml._workspace import Workspace, workspace
from loopml.data._content_id import content_id
from loopml.data.datasets import DatasetVersion
from loopml.pipelines import (
    PipelineRun,
    StepFailedError,
    pipeline,
    register_materializer,
    step,
)
from loopml.pipelines import _materializers as mat
from loopml.pipelines import _runner as runner
from loopml.pipelines._runner import Artifact, cache_key, load_artifact, run_pipeline, store_value
from loopml.store import Run
from tests.pipelines._project import CodeProject


# -- helpers ----------------------------------------------------------------------------------
def ws() -> Workspace:
    return workspace(create=True)


def statuses(result: PipelineRun) -> dict[str, str]:
    return {name: s.status for name, s in result.steps.items()}


def step_run(result: PipelineRun, node: str) -> Run:
    run_id = result.steps[node].run_id
    assert run_id is not None
    return ws().store.get_run(run_id)


def artifact_text(run: Run, name: str) -> str:
    return ws().artifacts.get_bytes(run.artifacts[name].digest).decode()


def out_edge(result: PipelineRun, node: str, name: str = "output") -> Any:
    run_id = result.steps[node].run_id
    assert run_id is not None
    (edge,) = [
        e for e in ws().store.lineage_of_run(run_id) if e.direction == "out" and e.name == name
    ]
    return edge


def blob_file(digest: str) -> Path:
    """Where the default workspace keeps a blob: .loopml/artifacts/sha256/<2 hex>/<62 hex>."""
    hexdigest = digest.removeprefix("sha256:")
    return Path.cwd() / ".loopml" / "artifacts" / "sha256" / hexdigest[:2] / hexdigest[2:]


def step_runs_of(pipeline_run_id: str) -> dict[str, Run]:
    found = ws().store.search_runs(
        filter=f"tags.loopml.pipeline_run = '{pipeline_run_id}'", limit=None
    )
    return {r.tags["loopml.step"]: r for r in found}


# -- a two-step pipeline ------------------------------------------------------------------------
@step
def load(rows: int) -> pd.DataFrame:
    print(f"loading {rows} rows")
    return pd.DataFrame({"x": np.arange(rows, dtype="int64")})


@step
def total(data: pd.DataFrame, scale: float = 1.0) -> float:
    print("summing", flush=True)
    import sys

    print("a warning", file=sys.stderr)
    return float(data["x"].sum()) * scale


@step
def count(rows: int) -> int:
    return rows


@pipeline
def two_steps(rows: int = 5, scale: float = 1.0):  # type: ignore[no-untyped-def]
    return total(load(rows), scale=scale)


@pipeline
def three_steps(rows: int = 5, scale: float = 1.0):  # type: ignore[no-untyped-def]
    return {"total": total(load(rows), scale=scale), "count": count(rows)}


def test_a_two_step_pipeline_runs_and_returns_a_pipeline_run_with_its_output() -> None:
    result = two_steps.run(rows=5)
    assert isinstance(result, PipelineRun)
    assert result.status == "finished"
    assert result.output == 10.0
    assert result.outputs == {"output": 10.0}
    assert result.params == {"rows": 5, "scale": 1.0}
    assert statuses(result) == {"load": "finished", "total": "finished"}
    assert all(s.attempts == 1 and s.seconds > 0 for s in result.steps.values())
    assert result.cached_steps == []
    assert result.pipeline == "two_steps"


def test_calling_a_pipeline_runs_it() -> None:
    assert two_steps(rows=3, scale=2.0).output == 6.0


def test_a_pipeline_with_several_outputs_gives_them_as_a_dict() -> None:
    result = three_steps.run(rows=4)
    assert result.output == {"total": 6.0, "count": 4}
    assert set(result.steps) == {"load", "total", "count"}


def test_the_pipeline_run_and_each_step_execution_are_tracked_runs() -> None:
    result = two_steps.run(rows=5, scale=2.0)
    pipeline_run = ws().store.get_run(result.run_id)
    assert pipeline_run.status == "finished"
    assert pipeline_run.experiment == "two_steps"
    assert pipeline_run.name == "two_steps"
    assert pipeline_run.tags["loopml.kind"] == "pipeline"
    assert pipeline_run.tags["loopml.pipeline"] == f"{__name__}.two_steps"
    assert pipeline_run.params == {"rows": "5", "scale": "2.0"}
    assert pipeline_run.parent_id is None

    steps = step_runs_of(result.run_id)
    assert set(steps) == {"load", "total"}
    for name, run in steps.items():
        assert run.id == result.steps[name].run_id
        assert run.status == "finished"
        assert run.tags["loopml.kind"] == "step"
        assert run.tags["loopml.pipeline_run"] == result.run_id
        assert run.tags["loopml.step.function"] == f"{__name__}.{name}"
        assert run.tags["loopml.cache.key"].startswith("sha256:")
        assert run.tags["loopml.attempts"] == "1"
        assert run.parent_id == result.run_id
        assert run.experiment == "two_steps"
    assert steps["load"].params == {"rows": "5"}
    assert steps["total"].params == {"scale": "2.0"}


def test_step_stdout_and_stderr_are_captured_as_artifacts_and_still_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = two_steps.run(rows=5)
    load_run, total_run = step_run(result, "load"), step_run(result, "total")
    assert artifact_text(load_run, "loopml/stdout.txt") == "loading 5 rows\n"
    assert "loopml/stderr.txt" not in load_run.artifacts  # nothing written, nothing stored
    assert artifact_text(total_run, "loopml/stdout.txt") == "summing\n"
    assert artifact_text(total_run, "loopml/stderr.txt") == "a warning\n"
    shown = capsys.readouterr()
    assert "loading 5 rows" in shown.out and "a warning" in shown.err


def test_a_pipeline_run_shows_as_text_and_html() -> None:
    result = two_steps.run(rows=2)
    assert repr(result).startswith(f"PipelineRun(two_steps {result.run_id[:8]}: finished, 2")
    html = result._repr_html_()
    assert "<table>" in html and "<td>load</td><td>finished</td>" in html


def test_a_missing_required_parameter_is_refused_before_anything_runs() -> None:
    @pipeline
    def needs(rows: int):  # type: ignore[no-untyped-def]
        return load(rows)

    with pytest.raises(InvalidInputError, match="needs parameter 'rows'"):
        needs.run()
    with pytest.raises(InvalidInputError, match="no parameter"):
        needs.run(rows=1, colums=2)
    assert not (Path.cwd() / ".loopml").exists()


def test_path_keeps_the_whole_run_in_that_workspace(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    loopml.init(other)
    result = run_pipeline(two_steps, {"rows": 3}, path=other)
    store = workspace(other).store
    assert store.get_run(result.run_id).tags["loopml.kind"] == "pipeline"
    assert {r.tags.get("loopml.kind") for r in store.search_runs(limit=None)} == {
        "pipeline",
        "step",
    }
    assert len(store.list_cache_entries()) == 2
    assert not (Path.cwd() / ".loopml").exists()
    again = run_pipeline(two_steps, {"rows": 3}, path=other)
    assert statuses(again) == {"load": "cached", "total": "cached"}


# -- caching ------------------------------------------------------------------------------------
def test_a_second_run_is_fully_cached_and_counts_the_hits(workspace_env: str) -> None:
    first = two_steps.run(rows=5)
    second = two_steps.run(rows=5)
    assert statuses(second) == {"load": "cached", "total": "cached"}
    assert second.cached_steps == ["load", "total"]
    assert second.output == first.output == 10.0
    for name in ("load", "total"):
        run = step_run(second, name)
        assert run.tags["loopml.cache"] == "hit"
        assert run.tags["loopml.cache.key"] == step_run(first, name).tags["loopml.cache.key"]
        assert "loopml/stdout.txt" not in run.artifacts  # the step did not run
        assert second.steps[name].attempts == 0
    entries = {e.step: e for e in ws().store.list_cache_entries()}
    assert set(entries) == {f"{__name__}.load", f"{__name__}.total"}
    assert all(e.hits == 1 and e.last_hit_at is not None for e in entries.values())
    assert entries[f"{__name__}.load"].run_id == first.steps["load"].run_id
    two_steps.run(rows=5)
    assert all(e.hits == 2 for e in ws().store.list_cache_entries())


def test_a_cached_step_records_the_same_lineage_as_the_execution() -> None:
    first = two_steps.run(rows=5)
    second = two_steps.run(rows=5)
    for name in ("load", "total"):
        one = ws().store.lineage_of_run(first.steps[name].run_id)  # type: ignore[arg-type]
        two = ws().store.lineage_of_run(second.steps[name].run_id)  # type: ignore[arg-type]
        assert one == two


def test_changing_a_parameter_re_executes_only_the_steps_it_affects() -> None:
    three_steps.run(rows=5, scale=1.0)
    changed_scale = three_steps.run(rows=5, scale=3.0)
    assert statuses(changed_scale) == {"load": "cached", "total": "finished", "count": "cached"}
    assert changed_scale.output == {"total": 30.0, "count": 5}
    changed_rows = three_steps.run(rows=6, scale=3.0)
    assert statuses(changed_rows) == {"load": "finished", "total": "finished", "count": "finished"}
    back = three_steps.run(rows=5, scale=1.0)
    assert statuses(back) == {"load": "cached", "total": "cached", "count": "cached"}


FLOW = """
import loopml
from helpers import scale


@loopml.step
def base(rows: int) -> list:
    return list(range(rows))


@loopml.step
def scaled(values: list) -> list:
    return [scale(v) for v in values]


@loopml.pipeline
def flow(rows: int = 3):
    return scaled(base(rows))
"""

HELPERS = """
def scale(v):
    return v * 2


def unrelated(v):
    return v
"""


def test_changing_a_project_helper_called_by_a_step_invalidates_its_cache(
    code: CodeProject,
) -> None:
    code.write("flow.py", FLOW)
    code.write("helpers.py", HELPERS)
    first = run_pipeline(code.load_pipeline("flow.py:flow"), {})  # type: ignore[arg-type]
    assert first.output == [0, 2, 4]
    code.write("helpers.py", HELPERS.replace("v * 2", "v * 3"))
    second = run_pipeline(code.load_pipeline("flow.py:flow"), {})  # type: ignore[arg-type]
    assert statuses(second) == {"base": "cached", "scaled": "finished"}
    assert second.output == [0, 3, 6]


def test_changing_an_unrelated_function_keeps_the_cache(code: CodeProject) -> None:
    code.write("flow.py", FLOW)
    code.write("helpers.py", HELPERS)
    run_pipeline(code.load_pipeline("flow.py:flow"), {})  # type: ignore[arg-type]
    code.write("helpers.py", HELPERS.replace("return v\n", "return -v\n"))
    again = run_pipeline(code.load_pipeline("flow.py:flow"), {})  # type: ignore[arg-type]
    assert statuses(again) == {"base": "cached", "scaled": "cached"}
    assert again.output == [0, 2, 4]


def test_changing_a_step_body_invalidates_it_and_the_steps_downstream_only_if_needed(
    code: CodeProject,
) -> None:
    code.write("flow.py", FLOW)
    code.write("helpers.py", HELPERS)
    run_pipeline(code.load_pipeline("flow.py:flow"), {})  # type: ignore[arg-type]
    code.write("flow.py", FLOW.replace("list(range(rows))", "list(range(rows + 1))"))
    changed = run_pipeline(code.load_pipeline("flow.py:flow"), {})  # type: ignore[arg-type]
    assert statuses(changed) == {"base": "finished", "scaled": "finished"}
    assert changed.output == [0, 2, 4, 6]
    # same output content as before -> the downstream step is a hit
    code.write("flow.py", FLOW.replace("list(range(rows))", "[v for v in range(rows)]"))
    same = run_pipeline(code.load_pipeline("flow.py:flow"), {})  # type: ignore[arg-type]
    assert statuses(same) == {"base": "finished", "scaled": "cached"}


EXECUTIONS: list[str] = []


@step(cache=False)
def uncached(rows: int) -> int:
    EXECUTIONS.append("uncached")
    return rows + 1


@step(deterministic=False)
def random_draw(rows: int) -> int:
    EXECUTIONS.append("random_draw")
    return rows + 2


@step
def plain(rows: int) -> int:
    EXECUTIONS.append("plain")
    return rows + 3


@pipeline
def mixed(rows: int = 1):  # type: ignore[no-untyped-def]
    return uncached(rows), random_draw(rows), plain(rows)


@pipeline(cache=False)
def never_cached(rows: int = 1):  # type: ignore[no-untyped-def]
    return plain(rows)


@pytest.fixture
def executions() -> list[str]:
    EXECUTIONS.clear()
    return EXECUTIONS


def test_a_step_with_cache_false_always_executes(executions: list[str]) -> None:
    mixed.run()
    second = mixed.run()
    assert second.steps["uncached"].status == "finished"
    assert step_run(second, "uncached").tags["loopml.cache"] == "off"
    assert executions.count("uncached") == 2
    assert all(e.step != f"{__name__}.uncached" for e in ws().store.list_cache_entries())


def test_a_non_deterministic_step_always_executes(executions: list[str]) -> None:
    mixed.run()
    second = mixed.run()
    assert second.steps["random_draw"].status == "finished"
    assert executions.count("random_draw") == 2
    assert second.steps["plain"].status == "cached"
    assert executions.count("plain") == 1


def test_a_pipeline_with_cache_false_always_executes(executions: list[str]) -> None:
    never_cached.run()
    second = never_cached.run()
    assert statuses(second) == {"plain": "finished"}
    assert executions == ["plain", "plain"]
    assert ws().store.get_run(second.run_id).tags["loopml.cache"] == "off"


def test_a_run_with_cache_false_executes_every_step(executions: list[str]) -> None:
    mixed.run()
    second = run_pipeline(mixed, {}, cache=False)
    assert set(statuses(second).values()) == {"finished"}
    assert executions.count("plain") == 2
    assert ws().store.get_run(second.run_id).tags["loopml.cache"] == "off"
    # it still refreshes the cache for later runs
    assert mixed.run().steps["plain"].status == "cached"
    assert run_pipeline(never_cached, {}, cache=True).steps["plain"].status == "cached"


def test_an_output_blob_deleted_behind_the_cache_makes_the_step_execute_again() -> None:
    first = two_steps.run(rows=5)
    digest = out_edge(first, "load").digest
    blob = blob_file(digest)
    assert blob.is_file()
    blob.unlink()
    second = two_steps.run(rows=5)
    assert second.status == "finished"
    assert second.output == 10.0
    assert second.steps["load"].status == "finished"
    assert step_run(second, "load").tags["loopml.cache"] == "miss (cached outputs gone)"
    assert second.steps["total"].status == "cached"  # its input has the same content
    assert blob.is_file()  # the blob is back
    third = two_steps.run(rows=5)
    assert statuses(third) == {"load": "cached", "total": "cached"}


def test_the_final_output_blob_deleted_behind_the_cache_is_recomputed() -> None:
    first = two_steps.run(rows=5)
    blob_file(out_edge(first, "total").digest).unlink()
    second = two_steps.run(rows=5)
    assert statuses(second) == {"load": "cached", "total": "finished"}
    assert second.output == 10.0


def test_a_corrupted_output_blob_makes_the_step_execute_again() -> None:
    first = two_steps.run(rows=5)
    blob = blob_file(out_edge(first, "load").digest)
    data = blob.read_bytes()
    blob.chmod(0o644)
    blob.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])  # same size, other content
    second = two_steps.run(rows=5)
    assert second.status == "finished"
    assert second.output == 10.0
    assert second.steps["load"].status == "finished"
    assert second.steps["total"].status == "cached"
    assert blob.read_bytes() == data  # repaired by the new execution
    assert statuses(two_steps.run(rows=5)) == {"load": "cached", "total": "cached"}


# -- cache keys -----------------------------------------------------------------------------------
@step
def keyed(a: Any = None, b: Any = None, c: Any = None) -> int:
    return 1


@pipeline
def keyed_pipeline():  # type: ignore[no-untyped-def]
    return keyed()


KEYED_NODE = keyed_pipeline.graph.nodes["keyed"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None)
@given(
    params=st.dictionaries(st.sampled_from(["a", "b", "c"]), json_values, min_size=1),
    data=st.data(),
)
def test_cache_key_is_stable_for_equal_inputs_and_changes_with_any_param_value(
    params: dict[str, Any], data: st.DataObject
) -> None:
    key = cache_key(KEYED_NODE, params, {})
    assert key.startswith("sha256:")
    assert cache_key(KEYED_NODE, dict(reversed(list(params.items()))), {}) == key
    assert cache_key(KEYED_NODE, {k: v for k, v in params.items()}, {}) == key
    name = data.draw(st.sampled_from(sorted(params)))
    other = data.draw(
        json_values.filter(lambda v: mat.canonical_json(v) != mat.canonical_json(params[name]))
    )
    assert cache_key(KEYED_NODE, {**params, name: other}, {}) != key
    dropped = {k: v for k, v in params.items() if k != name}
    assert cache_key(KEYED_NODE, dropped, {}) != key


def _artifact(content_hash: str) -> Artifact:
    return Artifact("pandas", content_hash, "pandas.DataFrame")


def test_cache_key_changes_with_input_content_environment_and_requirements() -> None:
    base = cache_key(KEYED_NODE, {}, {"a": _artifact("sha256:" + "1" * 64)})
    assert cache_key(KEYED_NODE, {}, {"a": _artifact("sha256:" + "1" * 64)}) == base
    assert cache_key(KEYED_NODE, {}, {"a": _artifact("sha256:" + "2" * 64)}) != base
    assert cache_key(KEYED_NODE, {}, {"b": _artifact("sha256:" + "1" * 64)}) != base

    @step(env={"MODE": "fast"})
    def with_env() -> int:
        return 1

    @step(env={"MODE": "slow"})
    def with_other_env() -> int:
        return 1

    @step(requirements=["numpy"])
    def with_requirements() -> int:
        return 1

    @pipeline
    def envs():  # type: ignore[no-untyped-def]
        return with_env(), with_other_env(), with_requirements()

    nodes = envs.graph.nodes
    keys = {cache_key(nodes[name], {}, {}) for name in nodes}
    assert len(keys) == 3


# -- failures -------------------------------------------------------------------------------------
def test_a_step_failing_twice_then_succeeding_is_retried_with_backoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[int] = []
    delays: list[float] = []
    real_sleep = time.sleep

    def recording_sleep(seconds: float) -> None:
        delays.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(
        runner, "time", SimpleNamespace(sleep=recording_sleep, perf_counter=time.perf_counter)
    )

    @step(retries=2, retry_delay=0.01)
    def flaky(rows: int) -> int:
        attempts.append(rows)
        if len(attempts) < 3:
            raise ConnectionError(f"try {len(attempts)} failed")
        return rows * 2

    @pipeline
    def flaky_pipeline(rows: int = 4):  # type: ignore[no-untyped-def]
        return flaky(rows)

    result = flaky_pipeline.run()
    assert result.output == 8
    assert result.steps["flaky"].status == "finished"
    assert result.steps["flaky"].attempts == 3
    assert delays == [0.01, 0.02]
    run = step_run(result, "flaky")
    assert run.status == "finished"
    assert run.tags["loopml.attempts"] == "3"
    assert "try 1 failed" in artifact_text(run, "loopml/traceback-1.txt")
    assert "try 2 failed" in artifact_text(run, "loopml/traceback-2.txt")
    assert "loopml/traceback-3.txt" not in run.artifacts


def test_a_step_failing_more_often_than_its_retries_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        runner, "time", SimpleNamespace(sleep=lambda seconds: None, perf_counter=time.perf_counter)
    )

    @step(retries=1, retry_delay=0.01)
    def always(rows: int) -> int:
        raise ConnectionError("down")

    @pipeline
    def always_failing(rows: int = 1):  # type: ignore[no-untyped-def]
        return always(rows)

    with pytest.raises(StepFailedError) as caught:
        always_failing.run()
    run = ws().store.get_run(step_runs_of(caught.value.run_id)["always"].id)
    assert run.status == "failed"
    assert run.tags["loopml.attempts"] == "2"
    assert {"loopml/traceback-1.txt", "loopml/traceback-2.txt"} <= set(run.artifacts)


@step
def explode(data: pd.DataFrame) -> pd.DataFrame:
    print("about to fail")
    raise ValueError("the data is bad")


@pipeline
def exploding(rows: int = 3):  # type: ignore[no-untyped-def]
    data = load(rows)
    return total(explode(data)), count(rows)


def test_a_step_raising_fails_the_run_with_step_failed_error() -> None:
    with pytest.raises(StepFailedError) as caught:
        exploding.run()
    error = caught.value
    assert error.step == "explode"
    message = str(error)
    assert "step explode of pipeline exploding failed" in message
    assert f"loopml run --resume {error.run_id}" in message

    pipeline_run = ws().store.get_run(error.run_id)
    assert pipeline_run.status == "failed"
    assert pipeline_run.tags["loopml.kind"] == "pipeline"
    assert pipeline_run.tags["loopml.failed_step"] == "explode"
    assert pipeline_run.error == message

    steps = step_runs_of(error.run_id)
    assert steps["load"].status == "finished"
    failed = steps["explode"]
    assert failed.status == "failed"
    assert f"loopml runs show {failed.id}" in message
    assert failed.error is not None and "ValueError: the data is bad" in failed.error
    traceback_text = artifact_text(failed, "loopml/traceback-1.txt")
    assert traceback_text.startswith("Traceback (most recent call last)")
    assert "the data is bad" in traceback_text
    assert artifact_text(failed, "loopml/stdout.txt") == "about to fail\n"
    assert failed.tags["loopml.attempts"] == "1"
    # the later steps were skipped: they never started
    assert "total" not in steps and "count" not in steps
    assert loopml.active_run() is None


def _failed_step_error(result_pipeline: Any, **params: Any) -> str:
    with pytest.raises(StepFailedError) as caught:
        result_pipeline.run(**params)
    failed = step_runs_of(caught.value.run_id)[caught.value.step]
    assert failed.status == "failed"
    assert failed.error is not None
    return failed.error


def test_an_output_that_cannot_be_stored_fails_the_step_with_a_clear_message() -> None:
    @step
    def make_function(rows: int) -> object:
        return lambda x: x + rows

    @pipeline
    def unpicklable(rows: int = 1):  # type: ignore[no-untyped-def]
        return make_function(rows)

    error = _failed_step_error(unpicklable)
    assert "cannot store a function: it cannot be pickled" in error
    assert "register_materializer" in error


def test_an_output_of_another_type_than_declared_fails_the_step_with_a_clear_message() -> None:
    @step
    def not_a_frame(rows: int) -> pd.DataFrame:
        return {"rows": rows}  # type: ignore[return-value]

    @pipeline
    def mistyped(rows: int = 1):  # type: ignore[no-untyped-def]
        return not_a_frame(rows)

    error = _failed_step_error(mistyped)
    assert "declares output 'output' as DataFrame but returned a dict" in error
    assert "fix the annotation" in error


def test_a_step_returning_the_wrong_number_of_outputs_fails_with_a_clear_message() -> None:
    @step
    def pair(rows: int) -> tuple[int, int]:
        return (rows, rows, rows)  # type: ignore[return-value]

    @pipeline
    def miscounted(rows: int = 1):  # type: ignore[no-untyped-def]
        first, _ = pair(rows)
        return first

    error = _failed_step_error(miscounted)
    assert "declares 2 outputs but returned tuple" in error


def test_an_int_returned_for_a_float_output_is_accepted() -> None:
    @step
    def whole(rows: int) -> float:
        return rows

    @pipeline
    def ints(rows: int = 2):  # type: ignore[no-untyped-def]
        return whole(rows)

    assert ints.run().output == 2


# -- resume ---------------------------------------------------------------------------------------
class Broken:
    """Steps of one test that fail while ``broken`` is set, counting their executions."""

    def __init__(self) -> None:
        self.broken = True
        self.calls: list[str] = []


def resumable(state: Broken) -> Any:
    @step
    def first(x: int) -> int:
        state.calls.append("first")
        return x * 10

    @step
    def side(x: int) -> int:
        state.calls.append("side")
        return x + 100

    @step
    def fragile(value: int) -> int:
        state.calls.append("fragile")
        if state.broken:
            raise RuntimeError("not yet")
        return value + 1

    @step
    def last(value: int, other: int) -> int:
        state.calls.append("last")
        return value + other

    @pipeline(name="resumable")
    def flow(x: int = 1):  # type: ignore[no-untyped-def]
        a = first(x)
        b = side(x)
        return last(fragile(a), b)

    return flow


def test_resume_re_executes_only_the_failed_and_unfinished_steps(workspace_env: str) -> None:
    state = Broken()
    flow = resumable(state)
    with pytest.raises(StepFailedError) as caught:
        flow.run(x=1)
    failed_id = caught.value.run_id
    assert state.calls == ["first", "side", "fragile"]

    state.broken = False
    state.calls.clear()
    result = run_pipeline(flow, {"x": 1}, resume=failed_id, cache=False)
    assert result.status == "finished"
    assert result.output == 11 + 101
    assert statuses(result) == {
        "first": "resumed",
        "side": "resumed",
        "fragile": "finished",
        "last": "finished",
    }
    assert list(result.steps) == ["first", "side", "fragile", "last"]  # graph order
    assert state.calls == ["fragile", "last"]
    assert result.cached_steps == ["first", "side"]
    run = ws().store.get_run(result.run_id)
    assert run.tags["loopml.resumed_from"] == failed_id
    assert step_run(result, "first").tags["loopml.cache"] == "resumed"
    # a resumed step re-emits the outputs it reuses, so lineage stays connected
    assert out_edge(result, "first") == out_edge_of_run(
        step_runs_of(failed_id)["first"].id, "output"
    )


def out_edge_of_run(run_id: str, name: str) -> Any:
    (edge,) = [
        e for e in ws().store.lineage_of_run(run_id) if e.direction == "out" and e.name == name
    ]
    return edge


def test_resume_accepts_a_run_id_prefix_and_reuses_steps_that_were_cached() -> None:
    state = Broken()
    state.broken = False
    flow = resumable(state)
    flow.run(x=2)
    state.broken = True
    with pytest.raises(StepFailedError) as caught:
        run_pipeline(flow, {"x": 3})
    state.broken = False
    state.calls.clear()
    result = run_pipeline(flow, {"x": 3}, resume=caught.value.run_id[:10], cache=False)
    assert result.output == 31 + 103
    assert state.calls == ["fragile", "last"]


def test_resume_of_a_resumed_run_that_failed_again_reuses_everything_finished() -> None:
    state = Broken()
    flow = resumable(state)
    with pytest.raises(StepFailedError) as first_failure:
        flow.run(x=1)
    with pytest.raises(StepFailedError) as second_failure:
        run_pipeline(flow, {"x": 1}, resume=first_failure.value.run_id, cache=False)
    assert second_failure.value.step == "fragile"
    state.broken = False
    state.calls.clear()
    result = run_pipeline(flow, {"x": 1}, resume=second_failure.value.run_id, cache=False)
    assert statuses(result) == {
        "first": "resumed",
        "side": "resumed",
        "fragile": "finished",
        "last": "finished",
    }
    assert state.calls == ["fragile", "last"]
    assert result.output == 112


def test_resume_re_executes_a_finished_step_whose_output_blob_is_gone() -> None:
    state = Broken()
    flow = resumable(state)
    with pytest.raises(StepFailedError) as caught:
        flow.run(x=1)
    first_run = step_runs_of(caught.value.run_id)["first"].id
    blob_file(out_edge_of_run(first_run, "output").digest).unlink()
    state.broken = False
    state.calls.clear()
    result = run_pipeline(flow, {"x": 1}, resume=caught.value.run_id, cache=False)
    assert result.output == 112
    assert result.steps["first"].status == "finished"
    assert result.steps["side"].status == "resumed"
    assert state.calls == ["first", "fragile", "last"]


def test_resume_with_other_parameter_values_does_not_reuse_stale_outputs() -> None:
    """The failed run computed ``first`` for x=1; resuming with x=2 must not reuse it."""
    state = Broken()
    flow = resumable(state)
    with pytest.raises(StepFailedError) as caught:
        flow.run(x=1)
    state.broken = False
    try:
        result = run_pipeline(flow, {"x": 2}, resume=caught.value.run_id, cache=False)
    except InvalidInputError as refused:
        assert "x" in str(refused)
    else:
        assert result.output == 21 + 102  # what a fresh run with x=2 returns


def test_resume_refuses_a_run_of_another_pipeline() -> None:
    state = Broken()
    flow = resumable(state)
    with pytest.raises(StepFailedError) as caught:
        flow.run(x=1)

    @step
    def first(x: int) -> int:
        return -x

    @pipeline
    def impostor(x: int = 1):  # type: ignore[no-untyped-def]
        return first(x)

    with pytest.raises(InvalidInputError):
        run_pipeline(impostor, {"x": 1}, resume=caught.value.run_id, cache=False)


def test_resume_refuses_a_run_that_is_not_a_pipeline_run() -> None:
    result = two_steps.run(rows=2)
    with pytest.raises(InvalidInputError, match="not a pipeline run"):
        run_pipeline(two_steps, {"rows": 2}, resume=result.steps["load"].run_id)


# -- materializers --------------------------------------------------------------------------------
def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": np.array([1, 2, 3], dtype="int64"),
            "f": [0.5, None, 2.5],
            "s": ["a", "b", None],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
        },
        index=pd.Index([10, 20, 30], name="id"),
    )


def _model() -> Any:
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    return LogisticRegression().fit(x, np.array([0, 0, 1, 1]))


def _same_model(a: Any, b: Any) -> bool:
    x = np.array([[0.5], [2.5]])
    return type(a) is type(b) and np.array_equal(a.predict_proba(x), b.predict_proba(x))


def _write_file() -> Path:
    path = Path("report.txt")
    path.write_text("hello\n")
    return path


def _write_folder() -> Path:
    folder = Path("model_dir")
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(b"\x00\x01\x02")
    (folder / "sub" / "config.json").write_text('{"a": 1}')
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


ROUND_TRIPS = {
    "pandas": (_frame, pd.DataFrame, "pandas", lambda a, b: a.equals(b)),
    "polars": (
        lambda: pl.DataFrame({"a": [1, 2, None], "b": ["x", "y", "z"]}),
        pl.DataFrame,
        "polars",
        lambda a, b: a.equals(b),
    ),
    "pyarrow": (
        lambda: pa.table({"a": [1, 2], "b": [0.5, 1.5]}),
        pa.Table,
        "arrow",
        lambda a, b: a.equals(b),
    ),
    "numpy": (
        lambda: np.arange(12, dtype="float32").reshape(3, 4),
        np.ndarray,
        "numpy",
        lambda a, b: a.dtype == b.dtype and np.array_equal(a, b),
    ),
    "bytes": (lambda: b"\x00raw\xff", bytes, "bytes", lambda a, b: a == b),
    "json": (
        lambda: {"auc": 0.91, "labels": ["a", "b"], "n": 3, "ok": True, "none": None},
        dict,
        "json",
        lambda a, b: a == b,
    ),
    "str": (lambda: "héllo", str, "json", lambda a, b: a == b),
    "file": (_write_file, Path, "path", lambda a, b: a.read_bytes() == b.read_bytes()),
    "folder": (_write_folder, Path, "path", lambda a, b: _files(a) == _files(b)),
    "sklearn-model": (_model, object, "pickle", _same_model),
}


@pytest.mark.parametrize("case", sorted(ROUND_TRIPS))
def test_an_output_round_trips_through_its_materializer(case: str) -> None:
    make, declared, materializer, same = ROUND_TRIPS[case]

    def produce() -> Any:
        return make()

    produce.__annotations__ = {"return": declared}
    produce_step = step(produce)

    def consume(value: Any) -> str:
        return type(value).__name__

    consume.__annotations__ = {"value": declared, "return": str}
    consume_step = step(consume)

    @pipeline
    def round_trip():  # type: ignore[no-untyped-def]
        value = produce_step()
        return {"value": value, "type": consume_step(value)}

    first = round_trip.run()
    edge = out_edge(first, "produce")
    assert edge.materializer == materializer
    assert edge.digest is not None and edge.size is not None and edge.size > 0
    original = make()
    assert same(first.output["value"], original)
    # cached: the value is loaded from the artifact store
    second = round_trip.run()
    assert statuses(second) == {"produce": "cached", "consume": "cached"}
    assert same(second.output["value"], original)
    assert type(second.output["value"]) is type(first.output["value"])
    # a fresh load of the stored blob gives the value too
    fresh = Artifact(edge.materializer, edge.content_hash, edge.type, digest=edge.digest)
    assert same(load_artifact(ws(), fresh), original)


def test_a_tuple_output_comes_back_from_the_cache_as_a_tuple() -> None:
    @step
    def pair() -> tuple:  # type: ignore[type-arg]
        return (1, 2)

    @pipeline
    def tuples():  # type: ignore[no-untyped-def]
        return pair()

    assert tuples.run().output == (1, 2)
    cached = tuples.run()
    assert cached.steps["pair"].status == "cached"
    assert cached.output == (1, 2)


def test_a_file_output_keeps_its_name_when_loaded_back() -> None:
    """Downstream code often dispatches on a file's suffix (``.csv``, ``.parquet``, ``.png``)."""

    @step
    def write_csv() -> Path:
        path = Path("report.csv")
        path.write_text("a\n1\n")
        return path

    @pipeline
    def csv_file():  # type: ignore[no-untyped-def]
        return write_csv()

    assert csv_file.run().output.name == "report.csv"
    cached = csv_file.run()
    assert cached.steps["write_csv"].status == "cached"
    assert cached.output.read_text() == "a\n1\n"
    assert cached.output.name == "report.csv"


@step
def shared_source() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2, 3]})


@step
def mutates_its_input(data: pd.DataFrame) -> int:
    data["x"] = 0  # bad manners, but it must not leak into other steps
    return 0


@step
def sums_its_input(data: pd.DataFrame) -> int:
    return int(data["x"].sum())


@pipeline
def siblings():  # type: ignore[no-untyped-def]
    data = shared_source()
    return mutates_its_input(data), sums_its_input(data)


def test_a_step_mutating_its_input_does_not_change_what_a_sibling_step_receives() -> None:
    """A fresh run and a run with the source cached must give the same result."""
    fresh = siblings.run()
    assert fresh.output["output_1"] == 6
    ws().store.delete_cache_entries(step=f"{__name__}.sums_its_input")
    again = siblings.run()
    assert again.steps["shared_source"].status == "cached"
    assert again.output["output_1"] == 6


def test_table_content_hashes_are_the_same_whatever_the_library() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    hashes = {
        store_value(ws(), value).content_hash
        for value in (frame, pl.from_pandas(frame), pa.Table.from_pandas(frame))
    }
    assert len(hashes) == 1  # the content id plus the column order: no library in it
    assert hashes != {content_id(frame)}
    assert store_value(ws(), b"abc").content_hash == (
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


@step
def make_table(engine: str) -> Any:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    return frame if engine == "pandas" else pl.from_pandas(frame)


@step
def table_rows(data: Any) -> int:
    return len(data)


@pipeline
def by_engine(engine: str = "pandas"):  # type: ignore[no-untyped-def]
    return table_rows(make_table(engine))


def test_the_same_table_from_pandas_or_polars_gives_the_downstream_step_the_same_key() -> None:
    with_pandas = by_engine.run(engine="pandas")
    with_polars = by_engine.run(engine="polars")
    assert with_polars.steps["make_table"].status == "finished"
    assert out_edge(with_polars, "make_table").materializer == "polars"
    assert with_polars.steps["table_rows"].status == "cached"
    key = step_run(with_pandas, "table_rows").tags["loopml.cache.key"]
    assert step_run(with_polars, "table_rows").tags["loopml.cache.key"] == key


@step
def ordered(order: list) -> pd.DataFrame:  # type: ignore[type-arg]
    return pd.DataFrame({"a": [1, 2], "b": [3, 4]})[order]


@step
def first_column(data: pd.DataFrame) -> list:  # type: ignore[type-arg]
    return data.iloc[:, 0].tolist()


@pipeline
def column_order(order: list = ["a", "b"]):  # type: ignore[no-untyped-def,type-arg]  # noqa: B006
    return first_column(ordered(order))


def test_a_table_with_reordered_columns_is_not_a_cache_hit_downstream() -> None:
    """The step below reads the first column: its result depends on the column order."""
    assert column_order.run(order=["a", "b"]).output == [1, 2]
    assert column_order.run(order=["b", "a"]).output == [3, 4]


@step
def indexed(start: int) -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2]}, index=[start, start + 1])


@step
def labels(data: pd.DataFrame) -> list:  # type: ignore[type-arg]
    return data.index.tolist()


@pipeline
def index_labels(start: int = 0):  # type: ignore[no-untyped-def]
    return labels(indexed(start))


def test_a_table_with_another_index_is_not_a_cache_hit_downstream() -> None:
    """The step below reads the (unnamed) index: its result depends on it."""
    assert index_labels.run(start=0).output == [0, 1]
    assert index_labels.run(start=10).output == [10, 11]


def test_a_dataset_version_is_passed_by_reference_with_its_content_id() -> None:
    frame = pd.DataFrame({"amount": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    version = loopml.datasets.register(frame, "txns")

    @step
    def mean_amount(data: DatasetVersion) -> float:
        return float(data.to_pandas()["amount"].mean())

    @step
    def passthrough(data: DatasetVersion) -> DatasetVersion:
        return data

    @pipeline
    def uses_dataset(data: Any = None):  # type: ignore[no-untyped-def]
        return mean_amount(data), passthrough(data)

    first = uses_dataset.run(data=version)
    assert first.output["output_0"] == 2.0
    run_id = first.steps["mean_amount"].run_id
    assert run_id is not None
    (edge,) = ws().store.lineage_of_run(run_id)[:1]
    assert edge.direction == "in" and edge.name == "data"
    assert edge.dataset == ("txns", 1)
    assert edge.digest is None and edge.size is None  # a reference, nothing copied
    assert edge.materializer == "dataset"
    assert edge.content_hash == version.id
    produced = out_edge(first, "passthrough")
    assert produced.dataset == ("txns", 1) and produced.digest is None
    assert produced.content_hash == version.id

    second = uses_dataset.run(data=loopml.datasets.get("txns", 1))
    assert statuses(second) == {"mean_amount": "cached", "passthrough": "cached"}
    reloaded = second.output["output_1"]
    assert isinstance(reloaded, DatasetVersion)
    assert reloaded.id == version.id and reloaded.version == 1


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


@step
def temperature(degrees: float) -> Celsius:
    return Celsius(degrees)


@step
def fahrenheit(value: Celsius) -> float:
    return value.degrees * 9 / 5 + 32


@pipeline
def weather(degrees: float = 20.0):  # type: ignore[no-untyped-def]
    reading = temperature(degrees)
    return {"reading": reading, "f": fahrenheit(reading)}


def test_a_custom_materializer_stores_and_loads_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mat, "_custom", [])
    saved: list[float] = []

    def save(value: Celsius) -> bytes:
        saved.append(value.degrees)
        return f"{value.degrees}C".encode()

    registered = register_materializer(
        "celsius",
        lambda v: isinstance(v, Celsius),
        save,
        lambda data: Celsius(float(data.decode().removesuffix("C"))),
    )
    assert registered.name == "celsius"
    assert mat.for_value(Celsius(1.0)) is registered

    first = weather.run(degrees=20.0)
    assert first.output["f"] == 68.0
    edge = out_edge(first, "temperature")
    assert edge.materializer == "celsius"
    assert ws().artifacts.get_bytes(edge.digest) == b"20.0C"
    second = weather.run(degrees=20.0)
    assert second.steps["temperature"].status == "cached"
    reading = second.output["reading"]
    assert isinstance(reading, Celsius) and reading.degrees == 20.0
    assert saved == [20.0]


def test_register_materializer_refuses_a_built_in_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mat, "_custom", [])
    with pytest.raises(InvalidInputError, match="taken by a built-in"):
        register_materializer("pandas", lambda v: True, bytes, bytes)


def test_an_artifact_of_an_unregistered_materializer_says_how_to_fix_it() -> None:
    digest, size = ws().artifacts.put_bytes(b"x")
    artifact = Artifact("gone", "sha256:" + "0" * 64, "x.Y", digest=digest, size=size)
    with pytest.raises(InvalidInputError, match="register_materializer"):
        load_artifact(ws(), artifact)


# -- lineage --------------------------------------------------------------------------------------
@step
def source(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(rows, dtype="int64")})


@step
def consumer_a(data: pd.DataFrame) -> int:
    return len(data)


@step
def consumer_b(data: pd.DataFrame) -> float:
    return float(data["x"].mean())


@pipeline
def fan_out(rows: int = 4):  # type: ignore[no-untyped-def]
    data = source(rows)
    return consumer_a(data), consumer_b(data)


def test_runs_touching_finds_the_producer_and_the_consumers_of_an_output(
    workspace_env: str,
) -> None:
    result = fan_out.run()
    produced = out_edge(result, "source")
    store = ws().store
    writers = store.runs_touching(digest=produced.digest, direction="out")
    assert [w.run_id for w in writers] == [result.steps["source"].run_id]
    assert writers[0].edge.name == "output" and writers[0].run_name == "source"
    readers = store.runs_touching(digest=produced.digest, direction="in")
    assert {r.run_id for r in readers} == {
        result.steps["consumer_a"].run_id,
        result.steps["consumer_b"].run_id,
    }
    assert {r.edge.name for r in readers} == {"data"}
    by_content = store.runs_touching(produced.content_hash)
    assert len(by_content) == 3
    same = store_value(ws(), pd.DataFrame({"x": np.arange(4, dtype="int64")}))
    assert produced.content_hash == same.content_hash  # content, not identity
    # a cached execution is a producer too
    again = fan_out.run()
    writers = store.runs_touching(digest=produced.digest, direction="out")
    assert [w.run_id for w in writers] == [
        result.steps["source"].run_id,
        again.steps["source"].run_id,
    ]


def test_a_dataset_version_input_gets_a_dataset_lineage_edge() -> None:
    version = loopml.datasets.register(pd.DataFrame({"x": [1, 2, 3]}), "numbers")

    @step
    def size(data: DatasetVersion) -> int:
        return data.rows

    @pipeline
    def sized(data: Any = None):  # type: ignore[no-untyped-def]
        return size(data)

    result = sized.run(data=version)
    assert result.output == 3
    readers = ws().store.runs_touching(dataset=("numbers", 1), direction="in")
    assert [r.run_id for r in readers] == [result.steps["size"].run_id]
    assert readers[0].edge.content_hash == version.id


# -- scale ----------------------------------------------------------------------------------------
@step
def increment(value: int) -> int:
    return value + 1


@pipeline
def chain_200(start: int = 0):  # type: ignore[no-untyped-def]
    value = increment(start)
    for _ in range(199):
        value = increment(value)
    return value


def test_a_200_step_chain_of_trivial_steps_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(chain_200.graph.nodes) == 200
    assert list(chain_200.graph.nodes)[:3] == ["increment", "increment_2", "increment_3"]
    started = time.perf_counter()
    result = chain_200.run(start=0)
    first_seconds = time.perf_counter() - started
    assert result.output == 200
    assert set(statuses(result).values()) == {"finished"}
    started = time.perf_counter()
    cached = chain_200.run(start=0)
    cached_seconds = time.perf_counter() - started
    assert set(statuses(cached).values()) == {"cached"}
    assert cached.output == 200
    with capsys.disabled():
        print(
            f"\n200-step chain: first run {first_seconds:.2f} s "
            f"({first_seconds / 200 * 1000:.1f} ms/step), cached {cached_seconds:.2f} s"
        )
