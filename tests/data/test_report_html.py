"""The HTML drift report: one self-contained, escaped, compact page, drifted columns first."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from loopml.data._drift_report import ColumnDrift, DriftReport, Histogram
from loopml.data._report_html import MAX_BARS, fmt_num, fmt_stat, render_html

XSS = "<script>alert(1)</script>"


def numerical_histogram(bins: int = 30, shift: float = 0.0) -> Histogram:
    centres = [(i + 0.5) / bins for i in range(bins)]
    ref = [math.exp(-(((c - 0.5) / 0.15) ** 2)) for c in centres]
    cur = [math.exp(-(((c - 0.5 - shift) / 0.15) ** 2)) for c in centres]
    sr, sc = sum(ref), sum(cur)
    return Histogram(
        kind="numerical",
        reference=[r / sr for r in ref],
        current=[c / sc for c in cur],
        edges=[-12.5 + i * 25.0 / bins for i in range(bins + 1)],
    )


def numerical(name: str, statistic: float, drifted: bool, **changes: Any) -> ColumnDrift:
    col = ColumnDrift(
        column=name,
        kind="numerical",
        test="wasserstein",
        statistic=statistic,
        p_value=None,
        threshold=0.1,
        drifted=drifted,
        reference_rows=1000,
        current_rows=1200,
        histogram=numerical_histogram(shift=statistic if math.isfinite(statistic) else 0.0),
    )
    return replace(col, **changes)


def categorical(name: str, labels: list[str], drifted: bool = False, **changes: Any) -> ColumnDrift:
    n = len(labels)
    col = ColumnDrift(
        column=name,
        kind="categorical",
        test="chisquare",
        statistic=3.2e-21 if drifted else 0.61,
        p_value=3.2e-21 if drifted else 0.61,
        threshold=0.05,
        drifted=drifted,
        reference_rows=1000,
        current_rows=1200,
        histogram=Histogram(
            kind="categorical", reference=[1 / n] * n, current=[1 / n] * n, labels=labels
        ),
    )
    return replace(col, **changes)


def small_report() -> DriftReport:
    return DriftReport(
        columns=[
            numerical("age", 0.02, False),
            numerical("amount", 0.45, True, note="mean moved from 50 to 54.5"),
            categorical("country", ["DE", "FR", "US"], drifted=True),
        ],
        reference="transactions v1",
        current="transactions v2",
        reference_rows=1000,
        current_rows=1200,
        created_at="2024-07-01T12:00:00Z",
    )


class _Balance(HTMLParser):
    """Checks that every opened element is closed in order (void elements aside)."""

    VOID = frozenset({"meta", "input", "br", "hr", "img", "link", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def parse(page: str) -> _Balance:
    parser = _Balance()
    parser.feed(page)
    parser.close()
    return parser


def test_the_page_is_self_contained_and_loads_nothing_from_the_network() -> None:
    page = render_html(small_report())
    parsed = parse(page)
    for tag, attrs in parsed.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not value.startswith(("http://", "https://", "//")), (tag, value)
    assert "<script" not in page
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page
    assert page.startswith("<!DOCTYPE html>")


def test_the_page_is_well_formed_even_with_hostile_strings() -> None:
    report = DriftReport(
        columns=[
            categorical(XSS, ["</svg></div>", "a & b", '"quoted"'], note="</section>"),
            numerical("</table>", 0.3, True),
        ],
        reference="<b>ref</b>",
        current="</header>",
    )
    parsed = parse(render_html(report))
    assert parsed.errors == []
    assert parsed.stack == []


def test_column_names_labels_notes_and_dataset_labels_are_escaped() -> None:
    report = DriftReport(
        columns=[
            categorical(
                XSS,
                ["<img src=x onerror=alert(2)>", "plain"],
                drifted=True,
                note="categories seen only in current data: '<i>x</i>'",
            )
        ],
        reference='"><script>alert(3)</script>',
        current="cur & co",
        created_at="<u>now</u>",
    )
    page = render_html(report)
    assert XSS not in page
    assert "<img" not in page
    assert "<i>x</i>" not in page
    assert "<u>now</u>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "cur &amp; co" in page


def test_drifted_columns_appear_before_the_columns_that_did_not_drift() -> None:
    report = DriftReport(
        columns=[
            numerical("stable_a", 0.01, False),
            numerical("moved_a", 0.3, True),
            numerical("stable_b", 0.02, False),
            numerical("unsure", 0.095, False, exact=False, error=0.01, uncertain=True),
            numerical("moved_b", 0.6, True),
        ]
    )
    page = render_html(report)
    table = page[page.index("<table") : page.index("</table>")]
    cards = page[page.index("<div class=cards>") :]
    for part in (table, cards):
        order = sorted(
            ("stable_a", "moved_a", "stable_b", "unsure", "moved_b"),
            key=lambda name: part.index(f">{name}<"),
        )
        assert order == ["moved_b", "moved_a", "unsure", "stable_b", "stable_a"]


def test_the_header_states_the_dataset_verdict_and_the_share_against_the_threshold() -> None:
    page = render_html(small_report())
    assert "Dataset drift detected" in page
    assert "2 of 3 columns drifted (share 0.67 ≥ threshold 0.5)" in page
    assert "transactions v1" in page and "1,000 rows" in page
    assert "transactions v2" in page and "1,200 rows" in page
    assert "2024-07-01T12:00:00Z" in page

    calm = DriftReport(
        columns=[numerical("age", 0.02, False), numerical("x", 0.3, True)], drift_share=0.75
    )
    page = render_html(calm)
    assert "No dataset drift" in page
    assert "1 of 2 columns drifted (share 0.50 &lt; threshold 0.75)" in page


def test_a_report_without_columns_renders_a_message_instead_of_tables() -> None:
    report = DriftReport(columns=[], skipped=[("user_id", "identifier, not tested")])
    page = render_html(report)
    assert "No columns were compared" in page
    assert "<table" not in page
    assert "<svg" not in page
    assert "user_id" in page and "identifier, not tested" in page
    assert parse(page).errors == []


def test_a_100_column_report_with_30_bin_histograms_stays_well_under_a_megabyte() -> None:
    columns = [
        numerical(f"feature_{i:03d}_with_a_realistic_name", 0.05 + (i % 7) * 0.03, i % 3 == 0)
        for i in range(100)
    ]
    page = render_html(DriftReport(columns=columns, reference_rows=10**6, current_rows=10**6))
    size = len(page.encode("utf-8"))
    assert size < 600_000, f"{size:,} bytes"
    assert page.count("<svg") == 100


def test_chart_coordinates_are_rounded_to_one_decimal() -> None:
    page = render_html(small_report())
    paths = re.findall(r'd="([^"]*)"', page)
    assert paths
    numbers = [x for d in paths for x in re.findall(r"-?\d+(?:\.\d+)?", d)]
    assert all(len(x.partition(".")[2]) <= 1 for x in numbers)


def test_numerical_charts_label_the_lowest_and_highest_bin_edges() -> None:
    report = DriftReport(columns=[numerical("amount", 0.45, True)])
    page = render_html(report)
    assert ">-12.5</text>" in page
    assert ">12.5</text>" in page
    assert "<title>-12.5 \u2013 -11.67: ref" in page  # per-bin tooltip


def test_categorical_charts_show_at_most_twenty_bars_and_fold_the_rest_into_other() -> None:
    labels = [f"cat{i:02d}" for i in range(50)]
    n = len(labels)
    hist = Histogram(
        kind="categorical",
        reference=[(i + 1) / (n * (n + 1) / 2) for i in range(n)],
        current=[1 / n] * n,
        labels=labels,
        other=(0.01, 0.02),
    )
    col = categorical("many", labels, histogram=hist)
    page = render_html(DriftReport(columns=[col]))
    shown = re.findall(r">(cat\d\d)</text>", page)
    assert len(shown) == MAX_BARS
    assert shown[-1] == "cat49"  # the largest are kept, in their order
    assert "cat00" not in shown
    assert "other categories" in page


def test_the_other_share_of_a_categorical_histogram_gets_its_own_bar() -> None:
    hist = Histogram(
        kind="categorical",
        reference=[0.5, 0.4],
        current=[0.45, 0.4],
        labels=["a", "b"],
        other=(0.1, 0.15),
    )
    page = render_html(DriftReport(columns=[categorical("c", ["a", "b"], histogram=hist)]))
    assert "other categories" in page
    assert "10.0% → 15.0%" in page


def test_long_names_are_cut_in_chart_labels_and_kept_whole_in_tooltips() -> None:
    long_column = "average_order_value_" * 10
    long_label = "a-very-long-category-label-that-does-not-fit"
    report = DriftReport(columns=[categorical(long_column, [long_label, "short"])])
    page = render_html(report)
    assert f'title="{long_column}"' in page
    assert f"<title>{long_label}: ref" in page
    cut = re.findall(r">(a-very-long[^<]*)</text>", page)
    assert cut == [long_label[:21] + "…"]


def test_columns_without_a_histogram_get_a_card_without_a_chart() -> None:
    report = DriftReport(columns=[numerical("empty", 0.0, False, histogram=None)])
    page = render_html(report)
    assert "No histogram for this column." in page
    assert "<svg" not in page


def test_histograms_with_nan_negative_or_no_shares_do_not_break_the_page() -> None:
    bad = Histogram(
        kind="numerical",
        reference=[math.nan, 0.5, -0.1],
        current=[math.inf, 0.2, 0.3],
        edges=[0.0, 1.0, 2.0],  # one edge short: drawn without edge labels
    )
    empty = Histogram(kind="numerical", reference=[], current=[], edges=[0.0])
    zero = Histogram(kind="categorical", reference=[0.0], current=[0.0], labels=["x"])
    report = DriftReport(
        columns=[
            numerical("bad", 0.3, True, histogram=bad),
            numerical("empty", 0.0, False, histogram=empty),
            categorical("zero", ["x"], histogram=zero),
        ]
    )
    page = render_html(report)
    assert "NaN" not in page and "inf" not in page
    assert "No values to chart." in page
    assert parse(page).errors == []


def test_nan_and_infinite_statistics_are_written_as_words() -> None:
    report = DriftReport(
        columns=[
            numerical("nan_stat", math.nan, False),
            numerical("inf_stat", math.inf, True),
        ]
    )
    page = render_html(report)
    assert ">NaN<" in page
    assert ">∞<" in page


def test_sketch_results_show_their_error_band_and_where_they_come_from() -> None:
    col = numerical("credit_score", 0.094, False, exact=False, error=0.01, uncertain=True)
    page = render_html(DriftReport(columns=[col]))
    assert "0.0940 ± 0.01" in page
    assert "±0.01, computed from profiles" in page
    assert "uncertain" in page


def test_numbers_are_formatted_for_people() -> None:
    assert fmt_stat(3.2e-21) == "3.2e-21"
    assert fmt_stat(0.123456) == "0.1235"
    assert fmt_stat(0.0) == "0"
    assert fmt_stat(math.nan) == "NaN"
    assert fmt_stat(-math.inf) == "\u2212∞"
    assert fmt_stat(None) == "n/a"
    assert fmt_stat(12345.678) == "1.235e+04"
    assert fmt_num(0.05) == "0.05"
    assert fmt_num(0.1) == "0.1"


def test_to_html_writes_the_same_page_it_returns(tmp_path: Path) -> None:
    report = small_report()
    target = tmp_path / "report.html"
    page = report.to_html(target)
    assert target.read_text(encoding="utf-8") == page == render_html(report)
