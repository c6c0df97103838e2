"""Evaluation metrics, overall and per slice, as plain numbers with reasons for the missing ones.

Classification: accuracy, precision, recall, F1, ROC AUC, PR AUC (average precision), log loss
and expected calibration error (ECE), plus the Brier score for binary models. Regression: MAE,
RMSE, R² and MAPE. A metric that cannot be computed (ROC AUC on a slice with one class, R² of a
constant target) is ``None`` with a reason in :attr:`MetricsResult.undefined`: never NaN and
never a warning, because the class counts are checked before scikit-learn is called.

numpy, pandas and scikit-learn are imported inside the functions, so importing this module is
cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "MetricsResult",
    "SliceResult",
    "classification_metrics",
    "expected_calibration_error",
    "regression_metrics",
    "slice_metrics",
]

#: Metric names in report order; ``brier`` only for binary models.
CLASSIFICATION_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "ece",
    "brier",
)
REGRESSION_METRICS = ("mae", "rmse", "r2", "mape")
TASKS = ("classification", "regression")
ECE_BINS = 10
MISSING = "(missing)"
OTHER = "(other)"
QUANTILE_BINS = 4
_PROB_TOLERANCE = 1e-6  # probabilities this far outside [0, 1] are clipped (float32 outputs)
_ROW_SUM_TOLERANCE = 1e-3  # a probability row must sum to 1 within this


@dataclass
class MetricsResult:
    """Metric values by name; ``None`` values have their reason in ``undefined``."""

    values: dict[str, float | None]
    undefined: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "values": dict(self.values),
            "undefined": dict(self.undefined),
            "notes": list(self.notes),
            "rows": self.rows,
        }


@dataclass
class SliceResult:
    """The metrics of the rows where ``column`` has ``value`` (a value, a bin, or a bucket)."""

    column: str
    value: str
    rows: int
    metrics: MetricsResult

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "column": self.column,
            "value": self.value,
            "rows": self.rows,
            "metrics": self.metrics.to_dict(),
        }


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Labels:
    """Validated classification inputs: class index per row and an (n, k) probability matrix."""

    y: npt.NDArray[np.intp]
    proba: npt.NDArray[np.float64]
    classes: tuple[Any, ...]

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    def take(self, idx: npt.NDArray[np.intp]) -> _Labels:
        return _Labels(self.y[idx], self.proba[idx], self.classes)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (for messages and JSON)."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


def _one_d(values: Any, name: str) -> npt.NDArray[Any]:
    import numpy as np

    to_numpy = getattr(values, "to_numpy", None)
    arr = np.asarray(to_numpy() if callable(to_numpy) else values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _probabilities(scores: Any, rows: int) -> tuple[npt.NDArray[np.float64], bool]:
    """An (n, k) probability matrix, and whether ``scores`` was one P(positive) per row."""
    import numpy as np

    to_numpy = getattr(scores, "to_numpy", None)
    try:
        s = np.asarray(to_numpy() if callable(to_numpy) else scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"scores must be numbers (probabilities): {exc}") from None
    if s.ndim not in (1, 2):
        raise InvalidInputError(
            f"scores must be P(positive) per row or an (n, k) probability matrix, "
            f"got shape {s.shape}"
        )
    if s.shape[0] != rows:
        raise InvalidInputError(f"y_true has {rows} rows but scores has {s.shape[0]}")
    if s.ndim == 2 and s.shape[1] < 2:
        raise InvalidInputError(
            f"a probability matrix needs a column per class (at least 2), got {s.shape[1]}"
        )
    if s.size:
        if not np.isfinite(s).all():
            bad = int((~np.isfinite(s)).sum())
            raise InvalidInputError(f"scores has {bad} missing or infinite values")
        lo, hi = float(s.min()), float(s.max())
        if lo < -_PROB_TOLERANCE or hi > 1 + _PROB_TOLERANCE:
            raise InvalidInputError(
                f"scores must be probabilities in [0, 1], got values from {lo:g} to {hi:g}; "
                "pass predict_proba output, not decision_function"
            )
        s = np.clip(s, 0.0, 1.0)
    if s.ndim == 1:
        return np.column_stack([1.0 - s, s]), True
    if rows:
        sums = s.sum(axis=1)
        worst = int(np.argmax(np.abs(sums - 1.0)))
        if abs(float(sums[worst]) - 1.0) > _ROW_SUM_TOLERANCE:
            raise InvalidInputError(
                f"each row of the probability matrix must sum to 1; row {worst} sums to "
                f"{float(sums[worst]):g}"
            )
    return s, False


def _infer_classes(found: list[Any], k: int, one_d: bool) -> list[Any]:
    try:
        ordered = sorted(found)
    except TypeError:
        raise InvalidInputError(
            "the labels in y_true cannot be ordered (mixed types); pass classes= in the order "
            "of the score columns"
        ) from None
    if len(ordered) == k:
        return ordered
    if k == 2 and len(ordered) == 1 and ordered[0] in (0, 1):
        return [False, True] if isinstance(ordered[0], bool) else [0, 1]
    if len(ordered) > k:
        what = "binary (one probability per row)" if one_d else f"for {k} classes"
        raise InvalidInputError(
            f"y_true has {len(ordered)} classes but the scores are {what}; "
            "pass an (n, k) probability matrix"
        )
    raise InvalidInputError(
        f"y_true has {len(ordered)} of the {k} classes the scores cover, so their order is "
        "unknown; pass classes= (for example model.classes_)"
    )


def _prepare_classification(y_true: Any, scores: Any, classes: Sequence[Any] | None) -> _Labels:
    """Check the inputs once; the class of every row as an index into ``classes``."""
    import numpy as np
    import pandas as pd

    labels = _one_d(y_true, "y_true")
    proba, one_d = _probabilities(scores, len(labels))
    k = proba.shape[1]
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)
    if (codes < 0).any():
        raise InvalidInputError(f"y_true has {int((codes < 0).sum())} missing labels")
    found = [_plain(u) for u in np.asarray(uniques).tolist()]
    if classes is None:
        cls = _infer_classes(found, k, one_d)
    else:
        cls = [_plain(c) for c in classes]
        if len(set(cls)) != len(cls):
            raise InvalidInputError(f"classes has duplicates: {cls!r}")
        if len(cls) != k:
            what = "binary scores (one probability per row)" if one_d else f"{k} score columns"
            raise InvalidInputError(f"got {len(cls)} classes for {what}: {cls!r}")
    index = {c: i for i, c in enumerate(cls)}
    unknown = [u for u in found if u not in index]
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InvalidInputError(
            f"y_true has labels that are not among the classes {cls!r}: {shown}{more}"
        )
    mapping = np.array([index[u] for u in found], dtype=np.intp)
    y = mapping[codes] if len(codes) else np.zeros(0, dtype=np.intp)
    return _Labels(y.astype(np.intp, copy=False), proba, tuple(cls))


def _prepare_regression(
    y_true: Any, y_pred: Any
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    import numpy as np

    out = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        try:
            if type(values).__module__.startswith("pandas") and hasattr(values, "to_numpy"):
                values = values.to_numpy(dtype=np.float64, na_value=np.nan)  # pd.NA -> NaN
            f = _one_d(values, name).astype(np.float64)
        except InvalidInputError:
            raise
        except (TypeError, ValueError):
            raise InvalidInputError(f"{name} must be numbers for a regression") from None
        bad = int((~np.isfinite(f)).sum())
        if bad:
            raise InvalidInputError(f"{name} has {bad} missing or infinite values")
        out.append(f)
    if len(out[0]) != len(out[1]):
        raise InvalidInputError(f"y_true has {len(out[0])} rows but y_pred has {len(out[1])}")
    return out[0], out[1]


# --- classification -------------------------------------------------------------------------


def expected_calibration_error(
    y_true: npt.ArrayLike, p: npt.ArrayLike, n_bins: int = ECE_BINS
) -> float:
    """ECE: ``Σ_b |B_b|/n · |acc(B_b) - conf(B_b)|`` over equal-width, right-closed bins.

    ``y_true`` is 0/1 (or correct/incorrect), ``p`` the predicted probability (or top-label
    confidence). Empty bins are skipped; the edges match scikit-learn's ``calibration_curve``.
    """
    import numpy as np

    y = np.asarray(y_true, dtype=np.float64)
    q = np.asarray(p, dtype=np.float64)
    if len(q) == 0:
        raise InvalidInputError("expected calibration error needs at least one row")
    idx = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], q)
    n = np.bincount(idx, minlength=n_bins)
    err = np.abs(np.bincount(idx, y, n_bins) - np.bincount(idx, q, n_bins))
    return float(err[n > 0].sum() / len(q))


def _names(binary: bool) -> tuple[str, ...]:
    return CLASSIFICATION_METRICS if binary else CLASSIFICATION_METRICS[:-1]


def _all_undefined(names: Sequence[str], reason: str, rows: int) -> MetricsResult:
    return MetricsResult(
        values=dict.fromkeys(names), undefined=dict.fromkeys(names, reason), rows=rows
    )


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def _macro(
    name: str, per_class: list[float | None], classes: tuple[Any, ...], why: str, notes: list[str]
) -> float | None:
    kept = [v for v in per_class if v is not None]
    if len(kept) < len(per_class):
        left = [repr(c) for c, v in zip(classes, per_class, strict=True) if v is None]
        notes.append(
            f"{name}: macro average over {len(kept)} of {len(per_class)} classes "
            f"({why}: {', '.join(left)})"
        )
    return sum(kept) / len(kept) if kept else None


def _classification(lab: _Labels, threshold: float) -> MetricsResult:
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    n, k = lab.proba.shape
    names = _names(lab.binary)
    if n == 0:
        return _all_undefined(names, "no rows", 0)
    y, proba, classes = lab.y, lab.proba, lab.classes
    values: dict[str, float | None] = {}
    undefined: dict[str, str] = {}
    notes: list[str] = []
    if lab.binary:
        pred = (proba[:, 1] >= threshold).astype(np.intp)
    else:
        pred = np.argmax(proba, axis=1).astype(np.intp)
    cm = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    present = cm.sum(axis=1)  # true rows per class
    values["accuracy"] = float(np.trace(cm) / n)

    if lab.binary:
        pos = classes[1]
        tp, fp, fn = float(cm[1, 1]), float(cm[0, 1]), float(cm[1, 0])
        values["precision"] = _ratio(tp, tp + fp)
        values["recall"] = _ratio(tp, tp + fn)
        values["f1"] = _ratio(2 * tp, 2 * tp + fp + fn)
        if values["precision"] is None:
            undefined["precision"] = f"no rows predicted as the positive class ({pos!r})"
        if values["recall"] is None:
            undefined["recall"] = f"no rows of the positive class ({pos!r})"
        if values["f1"] is None:
            undefined["f1"] = f"no rows of the positive class ({pos!r}), actual or predicted"
        is_pos = y == 1
        if 0 < present[1] < n:
            values["roc_auc"] = float(roc_auc_score(is_pos, proba[:, 1]))
        else:
            only = classes[1] if present[1] else classes[0]
            values["roc_auc"] = None
            undefined["roc_auc"] = f"only one class in y_true ({only!r})"
        if present[1] > 0:
            values["pr_auc"] = float(average_precision_score(is_pos, proba[:, 1]))
        else:
            values["pr_auc"] = None
            undefined["pr_auc"] = f"no rows of the positive class ({pos!r})"
    else:
        tp_c = np.diag(cm).astype(np.float64)
        predicted = cm.sum(axis=0)
        precision = [_ratio(tp_c[c], predicted[c]) for c in range(k)]
        recall = [_ratio(tp_c[c], present[c]) for c in range(k)]
        f1 = [_ratio(2 * tp_c[c], predicted[c] + present[c]) for c in range(k)]
        values["precision"] = _macro("precision", precision, classes, "never predicted", notes)
        values["recall"] = _macro("recall", recall, classes, "no rows", notes)
        values["f1"] = _macro("f1", f1, classes, "no rows, actual or predicted", notes)
        # One-vs-rest: a class needs rows of its own (PR) and of the rest (ROC).
        roc: list[float | None] = []
        pr: list[float | None] = []
        for c in range(k):
            is_c = y == c
            has = present[c] > 0
            roc.append(float(roc_auc_score(is_c, proba[:, c])) if has and present[c] < n else None)
            pr.append(float(average_precision_score(is_c, proba[:, c])) if has else None)
        if int((present > 0).sum()) < 2:
            only = classes[int(np.argmax(present))]
            values["roc_auc"] = None
            undefined["roc_auc"] = f"only one class in y_true ({only!r})"
        else:
            values["roc_auc"] = _macro("roc_auc", roc, classes, "no rows", notes)
        values["pr_auc"] = _macro("pr_auc", pr, classes, "no rows", notes)

    eps = float(np.finfo(np.float64).eps)
    p_true = np.clip(proba[np.arange(n), y], eps, 1.0 - eps)
    values["log_loss"] = float(-np.mean(np.log(p_true)))
    if lab.binary:
        values["ece"] = expected_calibration_error(y, proba[:, 1])
        values["brier"] = float(np.mean((proba[:, 1] - y) ** 2))
    else:
        values["ece"] = expected_calibration_error(pred == y, proba.max(axis=1))
    return MetricsResult(
        values={m: values[m] for m in names}, undefined=undefined, notes=notes, rows=n
    )


def _check_threshold(threshold: float) -> None:
    try:
        ok = 0.0 <= float(threshold) <= 1.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidInputError(f"threshold must be a number in [0, 1], got {threshold!r}")


def classification_metrics(
    y_true: Any,
    scores: Any,
    *,
    classes: Sequence[Any] | None = None,
    threshold: float = 0.5,
) -> MetricsResult:
    """Accuracy, precision, recall, F1, ROC AUC, PR AUC, log loss, ECE (and Brier if binary).

    ``scores`` is P(positive) per row (binary) or an (n, k) ``predict_proba`` matrix whose
    columns follow ``classes`` (default: the sorted labels of ``y_true``). Binary: the positive
    class is ``classes[1]``, predicted when its probability is ``>= threshold``; precision,
    recall and F1 are about that class. Multiclass: the prediction is the most probable class,
    precision/recall/F1/ROC AUC/PR AUC are one-vs-rest macro averages (a class that cannot
    count, e.g. one with no rows, is left out and said so in ``notes``), and ECE uses the
    top-label confidence. Labels may be strings.
    """
    _check_threshold(threshold)
    return _classification(_prepare_classification(y_true, scores, classes), threshold)


# --- regression -----------------------------------------------------------------------------


def _regression(y: npt.NDArray[np.float64], p: npt.NDArray[np.float64]) -> MetricsResult:
    import numpy as np

    n = len(y)
    if n == 0:
        return _all_undefined(REGRESSION_METRICS, "no rows", 0)
    values: dict[str, float | None] = {}
    undefined: dict[str, str] = {}
    notes: list[str] = []
    err = y - p
    values["mae"] = float(np.mean(np.abs(err)))
    values["rmse"] = float(math.sqrt(float(np.mean(err**2))))
    if n < 2:
        values["r2"] = None
        undefined["r2"] = "fewer than 2 rows"
    else:
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        if ss_tot == 0.0:
            values["r2"] = None
            undefined["r2"] = "y_true is constant (zero variance)"
        else:
            values["r2"] = 1.0 - float(np.sum(err**2)) / ss_tot
    nonzero = y != 0
    kept = int(nonzero.sum())
    if kept == 0:
        values["mape"] = None
        undefined["mape"] = "every target is 0"
    else:
        values["mape"] = float(np.mean(np.abs(err[nonzero]) / np.abs(y[nonzero])))
        if kept < n:
            notes.append(f"mape: left out {n - kept} of {n} rows whose target is 0")
    return MetricsResult(values=values, undefined=undefined, notes=notes, rows=n)


def regression_metrics(y_true: Any, y_pred: Any) -> MetricsResult:
    """MAE, RMSE, R² and MAPE (a fraction, over rows whose target is not 0)."""
    return _regression(*_prepare_regression(y_true, y_pred))


# --- slices ---------------------------------------------------------------------------------


def _fmt_edges(edges: Sequence[float], integral: bool) -> list[str]:
    """Bin edges as short labels, with enough digits that distinct edges stay distinct."""
    out: list[str] = []
    for digits in (6, 10, 17):
        out = []
        for x in edges:
            s = format(float(x), f".{digits}g")
            if not integral and s.lstrip("-").isdigit():
                s += ".0"
            out.append(s)
        if len(set(out)) == len(set(edges)):
            break
    return out


def _quantile_starts(counts: npt.NDArray[np.intp]) -> list[int]:
    """Where each of up to QUANTILE_BINS bins starts, as indexes into the sorted unique values.

    A bin closes once it reaches the next quarter of the rows, so a value that fills more than
    a quarter (say 90% zeros) keeps its rows in one bin and fewer bins come out.
    """
    import numpy as np

    cum = np.cumsum(counts)
    starts = [0]
    for q in range(1, QUANTILE_BINS):
        last = int(np.searchsorted(cum, q * cum[-1] / QUANTILE_BINS))  # first with cum >= target
        if starts[-1] < last + 1 < len(counts):
            starts.append(last + 1)
    return starts


def _value_label(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _groups(series: pd.Series[Any], max_values: int) -> list[tuple[str, npt.NDArray[np.intp]]]:
    """``(label, row positions)`` for each slice of one column; every row is in one slice."""
    import numpy as np
    import pandas as pd
    from pandas.api import types as pdt

    dtype = series.dtype
    numeric = (pdt.is_integer_dtype(dtype) or pdt.is_float_dtype(dtype)) and not (
        pdt.is_bool_dtype(dtype)
    )
    missing = series.isna().to_numpy()
    out: list[tuple[str, npt.NDArray[np.intp]]] = []
    if numeric:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        present = np.flatnonzero(~missing)
        uniq, inverse, counts = np.unique(values[present], return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        integral = bool(np.all(np.isfinite(uniq)) and np.all(uniq == np.floor(uniq)))
        if len(uniq) <= max_values and (integral or len(uniq) <= QUANTILE_BINS):
            names = (
                [_value_label(u) for u in uniq] if integral else _fmt_edges(uniq.tolist(), False)
            )
            for i, name in enumerate(names):
                out.append((name, present[inverse == i]))
        elif len(uniq):
            starts = _quantile_starts(counts)
            which = (np.searchsorted(starts, np.arange(len(uniq)), side="right") - 1)[inverse]
            labels = _fmt_edges([*(uniq[i] for i in starts), uniq[-1]], integral)
            for b in range(len(starts)):
                close = "]" if b == len(starts) - 1 else ")"
                out.append((f"[{labels[b]}, {labels[b + 1]}{close}", present[which == b]))
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        labels_list = [_value_label(u) for u in np.asarray(uniques, dtype=object).tolist()]
        counts = np.bincount(codes[codes >= 0], minlength=len(labels_list))
        order = sorted(range(len(labels_list)), key=lambda i: (-counts[i], labels_list[i]))
        keep = order[:max_values]
        for i in keep:
            out.append((labels_list[i], np.flatnonzero(codes == i)))
        if len(order) > max_values:
            rest = np.isin(codes, np.asarray(order[max_values:], dtype=codes.dtype))
            out.append((OTHER, np.flatnonzero(rest)))
    if missing.any():
        out.append((MISSING, np.flatnonzero(missing)))
    return [(label, rows.astype(np.intp, copy=False)) for label, rows in out]


def _slice_frame(frame: Any, columns: list[str]) -> pd.DataFrame:
    """The slice columns of a pandas, polars or pyarrow table as a pandas DataFrame."""
    import pandas as pd

    module = type(frame).__module__.split(".")[0]
    if module == "pandas" and isinstance(frame, pd.DataFrame):
        available = [str(c) for c in frame.columns]
        keys = {str(c): c for c in frame.columns}
    elif module == "polars" and type(frame).__name__ in ("DataFrame", "LazyFrame"):
        if type(frame).__name__ == "LazyFrame":
            frame = frame.collect()
        available = list(frame.columns)
        keys = {c: c for c in available}
    elif module == "pyarrow" and type(frame).__name__ in ("Table", "RecordBatch"):
        available = list(frame.column_names)
        keys = {c: c for c in available}
    else:
        raise InvalidInputError(
            f"cannot slice a {type(frame).__name__}; pass a pandas or polars DataFrame or a "
            "pyarrow Table"
        )
    for col in columns:
        if col not in keys:
            shown = ", ".join(available[:50]) + (" ..." if len(available) > 50 else "")
            raise InvalidInputError(
                f"slice column {col!r} is not in the data; available columns: {shown or '(none)'}"
            )
    out: pd.DataFrame
    if module == "pandas":
        out = frame[[keys[c] for c in columns]].reset_index(drop=True)
        out.columns = pd.Index(columns)
    else:
        out = frame.select(columns).to_pandas().reset_index(drop=True)
    return out


def slice_metrics(
    frame: Any,
    y_true: Any,
    scores_or_pred: Any,
    columns: Sequence[str] | str,
    *,
    task: str,
    classes: Sequence[Any] | None = None,
    max_values: int = 20,
    min_rows: int = 1,
    threshold: float = 0.5,
) -> list[SliceResult]:
    """Metrics per value of each column in ``columns``; rows line up with ``frame`` by position.

    Text, boolean and categorical columns give one slice per value (the ``max_values`` most
    frequent; the rest together as ``"(other)"``). Numeric columns with at most ``max_values``
    distinct values give one slice per value too when the values are whole numbers or there
    are at most 4 of them; other numeric columns give up to 4 quantile bins of about equal rows,
    labelled by data values like ``"[10.0, 25.5)"`` (the last one closed; a value that fills
    more than a quarter of the rows gives fewer, bigger bins). Nulls form
    ``"(missing)"``. Every row is in exactly one slice of each column. A slice with fewer than
    ``min_rows`` rows is listed with every metric undefined. ``task`` is ``"classification"``
    (``scores_or_pred`` as in :func:`classification_metrics`) or ``"regression"``.
    """
    if task not in TASKS:
        raise InvalidInputError(f"task must be 'classification' or 'regression', got {task!r}")
    cols = [columns] if isinstance(columns, str) else list(columns)
    if not all(isinstance(c, str) for c in cols):
        raise InvalidInputError(f"slice columns must be column names, got {cols!r}")
    if isinstance(max_values, bool) or not isinstance(max_values, int) or max_values < 1:
        raise InvalidInputError(f"max_values must be a positive integer, got {max_values!r}")
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise InvalidInputError(f"min_rows must be a positive integer, got {min_rows!r}")
    data = _slice_frame(frame, cols)
    results: list[SliceResult] = []
    if task == "classification":
        _check_threshold(threshold)
        lab = _prepare_classification(y_true, scores_or_pred, classes)
        rows, names = len(lab.y), _names(lab.binary)
    else:
        y, p = _prepare_regression(y_true, scores_or_pred)
        rows, names = len(y), REGRESSION_METRICS
    if len(data) != rows:
        raise InvalidInputError(f"the data has {len(data)} rows but y_true has {rows}")
    for col in cols:
        for label, idx in _groups(data[col], max_values):
            n = len(idx)
            if n < min_rows:
                metrics = _all_undefined(names, f"{n} rows, fewer than min_rows={min_rows}", n)
            elif task == "classification":
                metrics = _classification(lab.take(idx), threshold)
            else:
                metrics = _regression(y[idx], p[idx])
            results.append(SliceResult(column=col, value=label, rows=n, metrics=metrics))
    return results
