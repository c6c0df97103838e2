"""Kubeflow Pipelines: compile a loopml pipeline to KFP v2 IR, and run that IR with ``kfp.local``.

``loopml export kfp flow.py:training -o pipeline.yaml`` (or :func:`compile_kfp`) writes a
pipeline that Kubeflow Pipelines or OpenShift AI Data Science Pipelines run as they are. It is
built with the real ``kfp`` compiler (``pip install 'loopml[kfp]'``), tested with kfp 2.17.

How the loopml graph maps to KFP:

* The KFP pipeline is named after the loopml pipeline, in KFP's alphabet: lower case, ``-``
  for anything but letters and digits (``training_flow`` → ``training-flow``).
* **One lightweight Python component per step node**, named after the node id (so the KFP task
  is ``train`` or ``train-2``). Its inputs are ``step_target`` (the loopml target the pipeline
  was exported from, e.g. ``flow.py:training`` or ``myproject.flows:training``), ``node`` (the
  node id), ``params`` (a JSON string of the step's constant arguments), one typed parameter per
  step argument that receives a pipeline parameter, and one ``dsl.Input[dsl.Artifact]`` per
  argument that receives another step's output. Each step output is a
  ``dsl.Output[dsl.Artifact]`` named after it (``output``, ``output_0``, NamedTuple fields).
  A name that clashes with ``step_target``/``node``/``params`` or with another argument gets
  a ``_`` appended.
* **Pipeline parameters** become KFP pipeline parameters: ``int``, ``float``, ``bool`` and
  ``str`` keep their type; ``dict``, ``list``, ``Any`` and optional values travel as JSON
  strings (KFP would turn nested numbers into floats); their KFP description starts with
  ``JSON text; loopml type:`` and :func:`run_kfp_locally` encodes Python values for them.
  Other types (a DataFrame, a path, a class) are refused when compiling: pass such data
  between steps, or a name/URI as a ``str``.
* **Pipeline outputs** are KFP pipeline output artifacts named like loopml's (``output``,
  ``output_0``, or the keys of a returned dict, made identifiers: ``class`` → ``class_``).
* **Artifacts**: each output file holds the bytes of the loopml materializer chosen for the
  value (Parquet for tables, ``.npy`` for arrays, canonical JSON, ...: see
  :mod:`loopml.pipelines._materializers`), and the artifact's KFP **metadata** holds
  ``loopml.materializer`` (plus ``loopml.type`` and ``loopml.content_hash``), which KFP records
  with the artifact and hands to the consuming task. A DatasetVersion cannot cross a KFP edge
  (there is no loopml workspace there): return the data instead.
* Step options: ``retries``/``retry_delay`` → ``set_retry`` (backoff factor 2), ``env`` →
  ``set_env_variable``, ``cache=False``/``deterministic=False`` (or a pipeline with
  ``cache=False``) → ``set_caching_options(False)``, ``resources`` ``cpu``/``memory`` (bytes)/
  ``gpu`` → ``set_cpu_limit``/``set_memory_limit``/``set_accelerator_limit``.

Every component body is two lines: it imports this module and calls :func:`run_kfp_step`, which
imports the user's pipeline with :func:`~loopml.pipelines._loader.load_pipeline`, runs the
node's step function and writes its outputs. It needs no loopml workspace: on KFP nothing is
tracked in a loopml store and loopml's step cache is not used. KFP caches by itself, keyed on
the image, the component and its inputs but not on the step's code, which lives in the image:
give each build of the image its own tag. Constant step arguments that are not JSON (a tuple,
an object) are not in the YAML; the component takes them from the step's code.

**Where the code comes from.** The component runs ``step_target`` in its working directory.
Locally (``kfp.local`` ``SubprocessRunner``) that is the current folder, with the current
Python, so run from the project root. On a cluster, build an image holding loopml (with the
libraries the steps use) and the project, with the project as the working directory (or use a
``module:name`` target importable from the image), and export with ``--base-image``. Keep
``packages_to_install`` empty for local runs: with ``use_venv=False`` kfp pip-installs them into
the current environment.
"""

from __future__ import annotations

import itertools
import json
import keyword
import linecache
import math
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError
from loopml.pipelines import _materializers as mat
from loopml.pipelines._dsl import ConstRef, OutputRef, ParamRef

if TYPE_CHECKING:
    from loopml.pipelines._dsl import Node, Pipeline

INSTALL_HINT = "pip install 'loopml[kfp]'"
RESERVED = ("step_target", "node", "params")
META_MATERIALIZER = "loopml.materializer"
META_TYPE = "loopml.type"
META_HASH = "loopml.content_hash"
JSON_MARK = "JSON text; loopml type:"  # starts the description of a JSON pipeline parameter

_counter = itertools.count()


def _import_kfp() -> Any:
    try:
        import kfp
        from kfp import compiler, dsl  # noqa: F401
    except ImportError as exc:
        raise InvalidInputError(
            f"exporting to Kubeflow Pipelines needs the kfp package ({exc}); install it with "
            f"{INSTALL_HINT}"
        ) from exc
    return kfp


# -- parameters ---------------------------------------------------------------------------------
_NATIVE: dict[Any, str] = {int: "int", float: "float", bool: "bool", str: "str"}
_NATIVE_NAMES = {"int", "float", "bool", "str"}


def _kind_of_annotation(annotation: Any) -> str | None:
    """``int``/``float``/``bool``/``str``, ``json``, or None when KFP cannot carry it."""
    for native, kind in _NATIVE.items():
        if annotation is native:
            return kind
    if isinstance(annotation, str):  # an annotation that could not be resolved
        text = annotation.strip()
        if text in _NATIVE_NAMES:
            return text
        if text in ("dict", "list", "Any", "typing.Any", "object") or text.startswith(
            ("dict[", "list[", "Dict[", "List[")
        ):
            return "json"
        return None
    if annotation is Any or annotation is object or annotation is dict or annotation is list:
        return "json"
    origin = typing.get_origin(annotation)
    if origin in (dict, list):
        return "json"
    args = typing.get_args(annotation)
    if args and type(None) in args:  # Optional[X], X | None
        rest = [a for a in args if a is not type(None)]
        if all(_kind_of_annotation(a) is not None for a in rest):
            return "json"
    return None


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _kind_of_default(value: Any) -> str:
    for kind_type, kind in _NATIVE.items():
        if type(value) is kind_type:
            return kind
    return "json"


@dataclass
class _Param:
    name: str
    kind: str  # "int" | "float" | "bool" | "str" | "json"
    has_default: bool
    default: Any
    annotation: str = ""

    @property
    def kfp_type(self) -> type:
        return {"int": int, "float": float, "bool": bool}.get(self.kind, str)

    @property
    def kfp_default(self) -> Any:
        if self.kind == "json":
            return json.dumps(self.default, sort_keys=True)
        if self.kind == "float":
            return float(self.default)
        return self.default


def _pipeline_params(pipeline: Pipeline) -> dict[str, _Param]:
    try:
        hints = typing.get_type_hints(pipeline.fn)
    except Exception:
        hints = {}
    out: dict[str, _Param] = {}
    for name, p in pipeline.signature.parameters.items():
        annotation = hints.get(name, p.annotation)
        has_default = p.default is not p.empty
        if annotation is p.empty:
            kind: str | None = _kind_of_default(p.default) if has_default else "json"
        else:
            kind = _kind_of_annotation(annotation)
        where = f"pipeline {pipeline.name}: parameter {name!r}"
        if kind is None:
            raise InvalidInputError(
                f"{where} is a {_type_text(annotation)}, which a Kubeflow pipeline parameter "
                "cannot hold; KFP parameters are int, float, bool, str, or JSON (dict, list); "
                "pass the data "
                "between steps instead, or a path/URI/name as a str"
            )
        if has_default:
            default = p.default
            ok = {
                "int": isinstance(default, int) and not isinstance(default, bool),
                "float": isinstance(default, int | float) and not isinstance(default, bool),
                "bool": isinstance(default, bool),
                "str": isinstance(default, str),
                "json": mat._json_able(default),
            }[kind]
            if not ok:
                raise InvalidInputError(
                    f"{where} defaults to {default!r}, which is not a "
                    f"{'JSON value' if kind == 'json' else kind}; KFP needs a default of the "
                    "parameter's type"
                )
        shown_type = "" if annotation is p.empty else _type_text(annotation)
        out[name] = _Param(name, kind, has_default, p.default if has_default else None, shown_type)
    return out


# -- the plan: what each component takes and gives ----------------------------------------------
@dataclass
class _NodePlan:
    node: Node
    function: str  # the generated component function's name (the KFP task name)
    constants: dict[str, Any] = field(default_factory=dict)
    params: list[tuple[str, str, _Param]] = field(default_factory=list)  # input, arg, param
    artifacts: list[tuple[str, str, OutputRef]] = field(default_factory=list)  # input, arg, ref
    outputs: dict[str, str] = field(default_factory=dict)  # output name -> arg


def _identifier(text: str, taken: set[str] | Sequence[str] = ()) -> str:
    name = re.sub(r"\W", "_", text) or "step"
    if name[0].isdigit():
        name = "_" + name
    while keyword.iskeyword(name) or name in taken or name in ("dsl", "kfp", "run_kfp_step"):
        name += "_"
    return name


def _output_field(name: str) -> str:
    """A pipeline output name as a NamedTuple field (no leading ``_``, not a keyword)."""
    text = re.sub(r"\W", "_", name).lstrip("_")
    if not text or text[0].isdigit():
        text = f"output_{text}"
    return text + "_" if keyword.iskeyword(text) else text


def kfp_pipeline_name(name: str) -> str:
    """The loopml pipeline name as KFP allows it (``^[a-z0-9][a-z0-9-]{0,127}$``)."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:128].rstrip("-")
    return text or "pipeline"


def _plan(pipeline: Pipeline, params: dict[str, _Param]) -> list[_NodePlan]:
    plans: list[_NodePlan] = []
    functions: set[str] = set()
    for node in pipeline.graph.order():
        function = _identifier(node.id, functions)
        functions.add(function)
        plan = _NodePlan(node, function)
        used: set[str] = set(RESERVED) | {function}
        for name, ref in node.inputs.items():
            if isinstance(ref, ConstRef):
                if mat._json_able(ref.value):
                    plan.constants[name] = ref.value
                # other constants (a tuple, an object) are taken from the step's code at run time
                continue
            arg = _identifier(name, used)
            used.add(arg)
            if isinstance(ref, ParamRef):
                plan.params.append((name, arg, params[ref.name]))
            else:
                plan.artifacts.append((name, arg, ref))
        for spec in node.step.outputs:
            arg = _identifier(spec.name, used)
            used.add(arg)
            plan.outputs[spec.name] = arg
        plans.append(plan)
    return plans


def _component_source(plan: _NodePlan) -> str:
    args = ["step_target: str", "node: str", "params: str"]
    args += [f"{arg}: {p.kfp_type.__name__}" for _, arg, p in plan.params]
    args += [f"{arg}: dsl.Input[dsl.Artifact]" for _, arg, _ in plan.artifacts]
    args += [f"{arg}: dsl.Output[dsl.Artifact]" for arg in plan.outputs.values()]
    values = "{" + ", ".join(f"{name!r}: {arg}" for name, arg, _ in plan.params) + "}"
    json_names = [name for name, _, p in plan.params if p.kind == "json"]
    inputs = "{" + ", ".join(f"{name!r}: {arg}" for name, arg, _ in plan.artifacts) + "}"
    outputs = "{" + ", ".join(f"{name!r}: {arg}" for name, arg in plan.outputs.items()) + "}"
    return (
        f"def {plan.function}({', '.join(args)}):\n"
        f'    """Run loopml step node {plan.node.id!r} ({plan.node.step.qualname})."""\n'
        "    from loopml.pipelines._kfp import run_kfp_step\n\n"
        f"    run_kfp_step(step_target, node, params, {inputs}, {outputs}, {values}, "
        f"{json_names!r})\n"
    )


def _make_component(plan: _NodePlan, base_image: str, packages: list[str]) -> Any:
    from kfp import dsl

    source = _component_source(plan)
    # kfp ships the function's source (inspect.getsource): give the generated code a file.
    filename = f"<loopml-kfp-{next(_counter)}-{plan.function}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"dsl": dsl}
    # dont_inherit: this module's `from __future__ import annotations` would make them strings
    code = compile(source, filename, "exec", dont_inherit=True)
    exec(code, namespace)  # noqa: S102 - generated above
    return dsl.component(
        namespace[plan.function],
        base_image=base_image,
        packages_to_install=packages or None,
        install_kfp_package=False,
    )


def _set_options(task: Any, node: Node, pipeline_cache: bool) -> None:
    options = node.step.options
    task.set_caching_options(pipeline_cache and options.cache and options.deterministic)
    for name, value in sorted(options.env.items()):
        task.set_env_variable(name, str(value))
    if options.retries:
        task.set_retry(
            num_retries=options.retries,
            backoff_duration=f"{math.ceil(max(options.retry_delay, 0))}s",  # whole seconds
            backoff_factor=2.0,
        )
    resources = options.resources
    if "cpu" in resources:
        cpu = float(resources["cpu"])
        task.set_cpu_limit(str(int(cpu)) if cpu.is_integer() else f"{round(cpu * 1000)}m")
    if "memory" in resources:
        task.set_memory_limit(str(int(resources["memory"])))
    if resources.get("gpu"):
        task.set_accelerator_type("nvidia.com/gpu")
        task.set_accelerator_limit(int(resources["gpu"]))


def _build(pipeline: Pipeline, target: str, base_image: str, packages: list[str]) -> Any:
    import inspect

    from kfp import dsl

    params = _pipeline_params(pipeline)
    plans = _plan(pipeline, params)
    components = {p.node.id: _make_component(p, base_image, packages) for p in plans}
    outputs = [(_output_field(name), ref) for name, ref in pipeline.graph.outputs]
    if len({n for n, _ in outputs}) != len(outputs):
        raise InvalidInputError(
            f"pipeline {pipeline.name} returns outputs whose names clash as KFP identifiers "
            f"({', '.join(name for name, _ in pipeline.graph.outputs)}); rename them"
        )
    fields = [(name, dsl.Artifact) for name, _ in outputs]
    returns: Any = typing.NamedTuple("Outputs", fields) if outputs else inspect.Signature.empty
    signature = inspect.Signature(
        [
            inspect.Parameter(
                p.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=p.kfp_type,
                default=p.kfp_default if p.has_default else inspect.Parameter.empty,
            )
            for p in params.values()
        ],
        return_annotation=returns,
    )
    pipeline_cache = pipeline.options.cache

    def body(*args: Any, **kwargs: Any) -> Any:
        values = signature.bind(*args, **kwargs).arguments
        tasks: dict[str, Any] = {}
        for plan in plans:
            arguments: dict[str, Any] = {
                "step_target": target,
                "node": plan.node.id,
                "params": json.dumps(plan.constants, sort_keys=True),
            }
            for _, arg, param in plan.params:
                arguments[arg] = values[param.name]
            for _, arg, ref in plan.artifacts:
                producer = next(p for p in plans if p.node.id == ref.node)
                arguments[arg] = tasks[ref.node].outputs[producer.outputs[ref.output]]
            task = components[plan.node.id](**arguments)
            _set_options(task, plan.node, pipeline_cache)
            tasks[plan.node.id] = task
        if not outputs:
            return None
        found = []
        for _, ref in outputs:
            producer = next(p for p in plans if p.node.id == ref.node)
            found.append(tasks[ref.node].outputs[producer.outputs[ref.output]])
        return returns(*found)

    body.__name__ = _identifier(pipeline.name)
    body.__qualname__ = body.__name__
    body.__signature__ = signature  # type: ignore[attr-defined]
    doc = " ".join((pipeline.fn.__doc__ or "").strip().split("\n\n")[0].split())
    description = doc or f"loopml pipeline {pipeline.qualname}, exported from {target}"
    # Parameter descriptions (kfp reads them from the docstring): which ones are JSON text.
    json_params = [p for p in params.values() if p.kind == "json"]
    if json_params:
        body.__doc__ = "\n".join(
            [description, "", "Args:"]
            + [f"    {p.name}: {JSON_MARK} {p.annotation}" for p in json_params]
        )
    return dsl.pipeline(name=kfp_pipeline_name(pipeline.name), description=description)(body)


def compile_kfp(
    pipeline: Pipeline,
    target: str,
    package_path: str | Path,
    *,
    base_image: str = "python:3.11",
    packages_to_install: Sequence[str] = (),
) -> Path:
    """Compile ``pipeline`` to a KFP v2 IR YAML file at ``package_path``; returns its path.

    ``target`` is how a component finds the pipeline again at run time (``file.py:name``
    relative to the component's working directory, or ``module:name``). ``base_image`` is the
    image each step runs in on a cluster: it must hold loopml, the steps' libraries and the
    project (the default ``python:3.11`` only suits local runs). ``packages_to_install`` are
    pip-installed before each step; leave it empty for ``kfp.local`` runs.
    """
    _import_kfp()
    from kfp import compiler

    if not target.partition(":")[0]:
        raise InvalidInputError(
            f"target {target!r} must say where the pipeline is, e.g. flow.py:{pipeline.name} "
            f"or package.module:{pipeline.name}, so that each KFP step can import it"
        )
    path = Path(package_path)
    if path.suffix not in (".yaml", ".yml"):
        raise InvalidInputError(f"write the KFP pipeline to a .yaml file, not {path}")
    built = _build(pipeline, target, base_image, list(packages_to_install))
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(built, str(path))
    return path


# -- inside a KFP task ----------------------------------------------------------------------------
def _read_artifact(name: str, artifact: Any) -> Any:
    metadata = dict(getattr(artifact, "metadata", None) or {})
    path = Path(artifact.path)
    which = metadata.get(META_MATERIALIZER)
    if not which:
        raise InvalidInputError(
            f"input {name!r} ({getattr(artifact, 'uri', path)}) has no {META_MATERIALIZER!r} "
            "in its metadata; loopml steps only take artifacts written by loopml steps"
        )
    return mat.by_name(str(which)).load(path.read_bytes())


def _write_artifact(node: Node, name: str, artifact: Any, value: Any) -> None:
    materializer = mat.for_value(value)
    if materializer.name == "dataset":
        raise InvalidInputError(
            f"step {node.step.qualname} returned a DatasetVersion as {name!r}; on Kubeflow there "
            "is no loopml workspace to resolve it, so return the data itself (e.g. .to_pandas())"
        )
    data = materializer.save(value)
    path = Path(artifact.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    artifact.metadata[META_MATERIALIZER] = materializer.name
    artifact.metadata[META_TYPE] = mat.type_name(value)
    artifact.metadata[META_HASH] = materializer.hash(value, data)


def _check_type(node: Node, name: str, declared: Any, value: Any) -> None:
    origin = typing.get_origin(declared) or declared
    if origin is Any or not isinstance(origin, type):
        return
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if not isinstance(value, origin):
        raise InvalidInputError(
            f"step {node.step.qualname} declares output {name!r} as {origin.__name__} but "
            f"returned a {type(value).__name__}; return a {origin.__name__} or fix the annotation"
        )


def run_kfp_step(
    step_target: str,
    node: str,
    params_json: str,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    param_values: Mapping[str, Any] | None = None,
    json_params: Sequence[str] = (),
) -> None:
    """Run step node ``node`` of the pipeline at ``step_target`` inside a KFP task.

    ``inputs`` and ``outputs`` map the step's argument and output names to KFP artifacts
    (objects with ``.path`` and ``.metadata``); ``params_json`` holds the constant arguments;
    ``param_values`` the arguments fed by pipeline parameters (those in ``json_params`` as
    JSON text). Constants that are not JSON come from the step's code.
    """
    from loopml.pipelines._loader import load_pipeline

    pipeline = load_pipeline(step_target)
    found = pipeline.graph.nodes.get(node)
    if found is None:
        raise InvalidInputError(
            f"pipeline {pipeline.name} ({step_target}) has no step node {node!r} (its nodes: "
            f"{', '.join(pipeline.graph.nodes)}); the code changed since it was exported: "
            "export it again"
        )
    constants = json.loads(params_json)
    values = dict(param_values or {})
    for name in json_params:
        values[name] = json.loads(values[name])
    kwargs: dict[str, Any] = {}
    for name, ref in found.inputs.items():
        if name in inputs:
            kwargs[name] = _read_artifact(name, inputs[name])
        elif name in values:
            kwargs[name] = values[name]
        elif name in constants:
            kwargs[name] = constants[name]
        elif isinstance(ref, ConstRef):
            kwargs[name] = ref.value
        else:
            raise InvalidInputError(
                f"step node {node!r} of {step_target} gets no value for {name!r}; the code "
                "changed since it was exported: export it again"
            )
    returned = found.step.fn(**kwargs)
    specs = found.step.outputs
    if not specs:
        return
    if len(specs) == 1 and specs[0].name == "output":
        results = [returned]
    else:
        if not isinstance(returned, tuple) or len(returned) != len(specs):
            raise InvalidInputError(
                f"step {found.step.qualname} declares {len(specs)} outputs but returned "
                f"{type(returned).__name__}; return a tuple of {len(specs)} values"
            )
        results = list(returned)
    for spec, value in zip(specs, results, strict=True):
        _check_type(found, spec.name, spec.type, value)
        if spec.name in outputs:
            _write_artifact(found, spec.name, outputs[spec.name], value)


# -- running the compiled file locally ----------------------------------------------------------
def run_kfp_locally(
    package_path: str | Path, *, pipeline_root: str | Path | None = None, **params: Any
) -> dict[str, Any]:
    """Run the compiled pipeline at ``package_path`` with ``kfp.local`` and return its outputs.

    Uses ``SubprocessRunner(use_venv=False)``: each step runs in a subprocess of this Python,
    in the current working directory (so run it from the project root). ``params`` are
    Python values, as for ``pipeline.run``: JSON parameters are encoded here. Outputs go to a
    temporary ``pipeline_root`` (removed afterwards) unless one is given; the pipeline's
    outputs come back loaded as Python values, by output name. A failing step raises
    ``RuntimeError`` from kfp after its traceback is printed.
    """
    _import_kfp()
    import shutil
    import tempfile
    import warnings

    import yaml
    from kfp import components, local
    from kfp.local import config as local_config

    component = components.load_component_from_file(str(package_path))
    arguments = dict(params)
    # The loaded component forgets parameter descriptions: read them from the file.
    ir = yaml.safe_load(Path(package_path).read_text())
    declared = ir.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for name, spec in declared.items():
        if name not in arguments:
            continue
        if str(spec.get("description", "")).startswith(JSON_MARK):
            arguments[name] = json.dumps(arguments[name], sort_keys=True)
        elif spec.get("parameterType") == "NUMBER_DOUBLE" and isinstance(arguments[name], int):
            arguments[name] = float(arguments[name])
    root = Path(pipeline_root) if pipeline_root is not None else None
    scratch = Path(tempfile.mkdtemp(prefix="loopml-kfp-"))
    previous = local_config.LocalExecutionConfig.instance
    try:
        local.init(
            runner=local.SubprocessRunner(use_venv=False),
            pipeline_root=str(root or scratch / "outputs"),
            workspace_root=str(scratch / "workspace"),
        )
        with warnings.catch_warnings():
            # the image is not used by SubprocessRunner, whatever it is called
            warnings.filterwarnings(
                "ignore", message="You may be attemping to run a task", category=RuntimeWarning
            )
            task = component(**arguments)
        outputs = dict(task.outputs) if component.component_spec.outputs else {}
        return {name: _read_artifact(name, artifact) for name, artifact in outputs.items()}
    finally:
        local_config.LocalExecutionConfig.instance = previous
        shutil.rmtree(scratch, ignore_errors=True)


__all__ = ["compile_kfp", "run_kfp_locally", "run_kfp_step"]
