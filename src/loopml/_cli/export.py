"""``loopml export kfp``: a pipeline as a Kubeflow Pipelines v2 YAML file."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Export a pipeline to another orchestrator (Kubeflow Pipelines).", no_args_is_help=True
)


@app.command("kfp")
def kfp(
    target: str = typer.Argument(
        ..., help="The pipeline: path/to/file.py[:name] or package.module[:name]."
    ),
    output: str = typer.Option(
        None, "--output", "-o", help="Where to write the YAML (default: PIPELINE_NAME.yaml)."
    ),
    base_image: str = typer.Option(
        "python:3.11",
        "--base-image",
        help="The image every step runs in on the cluster; it must hold loopml and the project.",
    ),
    install: list[str] = typer.Option(
        [],
        "--install",
        help="A package each step pip-installs before it runs (repeat it); not for kfp.local.",
    ),
) -> None:
    """Compile a pipeline to KFP v2 IR (one component per step) for Kubeflow or OpenShift AI."""
    from loopml._cli._output import console
    from loopml.pipelines._kfp import compile_kfp
    from loopml.pipelines._loader import load_pipeline

    pipeline = load_pipeline(target)
    path = compile_kfp(
        pipeline,
        target,
        output or f"{pipeline.name}.yaml",
        base_image=base_image,
        packages_to_install=install,
    )
    steps = len(pipeline.graph.nodes)
    console().print(
        f"wrote {path} (Kubeflow pipeline [bold]{pipeline.name}[/], {steps} "
        f"step{'' if steps == 1 else 's'}, image {base_image})",
        soft_wrap=True,
    )
