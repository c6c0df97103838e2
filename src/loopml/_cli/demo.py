"""``loopml demo``: the whole loop that exists today, on a bundled example."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    workspace: Path = typer.Option(
        None, "--workspace", "-w", help="Folder to use (default: a fresh ./loopml-demo*)."
    ),
    rows: int = typer.Option(20_000, "--rows", min=500, help="How many transactions to generate."),
) -> None:
    """Run the demo: data, schema, a cached training pipeline, the best model, drift."""
    from rich.markup import escape

    from loopml._cli._output import console
    from loopml.demo import run_demo

    out = console()
    out.rule("[bold]loopml demo[/]: the loop, today")
    with out.status("training and tracking models...", spinner="dots") as status:

        def report(line: str) -> None:
            out.print(escape(line))
            status.update(f"{escape(line.split()[0])} done, continuing...")

        result = run_demo(workspace, rows=rows, report=report)
    where = result.workspace
    cards = result.cards
    out.rule("[bold]what to look at next[/]")
    for command, why in (
        (f"cd {where}", "the workspace: .loopml/ holds the store and the artifacts"),
        ("loopml runs list -e fraud-demo", "every run with its params and metrics"),
        (f"loopml runs show {result.best_run_id[:8]}", "the best run: environment, artifacts"),
        (
            f"loopml runs compare {' '.join(r[:8] for r in result.run_ids)}",
            "the runs side by side",
        ),
        ('loopml runs list -f "metrics.roc_auc > 0.8" -o "metrics.pr_auc desc"', "query"),
        (f"loopml lineage {result.pipeline_run_id[:8]}", "the training pipeline's lineage"),
        ("loopml cache list", "the step cache the second run used"),
        (
            "loopml run loopml.demo._pipeline:fraud_training -p workspace=.",
            "run the training pipeline again yourself (cached)",
        ),
        ("loopml data show transactions", "the dataset version: id, source, roles, lineage"),
        ("loopml data profile transactions", "its profile: counts, moments, quantiles"),
        ("loopml data schema transactions", "the inferred schema (YAML to review and edit)"),
        (
            "loopml data diff transactions/1 transactions/2 --html drift.html",
            "drift between versions",
        ),
        (f"open {result.drift_report}", "the drift report of the shifted batch"),
        ("loopml models show fraud", "the model's versions, aliases, approvals and gates"),
        *[(f"open {card}", "a model card: metrics, slices, plots, lineage") for card in cards],
        ("loopml models history fraud", "every change to the model, in order"),
        ("loopml models compare fraud 1 2", "two versions side by side"),
        ("loopml triggers list", "what the agent fired, and the run it started"),
        ("cat agent.log", "what the agent printed while it watched incoming/"),
        ("loopml predictions list", "what the server logged, per model version"),
        ("loopml predictions show fraud", "the newest predictions, with their labels"),
        ("loopml serve models:/fraud@champion", "serve the champion yourself (port 8080)"),
        ("loopml doctor", "check the set-up"),
    ):
        out.print(f"  [bold cyan]{escape(command)}[/]\n      {why}")


def _executable() -> str:
    """``loopml`` if it is on PATH, else the full path of the one running (e.g. .venv/bin)."""
    import shutil
    import sys

    if shutil.which("loopml"):
        return "loopml"
    argv0 = Path(sys.argv[0])
    return str(argv0.resolve()) if argv0.name == "loopml" else "loopml"
