"""Drift statistics computed exactly on raw samples, identical to scipy and Evidently 0.7.23.

Every function takes numpy-compatible input and returns plain Python floats. The formulas are
those of Evidently's ``legacy/calculations/stattests`` package (named in each docstring); the
values match ``scipy.stats`` to 1e-9 relative or better (see ``docs/design/data-phase.md`` §3-4):

- numerical samples: :func:`ks_test` (two-sample Kolmogorov-Smirnov), :func:`wasserstein_normed`
  and :func:`ks_and_wasserstein` (both from one sort), :func:`numeric_bins` (Evidently's
  ``get_binned_data``, which feeds :func:`jensenshannon` and :func:`psi`);
- category counts (from raw values with :func:`category_counts`, or from a profile's exact
  counts), lined up with :func:`align`: :func:`chisquare_test`, :func:`z_test`, and the share
  distances :func:`jensenshannon`, :func:`psi` and :func:`linf`.

Cleaning follows Evidently's ``get_one_column_drift``: NaN, None and ±inf are dropped from each
side before any test, and a side left empty raises :class:`~loopml.InvalidInputError`.

Imports stay lazy: ``scipy.stats`` costs about 1.7 s to import, so only the Kolmogorov-Smirnov
p-value loads it (``ks_2samp`` for small samples, ``kstwo`` otherwise); everything else needs
numpy and ``scipy.special`` (0.6 s) at most, and :func:`category_counts` pyarrow.

Where scipy/Evidently give a degenerate answer we document what we return:

- chi-square with a category the reference never holds: the expected count is 0, so scipy's
  statistic is ``inf`` and its p-value ``0.0`` (with a divide-by-zero RuntimeWarning). We return
  the same ``(inf, 0.0)``, without the warning.
- chi-square with a single category on both sides: scipy's ``df = 0`` gives a p-value of ``nan``
  (statistic exactly 0) or ``0.0`` (statistic a rounding error above 0). There is nothing to
  compare, so we return ``(0.0, 1.0)``, as Evidently's Z test does for one shared value.
- Jensen-Shannon: a sum that rounds a hair below zero is clamped to 0 (scipy takes the square
  root of the negative number and returns ``nan``).
- Z test: Evidently's ``2 * (1 - norm.cdf(|z|))`` is computed as ``2 * ndtr(-|z|)``. They agree
  to 2.2e-16 absolute, which is within 1e-9 relative only while p > 2e-7 (``|z| < 5.2``);
  beyond, Evidently's value is rounding noise and is exactly 0 for ``|z| > 8.3``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]
    IntArray = NDArray[np.int64]

# scipy.stats.ks_2samp's ``MAX_AUTO_N``: with method="auto" it computes the exact p-value when
# both samples have at most this many values, and Smirnov's asymptotic distribution otherwise.
KS_EXACT_MAX_N = 10_000
# Evidently's floor on the reference standard deviation that normalises Wasserstein.
WASSERSTEIN_STD_FLOOR = 0.001
# Evidently's ``get_binned_data`` bins a numerical column when the reference holds more
# distinct values than this; otherwise it counts each value.
BINNING_MIN_DISTINCT = 20

_SIDES = ("reference", "current")


# --------------------------------------------------------------------------------- cleaning


def finite(values: Any) -> FloatArray:
    """The finite values as a float64 numpy array: NaN, None (null) and ±inf are dropped.

    Accepts a list, a numpy array, or a pyarrow Array/ChunkedArray. An array that is already
    float64 and finite is returned as it is (not copied).
    """
    import numpy as np

    if type(values).__module__.startswith("pyarrow"):
        values = values.to_numpy(zero_copy_only=False)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        array = array.reshape(-1)
    mask = np.isfinite(array)
    return array if mask.all() else array[mask]


def _clean_pair(ref: Any, cur: Any) -> tuple[FloatArray, FloatArray]:
    """Both sides cleaned by :func:`finite`; an empty side raises InvalidInputError."""
    a, b = finite(ref), finite(cur)
    for side, array in zip(_SIDES, (a, b), strict=True):
        if array.size == 0:
            raise InvalidInputError(
                f"the {side} side has no finite values: drift needs at least one number on "
                "each side (NaN, missing values and ±inf are dropped before testing)"
            )
    return a, b


# ------------------------------------------------------------- Kolmogorov-Smirnov, Wasserstein


def _merged_gaps(sorted_ref: FloatArray, sorted_cur: FloatArray) -> tuple[float, float]:
    """(W1, KS D) of two sorted samples in one pass over their merge.

    The stable argsort of the two concatenated sorted runs is a linear timsort merge. Along the
    merged values ``v`` the empirical CDFs are ``fa = (# ref values so far) / n`` and ``fb``
    likewise, and ``gap = fa - fb``:

    - ``W1 = sum(|gap[:-1]| * diff(v))``: scipy's ``_cdf_distance(1, u, v)`` evaluates the CDFs
      with ``searchsorted(..., side="right")`` at ``v[:-1]``. Inside a run of ties our partial
      counts differ from scipy's, but ``diff(v)`` is 0 there, so every term is bit-identical,
      and so is the dot product (``np.vecdot``, as scipy).
    - ``D = max |gap|`` taken at the last of each run of tied values, which is where
      ``ks_2samp`` evaluates ``searchsorted(data, data_all, side="right")``: same counts, same
      divisions, same D to the last bit.
    """
    import numpy as np

    n, m = sorted_ref.size, sorted_cur.size
    merged = np.concatenate((sorted_ref, sorted_cur))
    order = np.argsort(merged, kind="stable")
    merged = merged[order]
    from_cur = order >= n
    cum_cur = np.cumsum(from_cur)
    cum_ref = np.arange(1, n + m + 1) - cum_cur
    gap = cum_ref / n - cum_cur / m
    deltas = np.diff(merged)
    abs_gap = np.abs(gap)
    vecdot = getattr(np, "vecdot", None)  # numpy >= 2.0, as scipy uses
    head = abs_gap[:-1]
    w1 = float(vecdot(head, deltas) if vecdot is not None else np.sum(head * deltas))
    ties = deltas == 0
    if ties.any():
        last_of_run = np.append(~ties, True)
        d = float(abs_gap[last_of_run].max())
    else:
        d = float(abs_gap.max())
    return w1, d


def _w1_sorted(sorted_ref: FloatArray, sorted_cur: FloatArray) -> float:
    """W1 of two sorted samples from their quantile functions, without sorting anything.

    ``W1 = integral over u in [0, 1] of |Q_ref(u) - Q_cur(u)|``, and the empirical quantile
    functions are step functions with steps at ``i / n`` and ``j / m``. In units of
    ``1 / (n m)`` the steps are the integers ``i m`` and ``j n``; their merged order is known in
    closed form (step ``i m`` has ``ceil(i m / n) - 1`` steps ``j n`` strictly below it), so the
    merged grid is built with one scatter instead of a sort. On each grid interval
    ``[start, end)`` the quantiles are ``ref[start // m]`` and ``cur[start // n]``. Equal sizes
    reduce to ``mean |ref - cur|``. Same value as scipy's ``wasserstein_distance`` (relative
    difference about 1e-15), in a few passes over the data.
    """
    import numpy as np

    n, m = sorted_ref.size, sorted_cur.size
    if n == m:
        return float(np.mean(np.abs(sorted_ref - sorted_cur)))
    i = np.arange(1, n + 1, dtype=np.int64)
    j = np.arange(1, m + 1, dtype=np.int64)
    steps_ref = i * m
    steps_cur = j * n
    grid = np.empty(n + m, dtype=np.int64)
    grid[(i - 1) + (-(-steps_ref // n) - 1)] = steps_ref  # ceil(i m / n) - 1 below it
    grid[(j - 1) + steps_cur // m] = steps_cur  # floor(j n / m) at or below it
    starts = np.empty_like(grid)
    starts[0] = 0
    starts[1:] = grid[:-1]
    widths = (grid - starts).astype(np.float64)
    # The final interval can start at n m (a tie of the last steps); it has width 0, so clip.
    at_ref = np.minimum(starts // m, n - 1)
    at_cur = np.minimum(starts // n, m - 1)
    gaps = np.abs(sorted_ref[at_ref] - sorted_cur[at_cur])
    return float(np.dot(gaps, widths)) / (float(n) * float(m))


def _ks_asymptotic_pvalue(d: float, n1: int, n2: int) -> float:
    """``ks_2samp``'s method="asymp" two-sided p-value: ``kstwo.sf(D, round(n1 n2 / (n1 + n2)))``.

    Mirrors scipy/stats/_stats_py.py (``m, n = sorted(floats, reverse=True)``; ``np.round``
    rounds half to even; the result is clipped to [0, 1]).
    """
    import numpy as np
    from scipy import stats

    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    prob = stats.kstwo.sf(d, np.round(en))
    return float(np.clip(prob, 0, 1))


def _ks_scipy(a: FloatArray, b: FloatArray) -> tuple[float, float]:
    """``scipy.stats.ks_2samp(a, b)`` (method="auto": exact for these sizes).

    When the exact recursion under- or overflows (for example 7 tied zeros against six zeros
    and a one), scipy warns "Exact calculation unsuccessful" and returns the asymptotic p-value.
    That value is scipy's answer, so the warning is silenced: it tells the caller nothing.
    """
    import warnings

    from scipy import stats

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="ks_2samp: Exact calculation unsuccessful", category=RuntimeWarning
        )
        result = stats.ks_2samp(a, b)
    return float(result.statistic), float(result.pvalue)


def _std_norm(ref: FloatArray) -> float:
    """Evidently's Wasserstein normaliser: ``max(np.std(ref), 0.001)`` (population std)."""
    import numpy as np

    return max(float(np.std(ref)), WASSERSTEIN_STD_FLOOR)


def ks_test(ref: Any, cur: Any) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test: ``(D, p-value)``, two-sided.

    Equals ``scipy.stats.ks_2samp(ref, cur)`` with method="auto", which Evidently's
    ``ks_stattest.py::_ks_stat_test`` calls (drift when ``p <= threshold``, default 0.05).
    Up to ``KS_EXACT_MAX_N`` values per side scipy computes the exact p-value and we call it;
    beyond, D comes from one sorted merge (:func:`_merged_gaps`, bit-identical to scipy's) and
    the p-value from ``kstwo.sf(D, round(n1 n2 / (n1 + n2)))``, as scipy does.

    Cost: with ``n1 n2 / (n1 + n2)`` in the hundreds of thousands and ``2.2 <= n D^2 < 370``
    (p-values between about 1e-320 and 0.02), ``kstwo.sf`` evaluates ``scipy.special.smirnov``
    term by term, which takes 0.1-1.3 s; scipy's ``ks_2samp`` pays the same.
    """
    import numpy as np

    a, b = _clean_pair(ref, cur)
    if max(a.size, b.size) <= KS_EXACT_MAX_N:
        return _ks_scipy(a, b)
    _, d = _merged_gaps(np.sort(a), np.sort(b))
    return d, _ks_asymptotic_pvalue(d, a.size, b.size)


def wasserstein_normed(ref: Any, cur: Any) -> float:
    """Wasserstein-1 distance divided by the reference's population standard deviation.

    Evidently's ``wasserstein_distance_norm.py::_wasserstein_distance_norm``:
    ``stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)`` (drift when the value is
    ``>= threshold``, default 0.1). W1 is the area between the two empirical CDFs,
    ``sum |F_ref - F_cur| * dx``, computed in one merge of the sorted samples
    (:func:`_merged_gaps`); a constant reference is normalised by the floor 0.001.
    """
    import numpy as np

    a, b = _clean_pair(ref, cur)
    return _w1_sorted(np.sort(a), np.sort(b)) / _std_norm(a)


def ks_and_wasserstein(ref: Any, cur: Any) -> tuple[float, float, float]:
    """``(KS D, KS p-value, normed Wasserstein)``: :func:`ks_test` and
    :func:`wasserstein_normed` sharing one cleaning, one sort and one merge."""
    import numpy as np

    a, b = _clean_pair(ref, cur)
    sorted_ref, sorted_cur = np.sort(a), np.sort(b)
    _, d = _merged_gaps(sorted_ref, sorted_cur)
    w1 = _w1_sorted(sorted_ref, sorted_cur)
    if max(a.size, b.size) <= KS_EXACT_MAX_N:
        d, p = _ks_scipy(a, b)
    else:
        p = _ks_asymptotic_pvalue(d, a.size, b.size)
    return d, p, w1 / _std_norm(a)


# ------------------------------------------------------------------------ binning for JS, PSI


def _sorted_value_counts(sorted_values: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distinct values and their counts of a sorted array (-0.0 and 0.0 count as one)."""
    import numpy as np

    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    counts = np.diff(np.append(starts, sorted_values.size))
    return sorted_values[starts], counts


def _histogram_sorted(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """``np.histogram(values, edges)[0]`` for sorted values.

    numpy's own path for explicit edges sorts the values and counts with
    ``_search_sorted_inclusive``: left-side search of every edge but the last, right-side
    search of the last (the last bin is closed). Already sorted, two searches suffice.
    """
    import numpy as np

    cumulative = np.concatenate(
        (
            sorted_values.searchsorted(edges[:-1], "left"),
            sorted_values.searchsorted(edges[-1:], "right"),
        )
    )
    return np.diff(cumulative)


def numeric_bins(ref: Any, cur: Any) -> tuple[FloatArray | None, FloatArray, FloatArray, list[Any]]:
    """Evidently's ``stattests/utils.py::get_binned_data`` for a numerical column, unfilled.

    Returns ``(edges, ref_shares, cur_shares, keys)``:

    - the reference holds more than 20 distinct values: ``edges =
      np.histogram_bin_edges(concat(ref, cur), bins="sturges")`` (``ceil(log2(n) + 1)``
      equal-width bins over the combined range; Evidently's ``n_bins`` argument is ignored) and
      ``shares = np.histogram(side, edges)[0] / len(side)``; ``keys`` is ``[]``.
    - otherwise ``edges`` is None, ``keys`` the sorted union of the distinct values of both
      sides, and ``shares`` each value's count divided by the side's length.

    The shares are not zero-filled: :func:`jensenshannon` takes them as they are
    (``feel_zeroes=False`` in Evidently) and :func:`psi` fills them itself.
    """
    import numpy as np

    a, b = _clean_pair(ref, cur)
    sa, sb = np.sort(a), np.sort(b)
    ref_values, ref_counts = _sorted_value_counts(sa)
    if ref_values.size > BINNING_MIN_DISTINCT:
        edges = np.histogram_bin_edges(np.concatenate((a, b)), bins="sturges")
        return (
            edges,
            _histogram_sorted(sa, edges) / sa.size,
            _histogram_sorted(sb, edges) / sb.size,
            [],
        )
    cur_values, cur_counts = _sorted_value_counts(sb)
    keys = np.union1d(ref_values, cur_values)
    ref_aligned = np.zeros(keys.size, dtype=np.int64)
    cur_aligned = np.zeros(keys.size, dtype=np.int64)
    ref_aligned[np.searchsorted(keys, ref_values)] = ref_counts
    cur_aligned[np.searchsorted(keys, cur_values)] = cur_counts
    return None, ref_aligned / sa.size, cur_aligned / sb.size, keys.tolist()


# ------------------------------------------------------------------------- share distances


def _share_pair(ref_shares: Any, cur_shares: Any) -> tuple[FloatArray, FloatArray]:
    import numpy as np

    r = np.asarray(ref_shares, dtype=np.float64).reshape(-1)
    c = np.asarray(cur_shares, dtype=np.float64).reshape(-1)
    if r.shape != c.shape:
        raise InvalidInputError(
            f"reference and current shares must line up one to one, got {r.size} and {c.size} "
            "values (use align() or numeric_bins() to build them)"
        )
    if r.size == 0:
        raise InvalidInputError("there are no shares to compare: both sides are empty")
    if not (np.isfinite(r).all() and np.isfinite(c).all()) or (r < 0).any() or (c < 0).any():
        raise InvalidInputError("shares must be finite and non-negative")
    return r, c


def shares(counts: Any) -> FloatArray:
    """Counts divided by their total (Evidently divides value counts by the column length)."""
    import numpy as np

    array = np.asarray(counts)
    total = array.sum()
    if total <= 0:
        raise InvalidInputError("there are no counts to turn into shares: the side is empty")
    return array / total  # type: ignore[no-any-return]


def jensenshannon(ref_shares: Any, cur_shares: Any) -> float:
    """Jensen-Shannon distance (natural log), in ``[0, sqrt(ln 2)]``.

    Evidently's ``jensenshannon.py::_jensenshannon`` calls
    ``scipy.spatial.distance.jensenshannon(ref, cur)`` on ``get_binned_data(...,
    feel_zeroes=False)`` (drift when the value is ``>= threshold``, default 0.1). This is
    scipy's formula, without importing ``scipy.spatial`` (0.7 s): ``p``, ``q`` normalised to sum
    1, ``m = (p + q) / 2``, ``sqrt((sum rel_entr(p, m) + sum rel_entr(q, m)) / 2)``, where
    ``rel_entr(x, y) = x ln(x / y)`` and 0 for ``x = 0``. A sum that rounds below 0 gives 0.
    """
    import numpy as np

    r, c = _share_pair(ref_shares, cur_shares)
    if r.sum() == 0 or c.sum() == 0:
        raise InvalidInputError("a side has no mass: its shares are all zero")
    p = r / np.sum(r)
    q = c / np.sum(c)
    m = (p + q) / 2.0

    def rel_entr(x: FloatArray, y: FloatArray) -> float:
        # scipy.special.rel_entr: x ln(x / y) for x > 0, 0 for x = 0 (y >= x / 2 > 0 here).
        keep = x > 0
        return float(np.sum(x[keep] * np.log(x[keep] / y[keep])))

    js = rel_entr(p, m) + rel_entr(q, m)
    return math.sqrt(max(js, 0.0) / 2.0)


def fill_zeroes(shares: Any) -> FloatArray:
    """Evidently's zero filling before PSI (``get_binned_data(..., feel_zeroes=True)``).

    Zero shares become ``min(nonzero) / 1e6`` if that minimum is ``<= 1e-4``, else ``1e-4``
    (and ``1e-4`` when every share is zero). Returns a new float64 array.
    """
    import numpy as np

    filled = np.array(shares, dtype=np.float64).reshape(-1)
    nonzero = filled[filled != 0]
    if nonzero.size:
        smallest = nonzero.min()
        fill = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    else:
        fill = 0.0001
    np.place(filled, filled == 0, fill)
    return filled


def psi(ref_shares: Any, cur_shares: Any) -> float:
    """Population stability index, ``sum((r - c) * ln(r / c))`` over zero-filled shares.

    Evidently's ``psi.py::_psi`` on ``get_binned_data(..., feel_zeroes=True)`` (drift when the
    value is ``>= threshold``, default 0.1). Each side is filled by :func:`fill_zeroes`, so no
    term divides by zero; every term is non-negative.
    """
    import numpy as np

    r, c = _share_pair(ref_shares, cur_shares)
    r, c = fill_zeroes(r), fill_zeroes(c)
    with np.errstate(over="ignore", divide="ignore"):  # subnormal shares: inf, as Evidently
        return float(np.sum((r - c) * np.log(r / c)))


def linf(ref_shares: Any, cur_shares: Any) -> float:
    """L-infinity distance ``max |r - c|`` between two share vectors (not in Evidently)."""
    import numpy as np

    r, c = _share_pair(ref_shares, cur_shares)
    return float(np.max(np.abs(r - c)))


# ----------------------------------------------------------------------- category counts


def _finite_key(value: Any) -> bool:
    """False for None, NaN and ±inf; True for anything else, numbers or not."""
    if value is None:
        return False
    try:
        return math.isfinite(value)
    except (TypeError, ValueError, OverflowError):
        return True


def category_counts(values: Any) -> dict[Any, int]:
    """How often each value occurs, skipping missing values (None, null, NaN) and ±inf.

    Accepts numpy arrays, pyarrow Arrays/ChunkedArrays (dictionary-encoded too) and lists; counts
    with ``pyarrow.compute.value_counts``. Keys are Python objects (``to_pylist``); ±inf is
    dropped like NaN because Evidently turns infinities into NaN before testing. Values pyarrow
    cannot type (mixed Python objects) are counted in Python.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.Array | pa.ChunkedArray):
        arrow = values
    else:
        try:
            arrow = pa.array(
                values if isinstance(values, np.ndarray) else list(values), from_pandas=True
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return _python_counts(values)
    if pa.types.is_dictionary(arrow.type):
        arrow = pc.cast(arrow, arrow.type.value_type)
    if pa.types.is_floating(arrow.type):
        arrow = arrow.filter(pc.is_finite(arrow))  # nulls drop out too
    else:
        arrow = arrow.drop_null()
    counted = pc.value_counts(arrow)
    out: dict[Any, int] = {}
    keys = counted.field("values").to_pylist()
    for key, count in zip(keys, counted.field("counts").to_pylist(), strict=True):
        out[key] = out.get(key, 0) + count  # -0.0 and 0.0 hash apart in Arrow, not in Python
    return out


def _python_counts(values: Iterable[Any]) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for value in values:
        if _finite_key(value):
            out[value] = out.get(value, 0) + 1
    return out


def _sorted_keys(keys: list[Hashable]) -> list[Hashable]:
    """Sorted if the keys compare; else numbers first, then by type name, each group sorted."""
    try:
        return sorted(keys)  # type: ignore[type-var]
    except TypeError:
        pass
    groups: dict[str, list[Hashable]] = {}
    for key in keys:
        name = "" if isinstance(key, numbers.Real) else type(key).__qualname__  # numbers first
        groups.setdefault(name, []).append(key)
    ordered: list[Hashable] = []
    for name in sorted(groups):
        try:
            ordered.extend(sorted(groups[name]))  # type: ignore[type-var]
        except TypeError:
            ordered.extend(sorted(groups[name], key=repr))
    return ordered


def align(
    ref_counts: Mapping[Any, int], cur_counts: Mapping[Any, int]
) -> tuple[list[Any], IntArray, IntArray]:
    """Line two count mappings up on the union of their keys: ``(keys, ref, cur)``.

    Keys are sorted where they compare (Evidently sorts the keys for the Z test; its other
    tests' key order only changes float rounding); a key missing from one side counts 0 there.
    Keys with a zero count on both sides are dropped: Evidently only sees values that occur.
    """
    import numpy as np

    union = [
        key
        for key in dict.fromkeys([*ref_counts, *cur_counts])
        if ref_counts.get(key, 0) or cur_counts.get(key, 0)
    ]
    keys = _sorted_keys(union)
    ref = np.array([ref_counts.get(key, 0) for key in keys], dtype=np.int64)
    cur = np.array([cur_counts.get(key, 0) for key in keys], dtype=np.int64)
    if (ref < 0).any() or (cur < 0).any():
        raise InvalidInputError("counts must be non-negative")
    return keys, ref, cur


def _count_pair(ref_counts: Any, cur_counts: Any) -> tuple[FloatArray, FloatArray]:
    """Aligned counts as float64, keys absent on both sides dropped, empty sides refused."""
    import numpy as np

    r = np.asarray(ref_counts, dtype=np.float64).reshape(-1)
    c = np.asarray(cur_counts, dtype=np.float64).reshape(-1)
    if r.shape != c.shape:
        raise InvalidInputError(
            f"reference and current counts must line up one to one, got {r.size} and {c.size} "
            "values (use align() to build them)"
        )
    if not (np.isfinite(r).all() and np.isfinite(c).all()) or (r < 0).any() or (c < 0).any():
        raise InvalidInputError("counts must be finite and non-negative")
    present = (r > 0) | (c > 0)
    r, c = r[present], c[present]
    for side, array in zip(_SIDES, (r, c), strict=True):
        if array.sum() == 0:
            raise InvalidInputError(
                f"the {side} side has no values: drift needs at least one value on each side"
            )
    return r, c


def chisquare_test(ref_counts: Any, cur_counts: Any) -> tuple[float, float]:
    """Pearson's chi-square goodness of fit of the current counts to the reference's shape.

    Evidently's ``chisquare_stattest.py::_chi_stat_test``: ``f_exp = ref * (len(cur) /
    len(ref))`` and ``scipy.stats.chisquare(cur, f_exp)`` (drift when ``p < threshold``, default
    0.05): ``stat = sum((cur - f_exp)^2 / f_exp)``, ``p = chdtrc(k - 1, stat)`` with ``k`` keys
    (bit-identical to scipy's ``chi2.sf``). Counts are aligned arrays (see :func:`align`).

    A key the reference never holds has ``f_exp = 0``: the statistic is ``inf`` and ``p = 0``,
    as in scipy (which also warns). A single key on both sides returns ``(0.0, 1.0)``; scipy's
    ``df = 0`` would give ``nan`` or a spurious ``0.0``.
    """
    import numpy as np
    from scipy.special import chdtrc

    r, c = _count_pair(ref_counts, cur_counts)
    if r.size == 1:
        return 0.0, 1.0
    k_norm = float(c.sum()) / float(r.sum())
    f_exp = r * k_norm
    with np.errstate(divide="ignore"):
        terms = (c - f_exp) ** 2 / f_exp
    stat = float(np.sum(terms))
    return stat, float(chdtrc(r.size - 1, stat))


def z_test(ref_counts: Any, cur_counts: Any) -> tuple[float, float]:
    """Two-proportion pooled Z test on "value != first key": ``(z, two-sided p-value)``.

    Evidently's ``z_stattest.py``: the keys are sorted and each value becomes 0 if it equals
    ``keys[0]``, else 1, so with aligned sorted counts ``p1 = (n1 - ref[0]) / n1``, ``p2``
    likewise, pooled ``P = (p1 n1 + p2 n2) / (n1 + n2)`` and
    ``z = (p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2))``; ``p = 2 ndtr(-|z|)`` (Evidently writes
    ``2 (1 - norm.cdf(|z|))``). When both sides hold the same single value, ``(0.0, 1.0)``.
    Drift when ``p < threshold`` (default 0.05).
    """
    from scipy.special import ndtr

    r, c = _count_pair(ref_counts, cur_counts)
    if r.size == 1:
        return 0.0, 1.0
    n1, n2 = int(r.sum()), int(c.sum())
    p1 = float(n1 - r[0]) / n1
    p2 = float(n2 - c[0]) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return z, float(2 * ndtr(-abs(z)))
