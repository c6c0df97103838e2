"""``loopml gc``: delete blobs nothing refers to (dry run unless --delete)."""

from __future__ import annotations

import time

import typer


def gc(
    delete: bool = typer.Option(
        False, "--delete", help="Really delete (without it, only report what would go)."
    ),
    grace_hours: float = typer.Option(
        1.0,
        "--grace-hours",
        min=0.0,
        help="Keep blobs younger than this: a run may be about to reference them.",
    ),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Find (and with --delete, remove) artifact blobs that no run or object references."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from loopml._cli._output import console, fmt_bytes, print_json
    from loopml._workspace import workspace

    ws = workspace()
    referenced = ws.store.referenced_digests()
    cutoff = time.time() - grace_hours * 3600
    unreferenced, young, kept, freed = [], 0, 0, 0
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} blobs"),
        TimeElapsedColumn(),
        console=console(),
        transient=True,
        disable=json,
    ) as progress:
        task = progress.add_task("scanning blobs", total=None)
        for blob in ws.artifacts.list_blobs():
            progress.advance(task)
            if blob.digest in referenced:
                kept += 1
            elif blob.mtime > cutoff:
                young += 1
            else:
                unreferenced.append(blob)
        temporaries = ws.artifacts.stale_temporaries(cutoff)
        if delete and (unreferenced or temporaries):
            task = progress.add_task("deleting", total=len(unreferenced) + len(temporaries))
            for blob in unreferenced:
                ws.artifacts.delete(blob.digest)
                freed += blob.size
                progress.advance(task)
            for temporary in temporaries:
                ws.artifacts.remove_temporary(temporary.digest)
                freed += temporary.size
                progress.advance(task)
    size = sum(b.size for b in unreferenced)
    if json:
        print_json(
            {
                "dry_run": not delete,
                "referenced": kept,
                "unreferenced": [{"digest": b.digest, "size": b.size} for b in unreferenced],
                "unreferenced_bytes": size,
                "kept_younger_than_grace": young,
                "stale_temporary_files": [t.digest for t in temporaries],
                "deleted_bytes": freed,
            }
        )
        return
    out = console()
    out.print(
        f"{kept} blobs referenced, {len(unreferenced)} unreferenced ({fmt_bytes(size)})"
        + (f", {young} too young to judge" if young else "")
    )
    if temporaries:
        out.print(f"{len(temporaries)} temporary files left by interrupted writes")
    for blob in unreferenced[:20]:
        out.print(f"  {blob.digest}  {fmt_bytes(blob.size)}")
    if len(unreferenced) > 20:
        out.print(f"  ... and {len(unreferenced) - 20} more")
    if not unreferenced and not temporaries:
        return
    if delete:
        out.print(
            f"[green]deleted {len(unreferenced)} blobs and {len(temporaries)} temporary files, "
            f"freed {fmt_bytes(freed)}[/]"
        )
    else:
        out.print("dry run: nothing deleted. Run [bold]loopml gc --delete[/] to remove them.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
