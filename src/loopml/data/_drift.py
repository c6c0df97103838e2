"""``loopml.drift``: compare a current batch of data with a reference, column by column.

Each side is data (anything :func:`loopml.data._inputs.open_data` reads), a
:class:`~loopml.datasets.DatasetVersion` or a :class:`~loopml.data._profile.Profile`. When
both sides are data the statistics are computed **exactly** on the raw values and equal
scipy's (and Evidently 0.7's) on the same data. When either side is a profile, both sides
are compared through their profiles (:mod:`loopml.data._sketch_stats`): exact where the
profiles count every value, within a documented error band otherwise.

The ``method="auto"`` rule is Evidently's DataDriftPreset rule
(``evidently/legacy/calculations/stattests/registry.py::_get_default_stattest``), applied to
each column after dropping missing and infinite values:

===================  ==========================================  =========================
reference values     numerical column                            categorical column
===================  ==========================================  =========================
at most 1,000        ``n_values <= 5``: chi-square (``> 2``) or   chi-square (``> 2``
                     Z (``<= 2``); otherwise Kolmogorov-Smirnov   values) or Z
more than 1,000      ``n_values <= 5``: Jensen-Shannon;           Jensen-Shannon
                     otherwise Wasserstein (normed)
===================  ==========================================  =========================

``n_values`` is the number of distinct values on both sides together. Thresholds: 0.05 for the
p-value tests (drift when ``p <= 0.05`` for KS, ``p < 0.05`` for chi-square and Z), 0.1 for
the distances (drift when ``distance >= 0.1``). Column kinds, when not given: floats are
numerical; integers are categorical with at most 10 distinct values, numerical otherwise;
booleans and strings are categorical, except strings with more distinct values than half their
rows, which are free text and are not tested; dates and times are not tested. Columns with the
role id, timestamp or ignored are not tested. The dataset drifted when the share of drifted
columns reaches ``drift_share`` (0.5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError
from loopml.data._drift_report import P_VALUE_TESTS, TEST_NAMES, ColumnDrift, DriftReport, Histogram

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from loopml.data._profile import ColumnProfile, Profile

DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
    "linf": 0.1,
}
KINDS = ("numerical", "categorical")
NOT_TESTED_ROLES = ("id", "timestamp", "ignored")
SMALL_REFERENCE = 1000  # Evidently: at most this many reference values -> p-value tests
FEW_VALUES = 5
INT_CATEGORY_LIMIT = 10
MAX_BARS = 20
DISPLAY_BINS = 30


@dataclass(frozen=True)
class _Choice:
    test: str
    threshold: float


def _is_drifted(test: str, statistic: float, threshold: float) -> bool:
    if math.isnan(statistic):
        return False
    if test == "ks":
        return statistic <= threshold
    if test in P_VALUE_TESTS:
        return statistic < threshold
    return statistic >= threshold


def auto_test(kind: str, reference_values: int, n_values: int) -> str:
    """The test ``method="auto"`` picks (Evidently's rule; see the module docstring)."""
    few = n_values <= FEW_VALUES
    if reference_values <= SMALL_REFERENCE:
        if kind == "categorical" or few:
            return "chisquare" if n_values > 2 else "z"
        return "ks"
    if kind == "categorical" or few:
        return "jensenshannon"
    return "wasserstein"


def _parse_tests(
    method: str, threshold: float | None, tests: Mapping[str, Any] | None
) -> tuple[str, float | None, dict[str, _Choice | str]]:
    def check(name: str, where: str) -> str:
        if name not in TEST_NAMES:
            raise InvalidInputError(
                f"{where}: unknown test {name!r}; use 'auto' or one of {', '.join(TEST_NAMES)}"
            )
        return name

    if method != "auto":
        check(method, "method")
    if threshold is not None and method == "auto":
        raise InvalidInputError(
            "threshold= applies to one test; pick it with method='psi' (say), or give "
            "per-column tests={'column': ('psi', 0.2)}"
        )
    out: dict[str, _Choice | str] = {}
    for column, spec in (tests or {}).items():
        if isinstance(spec, str):
            test = check(spec, f"tests[{column!r}]")
            out[column] = _Choice(test, DEFAULT_THRESHOLDS[test])
        elif isinstance(spec, tuple | list) and len(spec) == 2:
            test = check(str(spec[0]), f"tests[{column!r}]")
            out[column] = _Choice(test, _threshold(spec[1], f"tests[{column!r}]"))
        else:
            raise InvalidInputError(
                f"tests[{column!r}] must be a test name or (test, threshold), not {spec!r}"
            )
    return method, None if threshold is None else _threshold(threshold, "threshold"), out


def _threshold(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{where}: the threshold must be a number, not {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise InvalidInputError(f"{where}: the threshold must be a finite number >= 0")
    return number


# -- the two sides ----------------------------------------------------------------------------
@dataclass
class _Side:
    label: str
    rows: int
    roles: dict[str, str]
    table: pa.Table | None = None
    profile: Profile | None = None

    @property
    def names(self) -> list[str]:
        if self.table is not None:
            return list(self.table.column_names)
        assert self.profile is not None
        return self.profile.column_names


def _open_side(data: Any, default_label: str, want_profile: bool) -> _Side:
    from loopml.data._inputs import open_data
    from loopml.data._profile import Profile, profile

    if isinstance(data, Profile):
        return _Side(data.source or default_label, data.rows, {}, profile=data)
    if hasattr(data, "to_arrow") and hasattr(data, "roles") and hasattr(data, "version"):
        label = f"{data.name} v{data.version}"
        roles = dict(data.roles)
        if want_profile:
            prof = profile(data)
            return _Side(label, prof.rows, roles, profile=prof)
        table = data.to_arrow()
        return _Side(label, table.num_rows, roles, table=table)
    if want_profile:
        prof = profile(data)
        label = prof.source if isinstance(data, str) else default_label
        return _Side(label, prof.rows, {}, profile=prof)
    source = open_data(data)
    table = source.read_all()
    label = data if isinstance(data, str) else default_label
    return _Side(str(label), table.num_rows, {}, table=table)


def _is_profile(data: Any) -> bool:
    from loopml.data._profile import Profile

    return isinstance(data, Profile)


def drift(
    reference: Any,
    current: Any,
    *,
    columns: Iterable[str] | None = None,
    method: str = "auto",
    threshold: float | None = None,
    tests: Mapping[str, str | tuple[str, float]] | None = None,
    kinds: Mapping[str, str] | None = None,
    roles: Mapping[str, str] | None = None,
    drift_share: float = 0.5,
) -> DriftReport:
    """Test every column of ``current`` for drift from ``reference``; returns a DriftReport.

    ``reference`` and ``current`` are data (pandas, polars, pyarrow, a CSV or Parquet path,
    folder or glob), dataset versions, or profiles. ``columns`` limits the columns tested.
    ``method`` is ``"auto"`` (Evidently's rule, see the module docstring) or one test for all
    columns: ``ks``, ``wasserstein``, ``psi``, ``jensenshannon``, ``chisquare``, ``z``,
    ``linf``, with ``threshold`` overriding its default. ``tests`` sets the test of single
    columns, e.g. ``{"amount": "psi", "country": ("chisquare", 0.01)}``; ``kinds`` forces a
    column to be ``"numerical"`` or ``"categorical"``. ``roles`` gives columns roles as
    :func:`loopml.datasets.register` does (a dataset version brings its own): columns with the
    role id, timestamp or ignored are not tested.
    """
    method, global_threshold, per_column = _parse_tests(method, threshold, tests)
    if (
        isinstance(drift_share, bool)
        or not isinstance(drift_share, int | float)
        or not 0 < drift_share <= 1
    ):
        raise InvalidInputError(
            f"drift_share must be a number in (0, 1] (the share of drifted columns at which the "
            f"dataset drifted), not {drift_share!r}"
        )
    from loopml.data.datasets import ROLES

    for column, role in (roles or {}).items():
        if role not in ROLES:
            raise InvalidInputError(
                f"role {role!r} of column {column!r} is not a role; use one of {', '.join(ROLES)}"
            )
    for column, kind in (kinds or {}).items():
        if kind not in KINDS:
            raise InvalidInputError(
                f"kinds[{column!r}] = {kind!r}; a column kind is 'numerical' or 'categorical'"
            )
    sketched = _is_profile(reference) or _is_profile(current)
    ref = _open_side(reference, "reference", sketched)
    cur = _open_side(current, "current", sketched)
    if ref.rows == 0 or cur.rows == 0:
        side = "reference" if ref.rows == 0 else "current"
        raise InvalidInputError(f"the {side} data is empty (0 rows): there is nothing to compare")
    known = set(ref.names) | set(cur.names)
    for argument, mapping in (("tests", per_column), ("kinds", kinds), ("roles", roles)):
        unknown = sorted(set(mapping or {}) - known)
        if unknown:
            raise InvalidInputError(
                f"{argument}= names column(s) {', '.join(map(repr, unknown))} that neither side "
                f"has; columns: {', '.join(sorted(known))}"
            )
    roles = {**cur.roles, **ref.roles, **dict(roles or {})}
    skipped: list[tuple[str, str]] = []
    if columns is not None:
        wanted = list(dict.fromkeys([columns] if isinstance(columns, str) else columns))
        for name in wanted:
            if name not in ref.names or name not in cur.names:
                side = "reference" if name not in ref.names else "current"
                raise InvalidInputError(
                    f"column {name!r} is not in the {side} data; columns there: "
                    f"{', '.join(ref.names if side == 'reference' else cur.names)}"
                )
    else:
        wanted = []
        for name in ref.names:
            if name not in cur.names:
                skipped.append((name, "only in the reference data"))
            elif roles.get(name) in NOT_TESTED_ROLES:
                skipped.append((name, f"role {roles[name]!r} is not tested"))
            else:
                wanted.append(name)
        skipped.extend((n, "only in the current data") for n in cur.names if n not in ref.names)

    def one(name: str) -> ColumnDrift | tuple[str, str]:
        choice = per_column.get(name, method)
        forced_kind = (kinds or {}).get(name)
        if sketched:
            assert ref.profile is not None and cur.profile is not None
            return _column_from_profiles(
                name, ref.profile[name], cur.profile[name], choice, global_threshold, forced_kind
            )
        assert ref.table is not None and cur.table is not None
        return _column_exact(
            name,
            ref.table.column(name),
            cur.table.column(name),
            choice,
            global_threshold,
            forced_kind,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, wanted))
    tested = [r for r in results if isinstance(r, ColumnDrift)]
    skipped.extend(r for r in results if isinstance(r, tuple))
    return DriftReport(
        columns=tested,
        drift_share=drift_share,
        method=method,
        reference=ref.label,
        current=cur.label,
        reference_rows=ref.rows,
        current_rows=cur.rows,
        skipped=skipped,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _resolve(
    choice: _Choice | str,
    global_threshold: float | None,
    kind: str,
    n_ref: int,
    n_values: int,
    name: str = "",
) -> _Choice:
    """The test and threshold of one column: per-column choice, the method, or the auto rule."""
    if isinstance(choice, _Choice):
        picked = choice
    elif choice == "auto":
        test = auto_test(kind, n_ref, n_values)
        picked = _Choice(test, DEFAULT_THRESHOLDS[test])
    else:  # the method for every column; threshold= belongs to it
        threshold = DEFAULT_THRESHOLDS[choice] if global_threshold is None else global_threshold
        picked = _Choice(choice, threshold)
    if kind == "categorical" and picked.test in ("ks", "wasserstein"):
        raise InvalidInputError(
            f"column {name!r}: the {TEST_NAMES[picked.test]} test needs numbers; use "
            "chisquare, z, jensenshannon, psi or linf for a categorical column (or set "
            f"kinds={{{name!r}: 'numerical'}})"
        )
    if kind == "numerical" and picked.test in ("chisquare", "z") and n_values > FEW_VALUES:
        raise InvalidInputError(
            f"column {name!r}: the {TEST_NAMES[picked.test]} test compares categories, and this "
            f"numerical column has more than {FEW_VALUES} distinct values (every value would be "
            "its own category); use ks, wasserstein, psi or jensenshannon for it, or set "
            f"kinds={{{name!r}: 'categorical'}} if its numbers are codes"
        )
    return picked


# -- exact: raw values ----------------------------------------------------------------------------
def _family(arrow_type: pa.DataType) -> str:
    from loopml.data._profile import _family as family

    return family(arrow_type)


def _kind_of(
    family: str, type_name: str, distinct: float, present: int, forced: str | None
) -> str | None:
    """'numerical', 'categorical' or None (not tested), like Evidently's inference."""
    if forced is not None:
        return forced
    if family == "number":
        if type_name.startswith(("int", "uint")) and distinct <= INT_CATEGORY_LIMIT:
            return "categorical"
        return "numerical"
    if family == "boolean":
        return "categorical"
    if family == "text":
        return None if distinct > 0.5 * present else "categorical"
    return None


def _not_tested(name: str, family: str, distinct: float, present: int) -> tuple[str, str]:
    if family == "text":
        return (name, f"free text ({int(distinct)} distinct of {present} values) is not tested")
    if family == "temporal":
        return (name, "dates and times are not tested")
    return (name, f"columns of this type ({family}) are not tested")


def _distinct_up_to(values: np.ndarray[Any, Any], limit: int) -> int:
    """The number of distinct values, or ``limit + 1`` when there are more (cheap early exit)."""
    import numpy as np

    probe = values[: 64 * (limit + 1)]
    if np.unique(probe).size > limit:
        return limit + 1
    return int(np.unique(values).size)


def _numbers(column: pa.ChunkedArray) -> tuple[np.ndarray[Any, Any], int, int]:
    """(finite float64 values, missing count, infinite count)."""
    import numpy as np

    from loopml.data._profile import _as_float64

    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    values = _as_float64(array)
    finite_mask = np.isfinite(values)
    missing = int(np.isnan(values).sum())
    finite = values[finite_mask] if not finite_mask.all() else values.copy()
    return finite, missing, int(values.size - finite.size - missing)


def _value_counts(column: pa.ChunkedArray) -> dict[Any, int]:
    import pyarrow.compute as pc

    pairs = pc.value_counts(column.drop_null())
    return dict(
        zip(pairs.field("values").to_pylist(), pairs.field("counts").to_pylist(), strict=True)
    )


def _column_exact(
    name: str,
    ref_column: pa.ChunkedArray,
    cur_column: pa.ChunkedArray,
    choice: _Choice | str,
    global_threshold: float | None,
    forced_kind: str | None,
) -> ColumnDrift | tuple[str, str]:
    ref_family, cur_family = _family(ref_column.type), _family(cur_column.type)
    if "null" in (ref_family, cur_family):  # a column of nothing but missing values
        return _empty_side(name, int(ref_family != "null"), int(cur_family != "null")) or (
            name,
            "no values in either side (all missing)",
        )
    if forced_kind == "numerical" and ref_family == "text":
        raise InvalidInputError(
            f"kinds[{name!r}] = 'numerical', but the column holds text ({ref_column.type}); "
            "only numbers can be numerical"
        )
    numeric = {"number", "boolean"}
    if ref_family != cur_family and not {ref_family, cur_family} <= numeric:
        return (name, f"types differ: {ref_column.type} in reference, {cur_column.type} in current")
    if ref_family in ("number",) or (forced_kind == "numerical" and ref_family != "text"):
        ref, ref_missing, ref_inf = _numbers(ref_column)
        cur, cur_missing, cur_inf = _numbers(cur_column)
        distinct = _distinct_up_to(ref, INT_CATEGORY_LIMIT)
        kind = _kind_of("number", str(ref_column.type), distinct, ref.size, forced_kind)
        assert kind is not None
        empty = _empty_side(name, ref.size, cur.size)
        if empty:
            return empty
        if kind == "numerical":
            return _numerical_exact(
                name,
                ref,
                cur,
                choice,
                global_threshold,
                ref_missing,
                cur_missing,
                ref_inf + cur_inf,
            )
        ref_counts = _float_counts(ref, str(ref_column.type))
        cur_counts = _float_counts(cur, str(cur_column.type))
        return _categorical(
            name,
            ref_counts,
            cur_counts,
            choice,
            global_threshold,
            ref_missing,
            cur_missing,
            exact=True,
        )
    ref_counts = _value_counts(ref_column)
    cur_counts = _value_counts(cur_column)
    present = sum(ref_counts.values())
    kind = _kind_of(ref_family, str(ref_column.type), len(ref_counts), present, forced_kind)
    if kind is None:
        return _not_tested(name, ref_family, len(ref_counts), present)
    empty = _empty_side(name, present, sum(cur_counts.values()))
    if empty:
        return empty
    return _categorical(
        name,
        ref_counts,
        cur_counts,
        choice,
        global_threshold,
        ref_column.null_count,
        cur_column.null_count,
        exact=True,
    )


def _float_counts(values: np.ndarray[Any, Any], type_name: str) -> dict[Any, int]:
    import numpy as np

    keys, counts = np.unique(values, return_counts=True)
    integral = type_name.startswith(("int", "uint", "bool"))
    return {
        (int(k) if integral else float(k)): int(c)
        for k, c in zip(keys.tolist(), counts.tolist(), strict=True)
    }


def _empty_side(name: str, n_ref: int, n_cur: int) -> tuple[str, str] | None:
    if n_ref == 0:
        return (name, "no values in the reference data (all missing or infinite)")
    if n_cur == 0:
        return (name, "no values in the current data (all missing or infinite)")
    return None


def _numerical_exact(
    name: str,
    ref: np.ndarray[Any, Any],
    cur: np.ndarray[Any, Any],
    choice: _Choice | str,
    global_threshold: float | None,
    ref_missing: int,
    cur_missing: int,
    infinite: int,
) -> ColumnDrift:
    import numpy as np

    from loopml.data import _exact_stats as es

    n_values = _distinct_up_to(np.concatenate([ref[:4096], cur[:4096]]), FEW_VALUES)
    if n_values <= FEW_VALUES:
        n_values = _distinct_up_to(np.concatenate([ref, cur]), FEW_VALUES)
    picked = _resolve(choice, global_threshold, "numerical", ref.size, n_values, name)
    test = picked.test
    p_value: float | None = None
    if test == "ks":
        statistic = p_value = es.ks_test(ref, cur)[1]
    elif test == "wasserstein":
        statistic = es.wasserstein_normed(ref, cur)
    elif test in ("chisquare", "z"):
        _, rc, cc = es.align(_float_counts(ref, "double"), _float_counts(cur, "double"))
        stat_p = es.chisquare_test(rc, cc) if test == "chisquare" else es.z_test(rc, cc)
        statistic = p_value = stat_p[1]
    else:
        _edges, ref_shares, cur_shares, _keys = es.numeric_bins(ref, cur)
        statistic = _distance(test, ref_shares, cur_shares)
    notes = []
    if infinite:
        notes.append(f"{infinite} infinite values left out")
    return ColumnDrift(
        column=name,
        kind="numerical",
        test=test,
        statistic=float(statistic),
        p_value=None if p_value is None else float(p_value),
        threshold=picked.threshold,
        drifted=_is_drifted(test, float(statistic), picked.threshold),
        reference_rows=int(ref.size),
        current_rows=int(cur.size),
        reference_missing=ref_missing,
        current_missing=cur_missing,
        histogram=_numeric_histogram(ref, cur),
        note="; ".join(notes) or None,
    )


def _numeric_histogram(ref: np.ndarray[Any, Any], cur: np.ndarray[Any, Any]) -> Histogram:
    import numpy as np

    lo = float(min(ref.min(), cur.min()))
    hi = float(max(ref.max(), cur.max()))
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    bins = DISPLAY_BINS
    if math.isfinite(hi - lo):
        edges = np.linspace(lo, hi, bins + 1)
    else:  # a range wider than the largest float: halve, space, double
        edges = np.linspace(lo / 2, hi / 2, bins + 1) * 2

    def shares(values: np.ndarray[Any, Any]) -> list[float]:
        index = np.searchsorted(edges, values, side="right") - 1
        np.clip(index, 0, bins - 1, out=index)
        counts: list[float] = (np.bincount(index, minlength=bins) / values.size).tolist()
        return counts

    return Histogram("numerical", shares(ref), shares(cur), edges=edges.tolist())


def _categorical(
    name: str,
    ref_counts: Mapping[Any, int],
    cur_counts: Mapping[Any, int],
    choice: _Choice | str,
    global_threshold: float | None,
    ref_missing: int,
    cur_missing: int,
    *,
    exact: bool,
    error: float | None = None,
) -> ColumnDrift:
    from loopml.data import _exact_stats as es

    keys, rc, cc = es.align(ref_counts, cur_counts)
    n_ref, n_cur = float(rc.sum()), float(cc.sum())
    picked = _resolve(choice, global_threshold, "categorical", int(n_ref), len(keys), name)
    test = picked.test
    ref_shares, cur_shares = rc / n_ref, cc / n_cur
    p_value: float | None = None
    if test == "chisquare":
        statistic = p_value = es.chisquare_test(rc, cc)[1]
    elif test == "z":
        statistic = p_value = es.z_test(rc, cc)[1]
    elif test == "jensenshannon":
        statistic = es.jensenshannon(ref_shares, cur_shares)
    elif test == "psi":
        statistic = es.psi(ref_shares, cur_shares)
    else:
        statistic = es.linf(ref_shares, cur_shares)
    unseen = [k for k in cur_counts if k not in ref_counts]
    note = None
    if unseen:
        shown = ", ".join(repr(k) for k in unseen[:5]) + (", ..." if len(unseen) > 5 else "")
        note = f"{len(unseen)} categories seen only in current data: {shown}"
    statistic = float(statistic)
    uncertain = False
    if error is not None and test not in P_VALUE_TESTS:
        uncertain = abs(statistic - picked.threshold) <= error
    return ColumnDrift(
        column=name,
        kind="categorical",
        test=test,
        statistic=statistic,
        p_value=None if p_value is None else float(p_value),
        threshold=picked.threshold,
        drifted=_is_drifted(test, statistic, picked.threshold),
        reference_rows=int(n_ref),
        current_rows=int(n_cur),
        reference_missing=ref_missing,
        current_missing=cur_missing,
        exact=exact,
        error=error,
        uncertain=uncertain,
        histogram=_bars(keys, ref_shares.tolist(), cur_shares.tolist()),
        note=note,
    )


def _bars(keys: list[Any], ref: list[float], cur: list[float]) -> Histogram:
    order = sorted(range(len(keys)), key=lambda i: -(ref[i] + cur[i]))
    shown, rest = order[:MAX_BARS], order[MAX_BARS:]
    other = (sum(ref[i] for i in rest), sum(cur[i] for i in rest)) if rest else None
    return Histogram(
        "categorical",
        [ref[i] for i in shown],
        [cur[i] for i in shown],
        labels=[str(keys[i]) for i in shown],
        other=other,
    )


# -- from profiles ------------------------------------------------------------------------------
def _column_from_profiles(
    name: str,
    ref: ColumnProfile,
    cur: ColumnProfile,
    choice: _Choice | str,
    global_threshold: float | None,
    forced_kind: str | None,
) -> ColumnDrift | tuple[str, str]:
    if "null" in (ref.family, cur.family):
        return _empty_side(name, int(ref.family != "null"), int(cur.family != "null")) or (
            name,
            "no values in either side (all missing)",
        )
    if forced_kind == "numerical" and ref.family == "text":
        raise InvalidInputError(
            f"kinds[{name!r}] = 'numerical', but the column holds text ({ref.type}); only "
            "numbers can be numerical"
        )
    numeric = {"number", "boolean"}
    if ref.family != cur.family and not {ref.family, cur.family} <= numeric:
        return (name, f"types differ: {ref.type} in reference, {cur.type} in current")
    present = ref.present if ref.moments is None else ref.moments.count
    kind = _kind_of(ref.family, ref.type, ref.distinct, present, forced_kind)
    if kind is None:
        return _not_tested(name, ref.family, ref.distinct, present)
    ref_missing, cur_missing = ref.missing, cur.missing
    if kind == "categorical" or ref.moments is None:
        if ref.counts is not None and cur.counts is not None:
            ref_counts, cur_counts, exact, error = ref.counts, cur.counts, True, None
        else:
            ref_counts, cur_counts, error = _frequent_counts(ref), _frequent_counts(cur), 0.0
            error = _frequency_error(ref) + _frequency_error(cur)
            exact = False
        empty = _empty_side(name, sum(ref_counts.values()), sum(cur_counts.values()))
        if empty:
            return empty
        return _categorical(
            name,
            ref_counts,
            cur_counts,
            choice,
            global_threshold,
            ref_missing,
            cur_missing,
            exact=exact,
            error=error,
        )
    assert cur.moments is not None and ref.quantiles is not None and cur.quantiles is not None
    empty = _empty_side(name, ref.moments.count, cur.moments.count)
    if empty:
        return empty
    return _numerical_from_profiles(name, ref, cur, choice, global_threshold)


def _frequent_counts(column: ColumnProfile) -> dict[Any, int]:
    if column.counts is not None:
        return dict(column.counts)
    return dict(column.top(10_000))


def _frequency_error(column: ColumnProfile) -> float:
    """Largest error of one category's share estimated from a frequent-items sketch.

    A frequent-items sketch estimates each count within ``epsilon * total``, so each share is
    within ``epsilon``.
    """
    if column.counts is not None or column.frequent is None:
        return 0.0
    return float(column.frequent.epsilon)


def _numerical_from_profiles(
    name: str,
    ref: ColumnProfile,
    cur: ColumnProfile,
    choice: _Choice | str,
    global_threshold: float | None,
) -> ColumnDrift:
    import numpy as np

    from loopml.data import _exact_stats as es
    from loopml.data import _sketch_stats as ss

    assert ref.moments is not None and cur.moments is not None
    assert ref.quantiles is not None and cur.quantiles is not None
    n_ref, n_cur = ref.moments.count, cur.moments.count
    both_counted = ref.counts is not None and cur.counts is not None
    if both_counted:
        assert ref.counts is not None and cur.counts is not None
        n_values = len(set(ref.counts) | set(cur.counts))
    else:
        n_values = FEW_VALUES + 1  # more than the cap: many
    picked = _resolve(choice, global_threshold, "numerical", n_ref, n_values, name)
    test = picked.test
    p_value: float | None = None
    error: float | None = None
    exact = both_counted
    statistic: float
    if both_counted:
        assert ref.counts is not None and cur.counts is not None
        if test in ("ks", "wasserstein"):
            if test == "ks" and max(n_ref, n_cur) <= 10_000:
                statistic = p_value = es.ks_test(ss.expand(ref.counts), ss.expand(cur.counts))[1]
            else:
                d, w1, _, _ = ss.weighted_ks_w1(ref.counts, cur.counts)
                if test == "ks":
                    statistic = p_value = ss.ks_pvalue(d, n_ref, n_cur)
                else:
                    statistic = w1 / max(ss.weighted_std(ref.counts), 0.001)
        elif test in ("chisquare", "z"):
            _, rc, cc = es.align(ref.counts, cur.counts)
            stat_p = es.chisquare_test(rc, cc) if test == "chisquare" else es.z_test(rc, cc)
            statistic = p_value = stat_p[1]
        else:
            edges, rs, cs, _ = es.numeric_bins(ss.expand(ref.counts), ss.expand(cur.counts))
            statistic = _distance(test, rs, cs)
    elif test == "wasserstein":
        std = ref.moments.population_std or 0.0
        statistic = ss.wasserstein_normed(ref.quantiles, cur.quantiles, std)
        error = ss.w1_error(ref.quantiles, cur.quantiles, std)
    elif test == "ks":
        d, d_error = ss.ks_statistic(ref.quantiles, cur.quantiles)
        statistic = p_value = ss.ks_pvalue(d, n_ref, n_cur)
        low, high = ss.ks_pvalue(d + d_error, n_ref, n_cur), ss.ks_pvalue(d - d_error, n_ref, n_cur)
        error = max(statistic - low, high - statistic)
    elif test in ("chisquare", "z"):
        raise InvalidInputError(
            f"column {name!r} has more distinct values than the profiles count exactly; "
            f"{TEST_NAMES[test]} needs exact counts: use another test for it, "
            "or compare the raw data"
        )
    else:
        lo = min(ref.moments.minimum, cur.moments.minimum)
        hi = max(ref.moments.maximum, cur.moments.maximum)
        edges = ss.sturges_edges(lo, hi, n_ref + n_cur)
        rs, cs = ss.bin_shares(ref.quantiles, edges), ss.bin_shares(cur.quantiles, edges)
        statistic = _distance(test, rs, cs)
        if test == "linf":  # each share is within 2 e, so their largest difference too
            error = 2 * (ref.quantiles.rank_error + cur.quantiles.rank_error)
        # PSI and Jensen-Shannon of sketched shares have no proven band (error stays None):
        # small per-bin errors move them by more than the per-bin bound near zero.
    uncertain = False
    if error is not None:
        if test in P_VALUE_TESTS:
            uncertain = statistic - error <= picked.threshold <= statistic + error
        else:
            uncertain = abs(statistic - picked.threshold) <= error
    infinite = ref.moments.pos_inf + ref.moments.neg_inf + cur.moments.pos_inf + cur.moments.neg_inf
    lo = min(ref.moments.minimum, cur.moments.minimum)
    hi = max(ref.moments.maximum, cur.moments.maximum)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    display = np.linspace(lo, hi, DISPLAY_BINS + 1)
    histogram = Histogram(
        "numerical",
        ss.bin_shares(ref.quantiles, display).tolist(),
        ss.bin_shares(cur.quantiles, display).tolist(),
        edges=display.tolist(),
    )
    return ColumnDrift(
        column=name,
        kind="numerical",
        test=test,
        statistic=float(statistic),
        p_value=None if p_value is None else float(p_value),
        threshold=picked.threshold,
        drifted=_is_drifted(test, float(statistic), picked.threshold),
        reference_rows=n_ref,
        current_rows=n_cur,
        reference_missing=ref.missing,
        current_missing=cur.missing,
        exact=exact,
        error=error,
        uncertain=uncertain,
        histogram=histogram,
        note=f"{infinite} infinite values left out" if infinite else None,
    )


def _distance(test: str, ref_shares: Any, cur_shares: Any) -> float:
    from loopml.data import _exact_stats as es

    if test == "jensenshannon":
        return float(es.jensenshannon(ref_shares, cur_shares))
    if test == "psi":
        return float(es.psi(ref_shares, cur_shares))
    return float(es.linf(ref_shares, cur_shares))


__all__ = ["DEFAULT_THRESHOLDS", "auto_test", "drift"]
