"""Evaluation plots as PNG bytes: ROC, precision-recall, confusion matrix, calibration, residuals.

Figures are drawn on a :class:`matplotlib.figure.Figure` with its own Agg canvas: pyplot is never
imported and the backend is never switched, so a user's matplotlib setup (a notebook, a GUI) is
left alone and nothing runs a display. Every PNG is 5x4 in at 100 dpi and written without the
"Software" tag, so the same inputs give byte-identical files (plots can be content-addressed).
matplotlib and scikit-learn are imported inside the functions.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from loopml.models._metrics import (
    ECE_BINS,
    _Labels,
    _prepare_classification,
    _prepare_regression,
    expected_calibration_error,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt
    from matplotlib.figure import Figure

__all__ = ["classification_plots", "regression_plots"]

DPI = 100
SIZE = (5.0, 4.0)  # inches
MAX_POINTS = 20_000  # scatter plots show a fixed sample of at most this many rows
MAX_ANNOTATED = 20  # confusion matrices with more classes have no numbers in the cells
LABEL_CHARS = 20
TITLE_SIZE = "medium"


def _figure() -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _text(value: Any, limit: int = LABEL_CHARS) -> str:
    """A label for a figure: cut to ``limit`` characters, ``$`` not read as mathtext."""
    s = str(value)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("$", r"\$")


# --- classification -------------------------------------------------------------------------


def _roc_binary(lab: _Labels) -> bytes:
    from sklearn.metrics import roc_auc_score, roc_curve

    is_pos = lab.y == 1
    p = lab.proba[:, 1]
    fpr, tpr, _ = roc_curve(is_pos, p)
    auc = float(roc_auc_score(is_pos, p))
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, lw=2, label=f"model (AUC = {auc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", lw=1, color="0.5", label="chance (AUC = 0.5)")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="False positive rate", ylabel="True positive rate")
    ax.set_title(f"ROC curve (positive class: {_text(lab.classes[1])})", size=TITLE_SIZE)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return _png(fig)


def _roc_multiclass(lab: _Labels) -> bytes:
    from sklearn.metrics import roc_auc_score, roc_curve

    n = len(lab.y)
    fig = _figure()
    ax = fig.add_subplot()
    for c, name in enumerate(lab.classes):
        is_c = lab.y == c
        if 0 < int(is_c.sum()) < n:
            fpr, tpr, _ = roc_curve(is_c, lab.proba[:, c])
            auc = float(roc_auc_score(is_c, lab.proba[:, c]))
            ax.plot(fpr, tpr, lw=1.5, label=f"{_text(name)} (AUC = {auc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", lw=1, color="0.5", label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="False positive rate", ylabel="True positive rate")
    ax.set_title("ROC curves, one class vs the rest", size=TITLE_SIZE)
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    return _png(fig)


def _pr(lab: _Labels) -> bytes:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    is_pos = lab.y == 1
    p = lab.proba[:, 1]
    precision, recall, _ = precision_recall_curve(is_pos, p)
    ap = float(average_precision_score(is_pos, p))
    prevalence = float(is_pos.mean())
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(recall, precision, lw=2, drawstyle="steps-post", label=f"model (AP = {ap:.3f})")
    ax.axhline(
        prevalence, ls="--", lw=1, color="0.5", label=f"chance (prevalence = {prevalence:.3f})"
    )
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="Recall", ylabel="Precision")
    ax.set_title(
        f"Precision-recall curve (positive class: {_text(lab.classes[1])})", size=TITLE_SIZE
    )
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    return _png(fig)


def _confusion(lab: _Labels, threshold: float) -> bytes:
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    k = len(lab.classes)
    if lab.binary:
        pred = (lab.proba[:, 1] >= threshold).astype(np.intp)
    else:
        pred = np.argmax(lab.proba, axis=1).astype(np.intp)
    cm = np.bincount(lab.y * k + pred, minlength=k * k).reshape(k, k)
    fig = _figure()
    ax = fig.add_subplot()
    im = ax.imshow(cm, cmap="Blues", vmin=0, interpolation="nearest", aspect="auto")
    bar = fig.colorbar(im, ax=ax, label="Rows")
    bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    names = [_text(c, 16) for c in lab.classes]
    ticks = list(range(k))
    ax.set_xticks(ticks, names, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(ticks, names)
    if k <= MAX_ANNOTATED:
        top = int(cm.max())
        size = "medium" if k <= 6 else "x-small"
        for i in range(k):
            for j in range(k):
                color = "white" if top and cm[i, j] > top / 2 else "black"
                ax.text(j, i, f"{cm[i, j]:,}", ha="center", va="center", color=color, size=size)
    ax.set(xlabel="Predicted class", ylabel="True class")
    rule = f", threshold {threshold:g}" if lab.binary else ""
    ax.set_title(f"Confusion matrix ({len(lab.y):,} rows{rule})", size=TITLE_SIZE)
    return _png(fig)


def _calibration(lab: _Labels) -> bytes:
    import numpy as np

    p = lab.proba[:, 1]
    y = (lab.y == 1).astype(np.float64)
    idx = np.searchsorted(np.linspace(0.0, 1.0, ECE_BINS + 1)[1:-1], p)
    counts = np.bincount(idx, minlength=ECE_BINS)
    full = counts > 0
    mean_p = np.bincount(idx, p, ECE_BINS)[full] / counts[full]
    frac = np.bincount(idx, y, ECE_BINS)[full] / counts[full]
    ece = expected_calibration_error(y, p)
    fig = _figure()
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1))
    ax = fig.add_subplot(grid[0])
    hist = fig.add_subplot(grid[1], sharex=ax)
    ax.plot([0, 1], [0, 1], ls="--", lw=1, color="0.5", label="perfectly calibrated")
    ax.plot(mean_p, frac, marker="o", lw=2, label=f"model (ECE = {ece:.3f})")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), ylabel="Fraction of positives")
    ax.set_title(
        f"Calibration, {ECE_BINS} bins (positive class: {_text(lab.classes[1])})",
        size=TITLE_SIZE,
    )
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    ax.tick_params(labelbottom=False)
    centers = (np.arange(ECE_BINS) + 0.5) / ECE_BINS
    hist.bar(centers, counts, width=0.9 / ECE_BINS, color="0.6")
    hist.set(xlabel="Predicted probability of the positive class", ylabel="Rows")
    return _png(fig)


def classification_plots(
    y_true: Any,
    scores: Any,
    *,
    classes: Sequence[Any] | None = None,
    threshold: float = 0.5,
) -> dict[str, bytes]:
    """PNGs by file name, for the inputs of :func:`~loopml.models._metrics.classification_metrics`.

    Binary: ``roc.png``, ``pr.png``, ``confusion.png`` (at ``threshold``) and
    ``calibration.png`` (reliability diagram, 10 bins, with the count of rows per bin).
    Multiclass: only ``confusion.png`` (most probable class) and ``roc.png`` with one
    one-vs-rest curve per class. A plot that is undefined for the data is left out: ROC
    needs two classes in ``y_true``, PR a positive row, and nothing is drawn for 0 rows.
    """
    from loopml.models._metrics import _check_threshold

    _check_threshold(threshold)
    lab = _prepare_classification(y_true, scores, classes)
    n = len(lab.y)
    if n == 0:
        return {}
    out: dict[str, bytes] = {}
    present = int((lab.y == 1).sum())
    if lab.binary:
        if 0 < present < n:
            out["roc.png"] = _roc_binary(lab)
        if present > 0:
            out["pr.png"] = _pr(lab)
        out["confusion.png"] = _confusion(lab, threshold)
        out["calibration.png"] = _calibration(lab)
    else:
        if len(set(lab.y.tolist())) >= 2:
            out["roc.png"] = _roc_multiclass(lab)
        out["confusion.png"] = _confusion(lab, threshold)
    return dict(sorted(out.items()))


# --- regression -----------------------------------------------------------------------------


def _sample(
    y: npt.NDArray[np.float64], p: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], str]:
    """At most MAX_POINTS rows, the same ones every time; a title suffix when sampled."""
    import numpy as np

    n = len(y)
    if n <= MAX_POINTS:
        return y, p, ""
    idx = np.sort(np.random.default_rng(0).choice(n, MAX_POINTS, replace=False))
    return y[idx], p[idx], f"\n({MAX_POINTS:,} of {n:,} rows shown)"


def _scatter_kwargs(n: int) -> dict[str, Any]:
    return {"s": 10 if n <= 2_000 else 4, "alpha": 0.6 if n <= 2_000 else 0.3, "linewidths": 0}


def regression_plots(y_true: Any, y_pred: Any) -> dict[str, bytes]:
    """``residuals.png`` (actual - predicted vs predicted) and ``predicted_vs_actual.png``.

    Above 20,000 rows a fixed random sample is drawn (the title says so). 0 rows: ``{}``.
    """
    y_all, p_all = _prepare_regression(y_true, y_pred)
    if len(y_all) == 0:
        return {}
    y, p, note = _sample(y_all, p_all)
    kw = _scatter_kwargs(len(y))

    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(p, y - p, **kw)
    ax.axhline(0.0, ls="--", lw=1, color="0.3")
    ax.set(xlabel="Predicted", ylabel="Residual (actual - predicted)")
    ax.set_title("Residuals" + note, size=TITLE_SIZE)
    ax.grid(alpha=0.3)
    residuals = _png(fig)

    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(y, p, **kw)
    lo = float(min(y.min(), p.min()))
    hi = float(max(y.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], ls="--", lw=1, color="0.3", label="predicted = actual")
    ax.set(xlabel="Actual", ylabel="Predicted")
    ax.set_title("Predicted vs actual" + note, size=TITLE_SIZE)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    versus = _png(fig)
    return {"predicted_vs_actual.png": versus, "residuals.png": residuals}
