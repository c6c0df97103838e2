"""``@loopml.step`` and ``@loopml.pipeline``: typed steps wired into a graph by a function body.

A step is a plain function with a return annotation. Called outside a pipeline it just runs,
so a unit test calls it directly. While a pipeline is being defined, calling a step records a
node instead and returns placeholders for its outputs, which later steps take as inputs::

    @loopml.step
    def load(rows: int) -> pd.DataFrame: ...

    @loopml.step
    def train(data: pd.DataFrame, c: float = 1.0) -> dict: ...

    @loopml.pipeline
    def training(rows: int = 1000, c: float = 1.0):
        return train(load(rows), c=c)

The pipeline body runs once, when it is decorated, with placeholders for its parameters; that
traces the graph, so mistakes (a step without a return type, a step called with a wrong
argument, an output of another pipeline, a placeholder used in Python arithmetic) are errors
then, naming the function and the fix. A graph traced this way cannot have a cycle: an output
exists only after its step was called.
"""

from __future__ import annotations

import functools
import inspect
import threading
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from loopml._errors import InvalidInputError


class PipelineDefinitionError(InvalidInputError):
    """A step or pipeline is defined or wired wrongly (raised when the pipeline is defined)."""


# -- outputs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: Any


def _output_specs(fn: Callable[..., Any], qualname: str) -> list[OutputSpec]:
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise PipelineDefinitionError(
            f"step {qualname}: its type annotations cannot be resolved ({exc}); import the "
            "types it names at module level"
        ) from exc
    if "return" not in hints:
        raise PipelineDefinitionError(
            f"step {qualname} has no return type; annotate what it returns, e.g. "
            "`-> pd.DataFrame`, `-> tuple[pd.DataFrame, dict]` or `-> None`"
        )
    returned = hints["return"]
    if returned is None or returned is type(None):
        return []
    if _is_named_tuple(returned):
        fields = typing.get_type_hints(returned)
        return [OutputSpec(name, fields[name]) for name in returned._fields]
    if typing.get_origin(returned) is tuple:
        args = typing.get_args(returned)
        if not args or args[-1] is Ellipsis:
            raise PipelineDefinitionError(
                f"step {qualname} returns a tuple of unknown length; list each output's type, "
                "e.g. `-> tuple[pd.DataFrame, dict]`"
            )
        return [OutputSpec(f"output_{i}", t) for i, t in enumerate(args)]
    return [OutputSpec("output", returned)]


def _is_named_tuple(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, tuple) and hasattr(t, "_fields")


# -- references ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamRef:
    name: str


@dataclass(frozen=True)
class ConstRef:
    value: Any


@dataclass(frozen=True)
class OutputRef:
    node: str
    output: str


Ref = ParamRef | ConstRef | OutputRef


class _Placeholder:
    """Something that only exists once the pipeline runs: refuse to be used as a value now."""

    _what = "a placeholder"

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise PipelineDefinitionError(
            f"{self._what} has no value while the pipeline is being defined; pass it to a step "
            "and compute with it inside the step"
        )

    __bool__ = __iter__ = __len__ = __index__ = __float__ = __int__ = __complex__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _refuse
    __pow__ = __rpow__ = __neg__ = __pos__ = __abs__ = __round__ = __invert__ = _refuse
    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = __contains__ = _refuse
    __getitem__ = __lt__ = __gt__ = __le__ = __ge__ = __eq__ = __ne__ = __format__ = _refuse
    __hash__ = object.__hash__


class Param(_Placeholder):
    """A pipeline parameter while the pipeline is being defined."""

    def __init__(self, name: str, default: Any, annotation: Any) -> None:
        self.name, self.default, self.annotation = name, default, annotation
        self._what = f"pipeline parameter {name!r}"

    def __repr__(self) -> str:
        return f"Param({self.name!r})"


class StepOutput(_Placeholder):
    """One output of a step called while a pipeline is being defined."""

    def __init__(self, graph: Graph, node: str, spec: OutputSpec) -> None:
        self.graph, self.node, self.spec = graph, node, spec
        self._what = f"output {spec.name!r} of step {node!r}"

    def __repr__(self) -> str:
        return f"StepOutput({self.node}.{self.spec.name})"


# -- steps --------------------------------------------------------------------------------------
@dataclass
class StepOptions:
    name: str
    cache: bool = True
    deterministic: bool = True
    retries: int = 0
    retry_delay: float = 1.0
    resources: dict[str, float] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)


class Step:
    """A typed step. Calling it outside a pipeline runs the function."""

    def __init__(self, fn: Callable[..., Any], options: StepOptions) -> None:
        if not callable(fn) or inspect.isclass(fn):
            raise PipelineDefinitionError(f"@step decorates a function, not {fn!r}")
        self.fn = fn
        self.options = options
        self.qualname = f"{fn.__module__}.{fn.__qualname__}"
        self.signature = inspect.signature(fn)
        for parameter in self.signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise PipelineDefinitionError(
                    f"step {self.qualname} takes *{parameter.name}; a step's inputs must be "
                    "named parameters so they can be wired and cached"
                )
        self.outputs = _output_specs(fn, self.qualname)
        returned = typing.get_type_hints(fn).get("return")
        self.named_outputs: Any = returned if _is_named_tuple(returned) else None
        functools.update_wrapper(self, fn)

    @property
    def name(self) -> str:
        return self.options.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = _tracing.graph
        if graph is None:
            return self.fn(*args, **kwargs)
        return graph.add(self, args, kwargs)

    def __repr__(self) -> str:
        return f"Step({self.qualname})"


@overload
def step(fn: Callable[..., Any], /) -> Step: ...
@overload
def step(
    *,
    name: str | None = None,
    cache: bool = True,
    deterministic: bool = True,
    retries: int = 0,
    retry_delay: float = 1.0,
    resources: Mapping[str, float] | None = None,
    env: Mapping[str, str] | None = None,
    requirements: Sequence[str] = (),
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    cache: bool = True,
    deterministic: bool = True,
    retries: int = 0,
    retry_delay: float = 1.0,
    resources: Mapping[str, float] | None = None,
    env: Mapping[str, str] | None = None,
    requirements: Sequence[str] = (),
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make a function a pipeline step (``@step`` or ``@step(retries=2, cache=False, ...)``).

    ``cache=False`` or ``deterministic=False`` always re-executes it. ``retries`` re-runs a
    failing step with exponential backoff from ``retry_delay`` seconds. ``resources`` (e.g.
    ``{"cpu": 2}``) are what a Ray task of it asks for. ``env`` and ``requirements`` (package
    names whose installed versions count) are part of its cache key.
    """
    if not isinstance(retries, int) or retries < 0:
        raise PipelineDefinitionError(f"retries must be a whole number >= 0, not {retries!r}")

    def make(function: Callable[..., Any]) -> Step:
        options = StepOptions(
            name=str(name or getattr(function, "__name__", "step")),
            cache=cache,
            deterministic=deterministic,
            retries=retries,
            retry_delay=retry_delay,
            resources=dict(resources or {}),
            env=dict(env or {}),
            requirements=list(requirements),
        )
        return Step(function, options)

    return make(fn) if fn is not None else make


# -- graphs -------------------------------------------------------------------------------------
@dataclass
class Node:
    id: str
    step: Step
    inputs: dict[str, Ref]

    def upstream(self) -> list[str]:
        return sorted({r.node for r in self.inputs.values() if isinstance(r, OutputRef)})


class _Tracing(threading.local):
    graph: Graph | None = None


_tracing = _Tracing()


class Graph:
    """The nodes a pipeline body created, in the order it called them (a topological order)."""

    def __init__(self, pipeline_name: str) -> None:
        self.pipeline_name = pipeline_name
        self.nodes: dict[str, Node] = {}
        self.outputs: list[tuple[str, OutputRef]] = []

    def add(self, step_: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            bound = step_.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(
                f"pipeline {self.pipeline_name}: step {step_.qualname} called wrongly ({exc}); "
                f"its signature is {step_.name}{step_.signature}"
            ) from None
        inputs: dict[str, Ref] = {}
        for name, value in bound.arguments.items():
            inputs[name] = self._ref(step_, name, value)
        node_id = step_.name
        n = 2
        while node_id in self.nodes:
            node_id = f"{step_.name}_{n}"
            n += 1
        self.nodes[node_id] = Node(node_id, step_, inputs)
        outs = [StepOutput(self, node_id, spec) for spec in step_.outputs]
        if not outs:
            return None
        if len(outs) == 1 and step_.outputs[0].name == "output":
            return outs[0]
        if step_.named_outputs is not None:
            return step_.named_outputs._make(outs)
        return tuple(outs)

    def _ref(self, step_: Step, name: str, value: Any) -> Ref:
        if isinstance(value, StepOutput):
            if value.graph is not self:
                raise PipelineDefinitionError(
                    f"pipeline {self.pipeline_name}: input {name!r} of step {step_.qualname} is "
                    f"an output of another pipeline ({value.graph.pipeline_name}); a pipeline "
                    "can only wire outputs of steps it calls itself"
                )
            return OutputRef(value.node, value.spec.name)
        if isinstance(value, Param):
            return ParamRef(value.name)
        if isinstance(value, tuple) and value and all(isinstance(v, StepOutput) for v in value):
            raise PipelineDefinitionError(
                f"pipeline {self.pipeline_name}: input {name!r} of step {step_.qualname} is all "
                f"{len(value)} outputs of step {value[0].node}; unpack them first, e.g. "
                "`a, b = step(...)`, and pass one"
            )
        if _holds_placeholder(value):
            raise PipelineDefinitionError(
                f"pipeline {self.pipeline_name}: input {name!r} of step {step_.qualname} puts a "
                "step output or parameter inside a list or dict; pass it as its own argument"
            )
        return ConstRef(value)

    def order(self) -> list[Node]:
        return list(self.nodes.values())


def _holds_placeholder(value: Any) -> bool:
    if isinstance(value, _Placeholder):
        return True
    if isinstance(value, list | tuple | set):
        return any(_holds_placeholder(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_placeholder(v) for v in value.values())
    return False


# -- pipelines ----------------------------------------------------------------------------------
@dataclass
class PipelineOptions:
    name: str
    cache: bool = True
    experiment: str | None = None
    schedule: str | None = None  # cron, 5 fields, UTC
    on_new_data: str | None = None  # a dataset name, or a folder or glob of files


class Pipeline:
    """A pipeline: a traced graph of steps and the parameters it takes."""

    def __init__(self, fn: Callable[..., Any], options: PipelineOptions) -> None:
        self.fn = fn
        self.options = options
        self.qualname = f"{fn.__module__}.{fn.__qualname__}"
        self.signature = inspect.signature(fn)
        self.params: dict[str, Param] = {}
        for p in self.signature.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise PipelineDefinitionError(
                    f"pipeline {self.qualname} takes *{p.name}; give each parameter a name"
                )
            if p.name in ("executor", "cache", "path"):
                raise PipelineDefinitionError(
                    f"pipeline {self.qualname} has a parameter named {p.name!r}, which "
                    "Pipeline.run() takes itself; rename it"
                )
            default = None if p.default is p.empty else p.default
            self.params[p.name] = Param(p.name, default, p.annotation)
        self.graph = self._trace()
        functools.update_wrapper(self, fn)

    @property
    def name(self) -> str:
        return self.options.name

    def _trace(self) -> Graph:
        graph = Graph(self.qualname)
        previous = _tracing.graph
        if previous is not None:
            raise PipelineDefinitionError(
                f"pipeline {self.qualname} is defined inside another pipeline's body; define "
                "pipelines at module level"
            )
        _tracing.graph = graph
        try:
            result = self.fn(**self.params)
        finally:
            _tracing.graph = previous
        if not graph.nodes:
            raise PipelineDefinitionError(
                f"pipeline {self.qualname} calls no step; call @loopml.step functions in its body"
            )
        graph.outputs = self._outputs(result, graph)
        return graph

    def _outputs(self, result: Any, graph: Graph) -> list[tuple[str, OutputRef]]:
        if result is None:
            return []
        items: list[tuple[str, Any]]
        if isinstance(result, StepOutput):
            items = [("output", result)]
        elif isinstance(result, tuple):
            items = [(f"output_{i}", v) for i, v in enumerate(result)]
        elif isinstance(result, dict):
            items = [(str(k), v) for k, v in result.items()]
        else:
            raise PipelineDefinitionError(
                f"pipeline {self.qualname} returns {type(result).__name__}; a pipeline returns "
                "step outputs (one, a tuple, or a dict of them) or nothing"
            )
        out = []
        for name, value in items:
            if not isinstance(value, StepOutput) or value.graph is not graph:
                raise PipelineDefinitionError(
                    f"pipeline {self.qualname} returns {value!r} as {name!r}; return outputs of "
                    "the steps it calls"
                )
            out.append((name, OutputRef(value.node, value.spec.name)))
        return out

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The run's parameter values: defaults filled in, unknown or missing ones refused."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise InvalidInputError(
                f"pipeline {self.name} has no parameter(s) {', '.join(map(repr, unknown))}; its "
                f"parameters: {', '.join(self.params) or 'none'}"
            )
        values: dict[str, Any] = {}
        for name, parameter in self.signature.parameters.items():
            if name in params:
                values[name] = params[name]
            elif parameter.default is not parameter.empty:
                values[name] = parameter.default
            else:
                raise InvalidInputError(
                    f"pipeline {self.name} needs parameter {name!r}; give it, e.g. "
                    f"{self.name}.run({name}=...) or loopml run ... -p {name}=VALUE"
                )
        return values

    def run(
        self,
        *,
        executor: str = "local",
        cache: bool | None = None,
        path: Any = None,
        **params: Any,
    ) -> Any:
        """Run the pipeline; returns a :class:`~loopml.pipelines.PipelineRun`.

        ``executor``: ``local`` (this process), ``process`` (a child process per step,
        independent steps in parallel) or ``ray``. ``cache=False`` executes every step.
        """
        from loopml.pipelines._runner import run_pipeline

        return run_pipeline(self, params, executor=executor, cache=cache, path=path)

    def __call__(self, **params: Any) -> Any:
        return self.run(**params)

    def __repr__(self) -> str:
        return f"Pipeline({self.name}: {len(self.graph.nodes)} steps)"


@overload
def pipeline(fn: Callable[..., Any], /) -> Pipeline: ...
@overload
def pipeline(
    *,
    name: str | None = None,
    cache: bool = True,
    experiment: str | None = None,
    schedule: str | None = None,
    on_new_data: str | None = None,
) -> Callable[[Callable[..., Any]], Pipeline]: ...


def pipeline(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    cache: bool = True,
    experiment: str | None = None,
    schedule: str | None = None,
    on_new_data: str | None = None,
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Make a function whose body wires steps a pipeline (``@pipeline`` or ``@pipeline(...)``).

    ``cache=False`` turns caching off for every run; ``experiment`` names the experiment its
    runs are tracked under (default: the pipeline's name). ``schedule`` (cron, UTC) and
    ``on_new_data`` (a dataset name, or a folder or glob of files) say when ``loopml agent``
    starts it (:mod:`loopml.pipelines._triggers`).
    """
    if schedule is not None:
        from loopml.pipelines._triggers import check_schedule

        check_schedule(schedule)

    def make(function: Callable[..., Any]) -> Pipeline:
        from loopml.store._records import check_trigger_name

        options = PipelineOptions(
            name=check_trigger_name(str(name or getattr(function, "__name__", "pipeline"))),
            cache=cache,
            experiment=experiment,
            schedule=schedule,
            on_new_data=on_new_data,
        )
        return Pipeline(function, options)

    return make(fn) if fn is not None else make


__all__ = [
    "Graph",
    "Node",
    "Pipeline",
    "PipelineDefinitionError",
    "Step",
    "StepOutput",
    "pipeline",
    "step",
]
