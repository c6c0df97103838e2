"""``@step`` and ``@pipeline``: typed steps, graphs traced at definition, mistakes caught early.

These tests only define pipelines (nothing runs, except the step functions called directly and
one small run for ``@pipeline(experiment=...)``).
"""

from typing import Any, NamedTuple

import pandas as pd
import pytest

import loopml
from loopml._errors import InvalidInputError
from loopml.pipelines import Pipeline, PipelineDefinitionError, Step, pipeline, step
from loopml.pipelines._dsl import ConstRef, OutputRef, ParamRef


# -- steps used below ---------------------------------------------------------------------------
@step
def load(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": range(rows)})


@step(name="total_of", retries=2, retry_delay=0.5, cache=False, resources={"cpu": 2})
def total(data: pd.DataFrame, scale: float = 1.0) -> float:
    return float(data["x"].sum()) * scale


@step
def split(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    half = len(data) // 2
    return data.iloc[:half], data.iloc[half:]


class Halves(NamedTuple):
    head: pd.DataFrame
    tail: pd.DataFrame


@step
def split_named(data: pd.DataFrame) -> Halves:
    half = len(data) // 2
    return Halves(data.iloc[:half], data.iloc[half:])


@step
def report(value: float) -> None:
    print(value)


@step
def add(a: float, b: float) -> float:
    return a + b


@step
def count(values: list) -> int:
    return len(values)


# -- @step ----------------------------------------------------------------------------------------
def test_step_without_parentheses_makes_a_step_named_after_the_function() -> None:
    assert isinstance(load, Step)
    assert load.name == "load"
    assert load.qualname == f"{__name__}.load"
    assert load.options.cache is True and load.options.retries == 0
    assert load.__doc__ is None and load.__name__ == "load"  # functools.update_wrapper


def test_step_with_parentheses_takes_its_options() -> None:
    assert isinstance(total, Step)
    assert total.name == "total_of"
    assert total.options.retries == 2
    assert total.options.retry_delay == 0.5
    assert total.options.cache is False
    assert total.options.resources == {"cpu": 2}


def test_a_step_called_outside_a_pipeline_just_runs_the_function() -> None:
    frame = load(4)
    assert isinstance(frame, pd.DataFrame)
    assert frame["x"].tolist() == [0, 1, 2, 3]
    assert total(frame, scale=2.0) == 12.0
    head, tail = split(frame)
    assert len(head) == 2 and len(tail) == 2


def test_a_step_without_return_type_is_refused_naming_the_function_and_the_fix() -> None:
    def untyped(rows: int):  # type: ignore[no-untyped-def]
        return rows

    with pytest.raises(PipelineDefinitionError) as caught:
        step(untyped)
    message = str(caught.value)
    assert "untyped" in message
    assert "no return type" in message
    assert "-> pd.DataFrame" in message and "-> None" in message


def test_a_step_returning_a_tuple_of_unknown_length_is_refused() -> None:
    def many() -> tuple[int, ...]:
        return (1, 2)

    with pytest.raises(PipelineDefinitionError, match="unknown length"):
        step(many)


def test_a_step_whose_annotations_cannot_be_resolved_is_refused() -> None:
    def bad() -> "NoSuchType":  # type: ignore[name-defined]  # noqa: F821
        return 1

    with pytest.raises(PipelineDefinitionError, match="cannot be resolved"):
        step(bad)


def test_a_tuple_return_type_gives_two_outputs_that_unpack() -> None:
    assert [o.name for o in split.outputs] == ["output_0", "output_1"]

    @pipeline
    def halves(rows: int = 4):  # type: ignore[no-untyped-def]
        head, tail = split(load(rows))
        return add(total(head), total(tail))

    nodes = halves.graph.nodes
    assert list(nodes) == ["load", "split", "total_of", "total_of_2", "add"]
    assert nodes["total_of"].inputs["data"] == OutputRef("split", "output_0")
    assert nodes["total_of_2"].inputs["data"] == OutputRef("split", "output_1")


def test_named_tuple_outputs_are_named_after_the_fields_and_unpack() -> None:
    assert [o.name for o in split_named.outputs] == ["head", "tail"]
    assert [o.type for o in split_named.outputs] == [pd.DataFrame, pd.DataFrame]

    @pipeline
    def named(rows: int = 4):  # type: ignore[no-untyped-def]
        _head, tail = split_named(load(rows))
        return total(tail)

    assert named.graph.nodes["total_of"].inputs["data"] == OutputRef("split_named", "tail")


def test_named_tuple_outputs_can_be_used_by_field_name() -> None:
    """A NamedTuple return type is there so that outputs have names: ``out.tail`` must work."""

    @pipeline
    def named(rows: int = 4):  # type: ignore[no-untyped-def]
        out = split_named(load(rows))
        return total(out.tail)

    assert named.graph.nodes["total_of"].inputs["data"] == OutputRef("split_named", "tail")


def test_a_step_returning_none_has_no_outputs_and_gives_none_in_a_pipeline() -> None:
    assert report.outputs == []
    seen: dict[str, Any] = {}

    @pipeline
    def printing(rows: int = 3):  # type: ignore[no-untyped-def]
        seen["returned"] = report(total(load(rows)))

    assert seen["returned"] is None
    assert list(printing.graph.nodes) == ["load", "total_of", "report"]
    assert printing.graph.outputs == []


def test_a_step_taking_star_args_is_refused() -> None:
    def variadic(*values: int) -> int:
        return sum(values)

    with pytest.raises(PipelineDefinitionError, match=r"variadic takes \*values"):
        step(variadic)

    def keywords(**options: int) -> int:
        return len(options)

    with pytest.raises(PipelineDefinitionError, match=r"takes \*options"):
        step(keywords)


def test_step_refuses_a_class_and_negative_retries() -> None:
    class Thing:
        pass

    with pytest.raises(PipelineDefinitionError, match="decorates a function"):
        step(Thing)
    with pytest.raises(PipelineDefinitionError, match="retries"):
        step(retries=-1)


# -- wiring mistakes ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda rows: total(load(rows), 1.0, 2.0), "too many positional arguments"),
        (lambda rows: total(scale=2.0), "missing a required argument: 'data'"),
        (lambda rows: total(load(rows), factor=2.0), "unexpected keyword argument 'factor'"),
    ],
    ids=["too-many", "missing", "unknown"],
)
def test_a_step_called_wrongly_in_a_pipeline_is_an_error_naming_the_step_and_its_signature(
    call: Any, problem: str
) -> None:
    def body(rows: int = 3):  # type: ignore[no-untyped-def]
        return call(rows)

    with pytest.raises(PipelineDefinitionError) as caught:
        pipeline(body)
    message = str(caught.value)
    assert f"{__name__}.total" in message
    assert problem in message
    assert "its signature is total_of(data: " in message
    assert "scale: float = 1.0) -> float" in message


def test_an_output_of_another_pipeline_is_an_error() -> None:
    """A graph that reaches into another pipeline's graph would be disconnected from its own."""
    leaked: dict[str, Any] = {}

    @pipeline
    def first(rows: int = 3):  # type: ignore[no-untyped-def]
        leaked["data"] = load(rows)
        return leaked["data"]

    def second():  # type: ignore[no-untyped-def]
        return total(leaked["data"])

    with pytest.raises(PipelineDefinitionError) as caught:
        pipeline(second)
    message = str(caught.value)
    assert "output of another pipeline" in message
    assert "first" in message and "second" in message


def test_a_pipeline_defined_inside_another_pipeline_body_is_an_error() -> None:
    def inner(rows: int = 3):  # type: ignore[no-untyped-def]
        return load(rows)

    def outer(rows: int = 3):  # type: ignore[no-untyped-def]
        pipeline(inner)
        return load(rows)

    with pytest.raises(PipelineDefinitionError, match="inside another pipeline"):
        pipeline(outer)


@pytest.mark.parametrize(
    "expression",
    [
        "rows + 1",
        "1 + rows",
        "rows - 1",
        "rows * 2",
        "rows / 2",
        "rows < 3",
        "int(rows)",
        "float(rows)",
        "list(rows)",
        "len(rows)",
        "rows[0]",
        "rows // 2",
        "rows % 2",
        "rows ** 2",
        "-rows",
        "abs(rows)",
        "round(rows)",
    ],
)
def test_a_parameter_used_in_python_arithmetic_is_an_error(expression: str) -> None:
    namespace: dict[str, Any] = {"add": add}
    exec(f"def body(rows: int = 3):\n    return add({expression}, 1.0)\n", namespace)
    with pytest.raises(PipelineDefinitionError) as caught:
        pipeline(namespace["body"])
    assert "pipeline parameter 'rows' has no value" in str(caught.value)
    assert "pass it to a step" in str(caught.value)


def test_a_step_output_used_in_arithmetic_is_an_error() -> None:
    def body(rows: int = 3):  # type: ignore[no-untyped-def]
        return add(total(load(rows)) * 2, 1.0)

    with pytest.raises(PipelineDefinitionError, match="output 'output' of step 'total_of'"):
        pipeline(body)


def test_a_parameter_used_in_an_if_is_an_error() -> None:
    def body(rows: int = 3):  # type: ignore[no-untyped-def]
        if rows:
            return load(rows)
        return load(1)

    with pytest.raises(PipelineDefinitionError, match="pipeline parameter 'rows'"):
        pipeline(body)


def test_a_parameter_compared_with_equals_in_an_if_is_an_error() -> None:
    """``if rows == 5`` must not silently trace one branch: the value is unknown when tracing."""

    def body(rows: int = 3):  # type: ignore[no-untyped-def]
        if rows == 5:
            return load(5)
        return load(1)

    with pytest.raises(PipelineDefinitionError, match="pipeline parameter 'rows'"):
        pipeline(body)


def test_a_parameter_formatted_into_a_string_is_an_error() -> None:
    """``f"data/{name}.csv"`` would otherwise pass the text "data/Param('name').csv" on."""

    @step
    def read(where: str) -> str:
        return where

    def body(name: str = "a"):  # type: ignore[no-untyped-def]
        return read(f"data/{name}.csv")

    with pytest.raises(PipelineDefinitionError, match="pipeline parameter 'name'"):
        pipeline(body)


def test_passing_all_outputs_of_a_multi_output_step_as_one_input_is_an_error() -> None:
    def body(rows: int = 4):  # type: ignore[no-untyped-def]
        return total(split(load(rows)))

    with pytest.raises(PipelineDefinitionError) as caught:
        pipeline(body)
    message = str(caught.value)
    assert "all 2 outputs of step split" in message
    assert "unpack them first" in message


@pytest.mark.parametrize(
    "wrap",
    [lambda v: [v, 1], lambda v: {"a": v}, lambda v: (1, v), lambda v: [[v]]],
    ids=["list", "dict", "tuple", "nested"],
)
def test_placeholders_inside_a_list_or_dict_are_an_error(wrap: Any) -> None:
    def body(rows: int = 3):  # type: ignore[no-untyped-def]
        return count(wrap(total(load(rows))))

    with pytest.raises(PipelineDefinitionError, match="inside a list or dict"):
        pipeline(body)

    def with_param(rows: int = 3):  # type: ignore[no-untyped-def]
        return count(wrap(rows))

    with pytest.raises(PipelineDefinitionError, match="inside a list or dict"):
        pipeline(with_param)


def test_a_pipeline_calling_no_step_is_an_error() -> None:
    def empty(rows: int = 3):  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(PipelineDefinitionError) as caught:
        pipeline(empty)
    assert "empty calls no step" in str(caught.value)
    assert "@loopml.step" in str(caught.value)


@pytest.mark.parametrize(
    "returned",
    [lambda rows, out: 5, lambda rows, out: rows, lambda rows, out: (out, 3)],
    ids=["constant", "parameter", "tuple-with-constant"],
)
def test_a_pipeline_returning_something_other_than_step_outputs_is_an_error(
    returned: Any,
) -> None:
    def body(rows: int = 3):  # type: ignore[no-untyped-def]
        out = load(rows)
        return returned(rows, out)

    with pytest.raises(PipelineDefinitionError, match="return"):
        pipeline(body)


def test_a_pipeline_may_return_one_output_a_tuple_or_a_dict_of_outputs() -> None:
    @pipeline
    def one(rows: int = 3):  # type: ignore[no-untyped-def]
        return load(rows)

    @pipeline
    def several(rows: int = 3):  # type: ignore[no-untyped-def]
        data = load(rows)
        return data, total(data)

    @pipeline
    def named(rows: int = 3):  # type: ignore[no-untyped-def]
        data = load(rows)
        return {"data": data, "sum": total(data)}

    assert one.graph.outputs == [("output", OutputRef("load", "output"))]
    assert [name for name, _ in several.graph.outputs] == ["output_0", "output_1"]
    assert named.graph.outputs == [
        ("data", OutputRef("load", "output")),
        ("sum", OutputRef("total_of", "output")),
    ]


def test_a_pipeline_taking_star_args_is_refused() -> None:
    def body(*rows: int):  # type: ignore[no-untyped-def]
        return load(3)

    with pytest.raises(PipelineDefinitionError, match=r"takes \*rows"):
        pipeline(body)


# -- graphs ---------------------------------------------------------------------------------------
def test_the_same_step_called_twice_gets_node_ids_x_and_x_2() -> None:
    @pipeline
    def twice(rows: int = 3):  # type: ignore[no-untyped-def]
        a = load(rows)
        b = load(5)
        c = load(7)
        return add(total(a), total(b)), c

    assert list(twice.graph.nodes) == ["load", "load_2", "load_3", "total_of", "total_of_2", "add"]
    assert twice.graph.nodes["load"].inputs == {"rows": ParamRef("rows")}
    assert twice.graph.nodes["load_2"].inputs == {"rows": ConstRef(5)}
    assert twice.graph.nodes["add"].upstream() == ["total_of", "total_of_2"]


def test_a_traced_graph_has_no_cycles() -> None:
    """A graph traced by running the pipeline body cannot have a cycle.

    A step's outputs exist only after the step was called, so every input of a node is an output
    of a node created *before* it: the order in which the body called the steps is a
    topological order, and an edge can never point back. This checks that property on a graph
    with fan-out and fan-in.
    """

    @pipeline
    def diamond(rows: int = 4):  # type: ignore[no-untyped-def]
        data = load(rows)
        head, tail = split(data)
        left, right = total(head), total(tail)
        both = add(left, right)
        return add(both, total(data))

    position = {node.id: i for i, node in enumerate(diamond.graph.order())}
    for node in diamond.graph.order():
        for upstream in node.upstream():
            assert position[upstream] < position[node.id]
    # a depth-first search for a back edge finds none
    state: dict[str, str] = {}

    def visit(node_id: str) -> None:
        state[node_id] = "open"
        for upstream in diamond.graph.nodes[node_id].upstream():
            assert state.get(upstream) != "open", f"cycle through {upstream}"
            if upstream not in state:
                visit(upstream)
        state[node_id] = "done"

    for node_id in diamond.graph.nodes:
        if node_id not in state:
            visit(node_id)


def test_parameters_and_constants_become_param_and_const_references() -> None:
    @pipeline
    def wired(rows: int = 3, scale: float = 2.0):  # type: ignore[no-untyped-def]
        return total(load(rows), scale=scale), total(load(10), 0.5)

    nodes = wired.graph.nodes
    assert nodes["load"].inputs == {"rows": ParamRef("rows")}
    assert nodes["total_of"].inputs == {
        "data": OutputRef("load", "output"),
        "scale": ParamRef("scale"),
    }
    assert nodes["total_of_2"].inputs["scale"] == ConstRef(0.5)
    assert nodes["load_2"].inputs == {"rows": ConstRef(10)}


# -- parameters -----------------------------------------------------------------------------------
@pipeline
def sized(rows: int, scale: float = 1.5, label: str = "x"):  # type: ignore[no-untyped-def]
    return total(load(rows), scale=scale)


def test_bind_fills_in_defaults() -> None:
    assert sized.bind({"rows": 3}) == {"rows": 3, "scale": 1.5, "label": "x"}
    assert sized.bind({"rows": 3, "scale": 2.0}) == {"rows": 3, "scale": 2.0, "label": "x"}


def test_bind_refuses_unknown_parameters_listing_the_known_ones() -> None:
    with pytest.raises(InvalidInputError) as caught:
        sized.bind({"rows": 3, "colums": 2, "bogus": 1})
    message = str(caught.value)
    assert "'bogus', 'colums'" in message
    assert "its parameters: rows, scale, label" in message


def test_bind_refuses_a_missing_required_parameter_saying_how_to_give_it() -> None:
    with pytest.raises(InvalidInputError) as caught:
        sized.bind({})
    message = str(caught.value)
    assert "needs parameter 'rows'" in message
    assert "sized.run(rows=...)" in message and "-p rows=VALUE" in message


def test_pipeline_without_parentheses_is_named_after_the_function() -> None:
    assert isinstance(sized, Pipeline)
    assert sized.name == "sized"
    assert sized.options.cache is True and sized.options.experiment is None
    assert repr(sized) == "Pipeline(sized: 2 steps)"


def test_pipeline_with_parentheses_takes_name_experiment_and_cache() -> None:
    @pipeline(name="nightly", experiment="fraud", cache=False)
    def body(rows: int = 3):  # type: ignore[no-untyped-def]
        return load(rows)

    assert body.name == "nightly"
    assert body.options.experiment == "fraud"
    assert body.options.cache is False
    result = body.run(rows=2)
    run = loopml.get_run(result.run_id)
    assert run.experiment == "fraud"
    assert run.name == "nightly"
    assert run.tags["loopml.cache"] == "off"


def test_loopml_exposes_step_and_pipeline_at_top_level() -> None:
    assert loopml.step is step
    assert loopml.pipeline is pipeline
