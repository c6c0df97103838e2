"""A :class:`~loopml.data._drift_report.DriftReport` as a compact Rich table for terminals.

One row per column, drifted columns first, between a line with the dataset verdict and a line
saying what was compared. Strings from the data go in as :class:`rich.text.Text`, never as markup,
so a column named ``[bold]x`` prints as written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.data._drift_report import ColumnDrift, DriftReport
from loopml.data._report_html import fmt_num, fmt_stat

if TYPE_CHECKING:
    from rich.console import Group
    from rich.text import Text

_KIND = {"numerical": "num", "categorical": "cat"}


def _verdict(report: DriftReport) -> Text:
    from rich.text import Text

    m = len(report.columns)
    if m == 0:
        return Text("Drift: no columns compared", style="bold")
    cmp = "≥" if report.drifted else "<"
    head = (
        Text("Dataset drifted", style="bold red")
        if report.drifted
        else Text("No dataset drift", style="bold green")
    )
    return Text.assemble(
        head,
        f": {report.number_drifted} of {m} columns drifted "
        f"(share {report.share_drifted:.2f} {cmp} threshold {fmt_num(report.drift_share)})",
    )


def _caption(report: DriftReport) -> Text:
    from rich.text import Text

    text = Text.assemble(
        "reference ",
        (report.reference, "bold"),
        f" ({report.reference_rows:,} rows) vs current ",
        (report.current, "bold"),
        f" ({report.current_rows:,} rows)",
    )
    if report.skipped:
        text.append(f"; not tested: {', '.join(col for col, _ in report.skipped)}")
    return text


def _result(c: ColumnDrift) -> Text:
    from rich.text import Text

    parts: list[tuple[str, str] | str] = []
    if c.drifted:
        parts.append(("drifted", "bold red"))
    if c.uncertain:
        if parts:
            parts.append(" ")
        parts.append(("uncertain", "yellow"))
    if not parts:
        parts.append(("ok", "green"))
    return Text.assemble(*parts)


def _statistic(c: ColumnDrift) -> str:
    s = fmt_stat(c.statistic)
    if c.error is not None:
        s += f" ±{fmt_num(c.error)}"
    return s


def render_table(report: DriftReport) -> Group:
    """The verdict line, the table (a short message when there are no columns), the caption."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    if not report.columns:
        return Group(
            _verdict(report),
            Text("No columns were compared, so there is nothing to show."),
            _caption(report),
        )
    table = Table(header_style="bold", pad_edge=False, box=None)
    # Only the column name gives way on narrow terminals: Rich narrows wrappable columns first,
    # and the cells themselves do not wrap, they are cut with an ellipsis.
    table.add_column("column", overflow="ellipsis", max_width=40)
    table.add_column("kind", no_wrap=True)
    table.add_column("test", no_wrap=True)
    table.add_column("statistic", justify="right", no_wrap=True)
    table.add_column("threshold", justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    for c in report.sorted_columns():
        table.add_row(
            Text(c.column, no_wrap=True, overflow="ellipsis"),
            _KIND.get(c.kind, c.kind),
            Text(c.test),
            _statistic(c),
            fmt_num(c.threshold),
            _result(c),
        )
    caption = _caption(report)
    caption.stylize("dim")
    return Group(_verdict(report), table, caption)
