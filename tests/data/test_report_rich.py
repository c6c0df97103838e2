"""The terminal drift report: one Rich table row per column, drifted first, verdict on top."""

from __future__ import annotations

import io
import math
from dataclasses import replace
from typing import Any

from rich.console import Console

from loopml.data._drift_report import ColumnDrift, DriftReport
from loopml.data._report_rich import render_table


def column(name: str, statistic: float, drifted: bool, **changes: Any) -> ColumnDrift:
    col = ColumnDrift(
        column=name,
        kind="numerical",
        test="wasserstein",
        statistic=statistic,
        p_value=None,
        threshold=0.1,
        drifted=drifted,
    )
    return replace(col, **changes)


def text_of(renderable: object) -> str:
    console = Console(record=True, width=120, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def report() -> DriftReport:
    return DriftReport(
        columns=[
            column("age", 0.02, False),
            column("amount", 0.45, True),
            column(
                "country",
                3.2e-21,
                True,
                kind="categorical",
                test="chisquare",
                p_value=3.2e-21,
                threshold=0.05,
            ),
            column("score", 0.094, False, exact=False, error=0.01, uncertain=True),
        ],
        reference="transactions v1",
        current="transactions v2",
        reference_rows=1000,
        current_rows=1200,
    )


def test_the_title_states_the_dataset_verdict_and_the_share() -> None:
    out = text_of(render_table(report()))
    assert "Dataset drifted: 2 of 4 columns drifted (share 0.50 ≥ threshold 0.5)" in out
    calm = DriftReport(columns=[column("age", 0.02, False)])
    assert "No dataset drift: 0 of 1 columns drifted (share 0.00 < threshold 0.5)" in text_of(
        render_table(calm)
    )


def test_the_caption_names_what_was_compared_and_the_skipped_columns() -> None:
    skipped = DriftReport(columns=report().columns, skipped=[("user_id", "identifier")])
    out = text_of(render_table(skipped))
    assert "reference reference (0 rows) vs current current (0 rows)" in out
    assert "not tested: user_id" in out
    out = text_of(render_table(report()))
    assert "transactions v1 (1,000 rows) vs current transactions v2 (1,200 rows)" in out


def test_drifted_columns_come_first_then_uncertain_then_the_rest() -> None:
    names = {"age", "amount", "country", "score"}
    lines = text_of(render_table(report())).splitlines()
    rows = [line.split()[0] for line in lines if line.split() and line.split()[0] in names]
    assert set(rows[:2]) == {"amount", "country"}
    assert rows[2:] == ["score", "age"]
    assert rows == [c.column for c in report().sorted_columns()]


def test_each_row_shows_kind_test_statistic_threshold_and_verdict() -> None:
    lines = text_of(render_table(report())).splitlines()
    by_name = {line.split()[0]: line.split() for line in lines if line.split()}
    assert by_name["country"] == ["country", "cat", "chisquare", "3.2e-21", "0.05", "drifted"]
    assert by_name["amount"] == ["amount", "num", "wasserstein", "0.4500", "0.1", "drifted"]
    assert by_name["score"] == [
        "score",
        "num",
        "wasserstein",
        "0.0940",
        "±0.01",
        "0.1",
        "uncertain",
    ]
    assert by_name["age"] == ["age", "num", "wasserstein", "0.0200", "0.1", "ok"]


def test_verdicts_are_coloured_red_yellow_and_green() -> None:
    console = Console(
        record=True, width=120, force_terminal=True, color_system="standard", file=io.StringIO()
    )
    console.print(render_table(report()))
    styled = console.export_text(styles=True)
    assert "\x1b[1;31mdrifted" in styled
    assert "\x1b[33muncertain" in styled
    assert "\x1b[32mok" in styled


def test_a_column_that_drifted_inside_the_error_band_is_both_drifted_and_uncertain() -> None:
    col = column("edge", 0.105, True, exact=False, error=0.01, uncertain=True)
    out = text_of(render_table(DriftReport(columns=[col])))
    assert "drifted uncertain" in out


def test_nan_and_infinite_statistics_are_written_as_words() -> None:
    rep = DriftReport(columns=[column("n", math.nan, False), column("i", math.inf, True)])
    out = text_of(render_table(rep))
    assert "NaN" in out
    assert "∞" in out


def test_rich_markup_in_column_names_is_printed_literally() -> None:
    rep = DriftReport(columns=[column("[bold red]x[/bold red]", 0.3, True)])
    assert "[bold red]x[/bold red]" in text_of(render_table(rep))


def test_very_long_column_names_are_cut_and_the_table_fits_the_terminal() -> None:
    rep = DriftReport(columns=[column("very_long_column_name_" * 10, 0.3, True)])
    out = text_of(render_table(rep))
    assert "very_long_column_name_very_long" in out
    assert "…" in out
    assert max(len(line) for line in out.splitlines()) <= 120


def test_a_report_without_columns_prints_a_message() -> None:
    out = text_of(render_table(DriftReport(columns=[])))
    assert "no columns compared" in out
    assert "No columns were compared" in out


def test_printing_the_report_itself_renders_the_table() -> None:
    assert text_of(report()) == text_of(render_table(report()))
