"""The result of a drift comparison: one :class:`ColumnDrift` per column and a dataset verdict.

A :class:`DriftReport` is plain data. It renders as a self-contained HTML page
(:meth:`DriftReport.to_html`, :mod:`loopml.data._report_html`), as a Rich table in a terminal
(:mod:`loopml.data._report_rich`) and as JSON-able dicts (:meth:`DriftReport.to_dict`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Short test names and what people read.
TEST_NAMES: dict[str, str] = {
    "ks": "Kolmogorov-Smirnov p-value",
    "wasserstein": "Wasserstein distance (normed)",
    "psi": "Population stability index",
    "jensenshannon": "Jensen-Shannon distance",
    "chisquare": "Chi-square p-value",
    "z": "Two-proportion Z p-value",
    "linf": "L-infinity distance",
}
# Tests whose statistic is a p-value: drift when it is below the threshold.
P_VALUE_TESTS = frozenset({"ks", "chisquare", "z"})


@dataclass(frozen=True)
class Histogram:
    """What a chart shows for one column: shares of rows per bin or per category, both sides.

    Numeric columns have ``edges`` (``len(edges) == len(reference) + 1``) and ``labels`` empty;
    categorical columns have ``labels`` (one per bar) and ``edges`` None. Shares are fractions
    of each side's non-missing rows, so both sides are comparable whatever their sizes.
    """

    kind: str  # "numerical" | "categorical"
    reference: list[float]
    current: list[float]
    edges: list[float] | None = None
    labels: list[str] = field(default_factory=list)
    other: tuple[float, float] | None = None  # categorical: shares not shown as bars (ref, cur)


@dataclass(frozen=True)
class ColumnDrift:
    """The drift test of one column."""

    column: str
    kind: str  # "numerical" | "categorical"
    test: str  # a key of TEST_NAMES
    statistic: float  # the p-value for ks/chisquare/z, the distance otherwise
    p_value: float | None  # None for distances
    threshold: float
    drifted: bool
    reference_rows: int = 0  # values tested (missing and infinite values are dropped)
    current_rows: int = 0
    reference_missing: int = 0
    current_missing: int = 0
    exact: bool = True  # False when computed from sketches (profiles)
    error: float | None = None  # sketch error band on the statistic; None when exact
    uncertain: bool = False  # the threshold lies inside the error band
    histogram: Histogram | None = None
    note: str | None = None  # e.g. "categories seen only in current data: 'x', 'y'"

    @property
    def test_name(self) -> str:
        return TEST_NAMES.get(self.test, self.test)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["test_name"] = self.test_name
        return out


@dataclass(frozen=True)
class DriftReport:
    """Per-column drift tests and the dataset-level verdict.

    The dataset drifted when the share of drifted columns reaches ``drift_share`` (0.5 by
    default, as Evidently's DataDriftPreset decides).
    """

    columns: list[ColumnDrift]
    drift_share: float = 0.5
    method: str = "auto"
    reference: str = "reference"  # what was compared, for people: "transactions v1", a path
    current: str = "current"
    reference_rows: int = 0
    current_rows: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (column, why)
    created_at: str = ""  # ISO 8601, UTC

    @property
    def number_drifted(self) -> int:
        return sum(1 for c in self.columns if c.drifted)

    @property
    def share_drifted(self) -> float:
        return self.number_drifted / len(self.columns) if self.columns else 0.0

    @property
    def drifted(self) -> bool:
        return bool(self.columns) and self.share_drifted >= self.drift_share

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        from loopml._errors import NotFoundError

        raise NotFoundError(
            f"the report has no column {name!r}; columns: "
            f"{', '.join(c.column for c in self.columns)}"
        )

    def sorted_columns(self) -> list[ColumnDrift]:
        """Drifted columns first, then uncertain ones, each by how far past the threshold."""

        def severity(c: ColumnDrift) -> float:
            # How far past the threshold, on one log scale for p-values and distances.
            import math

            if math.isnan(c.statistic):
                return -math.inf
            tiny = 1e-300
            if c.test in P_VALUE_TESTS:
                return math.log(max(c.threshold, tiny) / max(c.statistic, tiny))
            return math.log(max(c.statistic, tiny) / max(c.threshold, tiny))

        return sorted(self.columns, key=lambda c: (not c.drifted, not c.uncertain, -severity(c)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "share_drifted": self.share_drifted,
            "number_drifted": self.number_drifted,
            "drift_share": self.drift_share,
            "method": self.method,
            "reference": self.reference,
            "current": self.current,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "created_at": self.created_at,
            "columns": [c.to_dict() for c in self.columns],
            "skipped": [{"column": c, "reason": r} for c, r in self.skipped],
        }

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """The report as one self-contained HTML page (no scripts or files from the network).

        Writes it to ``path`` when given; returns the HTML either way.
        """
        from loopml.data._report_html import render_html

        html = render_html(self)
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    def __rich__(self) -> Any:
        from loopml.data._report_rich import render_table

        return render_table(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        verdict = "drifted" if self.drifted else "no drift"
        return (
            f"DriftReport({verdict}: {self.number_drifted} of {len(self.columns)} columns "
            f"drifted, share {self.share_drifted:.2f} vs {self.drift_share})"
        )
