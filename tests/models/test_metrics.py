"""Evaluation metrics: equal to scikit-learn on real data, undefined with a reason, never NaN."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize

from loopml._errors import InvalidInputError
from loopml.models._metrics import (
    CLASSIFICATION_METRICS,
    MISSING,
    OTHER,
    REGRESSION_METRICS,
    MetricsResult,
    SliceResult,
    classification_metrics,
    expected_calibration_error,
    regression_metrics,
    slice_metrics,
)

# --- real data ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cancer() -> dict[str, Any]:
    """Breast cancer: a real logistic regression, its test split and P(class 1)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_tr, y_tr)
    proba = model.predict_proba(X_te)
    return {"X": X_te.reset_index(drop=True), "y": y_te.to_numpy(), "proba": proba}


@pytest.fixture(scope="module")
def iris() -> dict[str, Any]:
    """Iris with string labels and a real multiclass logistic regression."""
    data = load_iris()
    names = np.asarray(data.target_names)[data.target]
    X_tr, X_te, y_tr, y_te = train_test_split(
        data.data, names, test_size=0.4, random_state=0, stratify=names
    )
    model = LogisticRegression(max_iter=1000).fit(X_tr, y_tr)
    return {"X": X_te, "y": y_te, "proba": model.predict_proba(X_te), "classes": model.classes_}


@pytest.fixture(scope="module")
def diabetes() -> dict[str, Any]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0)
    model = Ridge(alpha=0.1).fit(X_tr, y_tr)
    return {"X": X_te.reset_index(drop=True), "y": y_te.to_numpy(), "pred": model.predict(X_te)}


def loop_ece(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """ECE by hand: right-closed bins (b/10, (b+1)/10], the first one also holding 0."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for b in range(n_bins):
        members = [
            i
            for i in range(len(p))
            if p[i] <= edges[b + 1] and (p[i] > edges[b] or b == 0)
            # the last bin also takes anything the others did not (p == 1.0 is in it anyway)
        ]
        if not members:
            continue
        acc = sum(float(y[i]) for i in members) / len(members)
        conf = sum(float(p[i]) for i in members) / len(members)
        total += len(members) / len(p) * abs(acc - conf)
    return total


# --- binary ---------------------------------------------------------------------------------


def test_binary_metrics_equal_scikit_learn_on_breast_cancer(cancer: dict[str, Any]) -> None:
    y, p = cancer["y"], cancer["proba"][:, 1]
    pred = (p >= 0.5).astype(int)
    r = classification_metrics(y, p)
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "roc_auc": skm.roc_auc_score(y, p),
        "pr_auc": skm.average_precision_score(y, p),
        "log_loss": skm.log_loss(y, cancer["proba"]),
        "brier": skm.brier_score_loss(y, p),
    }
    for name, value in expected.items():
        assert r.values[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name
    assert list(r.values) == list(CLASSIFICATION_METRICS)
    assert r.rows == len(y)
    assert r.undefined == {}
    assert r.notes == []


def test_the_accuracy_at_threshold_one_half_equals_the_models_own_score(
    cancer: dict[str, Any],
) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_tr, y_tr)
    r = classification_metrics(y_te, model.predict_proba(X_te)[:, 1])
    assert r.values["accuracy"] == pytest.approx(model.score(X_te, y_te))


def test_a_two_column_probability_matrix_gives_the_same_metrics_as_its_second_column(
    cancer: dict[str, Any],
) -> None:
    one = classification_metrics(cancer["y"], cancer["proba"][:, 1])
    two = classification_metrics(cancer["y"], cancer["proba"])
    assert one == two


def test_string_labels_work_and_the_larger_label_is_the_positive_class(
    cancer: dict[str, Any],
) -> None:
    names = np.where(cancer["y"] == 1, "benign", "malignant")
    p_malignant = cancer["proba"][:, 0]
    r = classification_metrics(names, p_malignant)  # classes: benign < malignant
    pred = np.where(p_malignant >= 0.5, "malignant", "benign")
    assert r.values["precision"] == pytest.approx(
        skm.precision_score(names, pred, pos_label="malignant")
    )
    assert r.values["recall"] == pytest.approx(skm.recall_score(names, pred, pos_label="malignant"))
    assert r.values["roc_auc"] == pytest.approx(
        skm.roc_auc_score(names == "malignant", p_malignant)
    )


def test_classes_choose_the_positive_class(cancer: dict[str, Any]) -> None:
    names = pd.Series(np.where(cancer["y"] == 1, "benign", "malignant"))
    r = classification_metrics(names, cancer["proba"][:, 1], classes=["malignant", "benign"])
    pred = np.where(cancer["proba"][:, 1] >= 0.5, "benign", "malignant")
    assert r.values["f1"] == pytest.approx(skm.f1_score(names, pred, pos_label="benign"))
    assert r.values["log_loss"] == pytest.approx(skm.log_loss(cancer["y"], cancer["proba"]))


def test_the_threshold_moves_the_predictions_but_not_the_ranking_metrics(
    cancer: dict[str, Any],
) -> None:
    y, p = cancer["y"], cancer["proba"][:, 1]
    half = classification_metrics(y, p)
    strict = classification_metrics(y, p, threshold=0.9)
    assert strict.values["recall"] == pytest.approx(skm.recall_score(y, p >= 0.9))
    assert strict.values["recall"] != half.values["recall"]
    for name in ("roc_auc", "pr_auc", "log_loss", "ece", "brier"):
        assert strict.values[name] == half.values[name]


def test_roc_auc_of_a_one_class_slice_is_undefined_with_a_reason(
    cancer: dict[str, Any],
) -> None:
    y, p = cancer["y"], cancer["proba"][:, 1]
    ones = y == 1
    r = classification_metrics(y[ones], p[ones])  # filterwarnings=error: no warning either
    assert r.values["roc_auc"] is None
    assert "one class" in r.undefined["roc_auc"]
    assert r.values["pr_auc"] is not None
    assert r.values["accuracy"] == pytest.approx(float(np.mean(p[ones] >= 0.5)))
    assert r.values["log_loss"] is not None


def test_a_slice_without_positive_rows_has_no_recall_pr_auc_or_roc_auc(
    cancer: dict[str, Any],
) -> None:
    y, p = cancer["y"], cancer["proba"][:, 1]
    zeros = y == 0
    r = classification_metrics(y[zeros], p[zeros])
    for name in ("recall", "pr_auc", "roc_auc"):
        assert r.values[name] is None
        assert r.undefined[name]
    assert "positive class (1)" in r.undefined["recall"]
    # A few negatives are predicted positive: precision is defined, and 0.
    assert r.values["precision"] == 0.0
    assert r.values["f1"] == 0.0


def test_precision_is_undefined_when_nothing_is_predicted_positive() -> None:
    r = classification_metrics([0, 1, 0], [0.1, 0.2, 0.3])
    assert r.values["precision"] is None
    assert "predicted" in r.undefined["precision"]
    assert r.values["recall"] == 0.0
    assert r.values["f1"] == 0.0


def test_no_rows_leave_every_metric_undefined() -> None:
    r = classification_metrics([], np.zeros(0), classes=[0, 1])
    assert r.rows == 0
    assert all(v is None for v in r.values.values())
    assert set(r.undefined) == set(CLASSIFICATION_METRICS)
    assert regression_metrics([], []).undefined == dict.fromkeys(REGRESSION_METRICS, "no rows")


def test_values_are_plain_floats_that_serialise_to_json(iris: dict[str, Any]) -> None:
    r = classification_metrics(iris["y"], iris["proba"])
    for value in r.values.values():
        assert type(value) is float
        assert math.isfinite(value)
    assert json.loads(json.dumps(r.to_dict())) == r.to_dict()
    assert r.to_dict()["rows"] == len(iris["y"])


# --- multiclass -----------------------------------------------------------------------------


def test_multiclass_metrics_equal_scikit_learn_on_iris(iris: dict[str, Any]) -> None:
    y, proba, classes = iris["y"], iris["proba"], iris["classes"]
    pred = classes[np.argmax(proba, axis=1)]
    r = classification_metrics(y, proba)
    onehot = label_binarize(y, classes=classes)
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, average="macro"),
        "recall": skm.recall_score(y, pred, average="macro"),
        "f1": skm.f1_score(y, pred, average="macro"),
        "roc_auc": skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"),
        "pr_auc": skm.average_precision_score(onehot, proba, average="macro"),
        "log_loss": skm.log_loss(y, proba, labels=classes),
    }
    for name, value in expected.items():
        assert r.values[name] == pytest.approx(value, rel=1e-12), name
    assert "brier" not in r.values
    assert list(r.values) == list(CLASSIFICATION_METRICS[:-1])


def test_multiclass_ece_uses_the_top_label_confidence(iris: dict[str, Any]) -> None:
    y, proba, classes = iris["y"], iris["proba"], iris["classes"]
    conf = proba.max(axis=1)
    correct = (classes[np.argmax(proba, axis=1)] == y).astype(float)
    r = classification_metrics(y, proba)
    assert r.values["ece"] == pytest.approx(loop_ece(correct, conf), abs=1e-12)


def test_a_multiclass_slice_missing_a_class_averages_over_the_classes_it_has(
    iris: dict[str, Any],
) -> None:
    y, proba, classes = iris["y"], iris["proba"], iris["classes"]
    keep = y != "setosa"
    r = classification_metrics(y[keep], proba[keep], classes=classes)
    per_class = [
        skm.roc_auc_score(y[keep] == c, proba[keep][:, i])
        for i, c in enumerate(classes)
        if c != "setosa"
    ]
    assert r.values["roc_auc"] == pytest.approx(np.mean(per_class))
    assert any(n.startswith("roc_auc: macro average over 2 of 3") for n in r.notes)
    assert any("'setosa'" in n for n in r.notes)
    pred = classes[np.argmax(proba[keep], axis=1)]
    # Same as scikit-learn when undefined per-class values are left out of the mean.
    assert r.values["recall"] == pytest.approx(
        skm.recall_score(y[keep], pred, labels=classes, average="macro", zero_division=np.nan)
    )


def test_a_multiclass_slice_of_one_class_has_no_roc_auc(iris: dict[str, Any]) -> None:
    y, proba, classes = iris["y"], iris["proba"], iris["classes"]
    keep = y == "virginica"
    r = classification_metrics(y[keep], proba[keep], classes=classes)
    assert r.values["roc_auc"] is None
    assert r.undefined["roc_auc"] == "only one class in y_true ('virginica')"


def test_a_slice_that_lacks_a_class_needs_classes_to_line_up_the_score_columns(
    iris: dict[str, Any],
) -> None:
    keep = iris["y"] != "setosa"
    with pytest.raises(InvalidInputError, match="pass classes="):
        classification_metrics(iris["y"][keep], iris["proba"][keep])


# --- ECE ------------------------------------------------------------------------------------


def test_ece_reproduces_the_design_note_value_for_gaussian_nb() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    p = GaussianNB().fit(X_tr, y_tr).predict_proba(X_te)[:, 1]
    assert classification_metrics(y_te, p).values["ece"] == pytest.approx(0.063743, abs=5e-7)


def test_ece_equals_a_loop_and_the_calibration_curve_of_scikit_learn(
    cancer: dict[str, Any],
) -> None:
    y, p = cancer["y"], cancer["proba"][:, 1]
    ece = classification_metrics(y, p).values["ece"]
    assert ece == pytest.approx(loop_ece(y, p), abs=1e-12)
    # calibration_curve drops empty bins and returns no counts: recount them with its edges.
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10)
    idx = np.searchsorted(np.linspace(0, 1, 11)[1:-1], p)
    counts = np.bincount(idx, minlength=10)
    counts = counts[counts > 0]
    rebuilt = float(np.sum(counts / len(p) * np.abs(prob_true - prob_pred)))
    assert ece == pytest.approx(rebuilt, abs=1e-12)


def test_ece_puts_a_probability_on_a_bin_edge_in_the_lower_bin() -> None:
    # 0.3 is the right edge of (0.2, 0.3]; with 0.31 it would share a bin and cancel out.
    y = np.array([1.0, 0.0])
    p = np.array([0.3, 0.31])
    assert expected_calibration_error(y, p) == pytest.approx(loop_ece(y, p))
    assert expected_calibration_error(y, p) == pytest.approx((0.7 + 0.31) / 2)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.floats(min_value=0.0, max_value=1.0)),
        min_size=1,
        max_size=200,
    )
)
def test_ece_is_between_zero_and_one_and_matches_the_loop(rows: list[tuple[bool, float]]) -> None:
    y = np.array([float(a) for a, _ in rows])
    p = np.array([b for _, b in rows])
    ece = expected_calibration_error(y, p)
    assert 0.0 <= ece <= 1.0
    assert ece == pytest.approx(loop_ece(y, p), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.integers(min_value=1, max_value=30).flatmap(
            lambda m: st.tuples(st.just(m), st.integers(min_value=0, max_value=m))
        ),
        min_size=1,
        max_size=15,
    )
)
def test_ece_is_zero_when_every_bin_is_perfectly_calibrated(
    groups: list[tuple[int, int]],
) -> None:
    # Each group: m rows predicted k/m, k of them positive. Bins hold whole groups, so in
    # every bin the positives add up to the predicted probabilities.
    y: list[float] = []
    p: list[float] = []
    for m, k in groups:
        y += [1.0] * k + [0.0] * (m - k)
        p += [k / m] * m
    assert expected_calibration_error(np.array(y), np.array(p)) == pytest.approx(0.0, abs=1e-9)


# --- bad input ------------------------------------------------------------------------------


def test_labels_that_are_not_among_the_classes_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="'maybe'"):
        classification_metrics(["yes", "no", "maybe"], [0.9, 0.1, 0.5], classes=["no", "yes"])


def test_missing_labels_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="1 missing labels"):
        classification_metrics(np.array(["a", None, "b"], dtype=object), [0.2, 0.4, 0.6])


def test_decision_function_scores_are_refused_with_a_hint() -> None:
    with pytest.raises(InvalidInputError, match="predict_proba"):
        classification_metrics([0, 1], [-2.0, 3.0])


def test_probability_rows_must_sum_to_one() -> None:
    with pytest.raises(InvalidInputError, match=r"row 1 sums to 1\.4"):
        classification_metrics([0, 1], [[0.3, 0.7], [0.6, 0.8]])


def test_three_labels_with_one_probability_per_row_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="3 classes"):
        classification_metrics(["a", "b", "c"], [0.1, 0.5, 0.9])


def test_a_one_class_string_target_needs_classes_to_know_the_positive_class() -> None:
    with pytest.raises(InvalidInputError, match="classes="):
        classification_metrics(["spam", "spam"], [0.9, 0.8])
    r = classification_metrics(["spam", "spam"], [0.9, 0.8], classes=["ham", "spam"])
    assert r.values["recall"] == 1.0
    assert r.values["roc_auc"] is None


def test_lengths_must_agree() -> None:
    with pytest.raises(InvalidInputError, match="3 rows but scores has 2"):
        classification_metrics([0, 1, 1], [0.1, 0.2])
    with pytest.raises(InvalidInputError, match="2 rows but y_pred has 1"):
        regression_metrics([1.0, 2.0], [1.0])


def test_a_threshold_outside_zero_one_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="threshold"):
        classification_metrics([0, 1], [0.1, 0.9], threshold=1.5)


# --- regression -----------------------------------------------------------------------------


def test_regression_metrics_equal_scikit_learn_on_diabetes(diabetes: dict[str, Any]) -> None:
    y, pred = diabetes["y"], diabetes["pred"]
    r = regression_metrics(y, pred)
    assert r.values["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-12)
    assert r.values["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), rel=1e-12)
    assert r.values["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-12)
    assert r.values["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, pred), rel=1e-12)
    assert list(r.values) == list(REGRESSION_METRICS)
    assert r.notes == [] and r.undefined == {}


def test_mape_leaves_out_zero_targets_and_says_how_many_rows() -> None:
    y = np.array([0.0, 1.0, 2.0, 0.0, 4.0])
    pred = np.array([0.1, 1.5, 2.0, 3.0, 3.0])
    r = regression_metrics(y, pred)
    nonzero = y != 0
    assert r.values["mape"] == pytest.approx(
        skm.mean_absolute_percentage_error(y[nonzero], pred[nonzero])
    )
    assert r.notes == ["mape: left out 2 of 5 rows whose target is 0"]
    only_zero = regression_metrics([0.0, 0.0], [1.0, 2.0])
    assert only_zero.values["mape"] is None
    assert only_zero.undefined["mape"] == "every target is 0"


def test_r2_is_undefined_for_one_row_and_for_a_constant_target() -> None:
    one = regression_metrics([3.0], [2.0])
    assert one.values["r2"] is None
    assert one.undefined["r2"] == "fewer than 2 rows"
    assert one.values["mae"] == 1.0
    flat = regression_metrics([5.0, 5.0, 5.0], [4.0, 5.0, 6.0])
    assert flat.values["r2"] is None
    assert "constant" in flat.undefined["r2"]


def test_regression_refuses_missing_and_non_numeric_values() -> None:
    with pytest.raises(InvalidInputError, match="y_true has 1 missing"):
        regression_metrics([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(InvalidInputError, match="y_pred must be numbers"):
        regression_metrics([1.0, 2.0], ["a", "b"])


# --- slices ---------------------------------------------------------------------------------


def with_groups(cancer: dict[str, Any]) -> pd.DataFrame:
    frame = cancer["X"].copy()
    n = len(frame)
    frame["site"] = np.array(["north", "south", "east"])[np.arange(n) % 3]
    radius = frame["mean radius"].copy()
    radius[::10] = np.nan
    frame["radius_with_gaps"] = radius
    frame["visits"] = np.arange(n) % 4
    return frame


def test_slices_of_a_text_column_equal_the_metrics_of_their_rows(cancer: dict[str, Any]) -> None:
    frame = with_groups(cancer)
    y, proba = cancer["y"], cancer["proba"]
    out = slice_metrics(frame, y, proba, ["site"], task="classification")
    assert [(s.value, s.rows) for s in out] == [("north", 48), ("south", 48), ("east", 47)]
    for s in out:
        rows = (frame["site"] == s.value).to_numpy()
        assert isinstance(s, SliceResult)
        assert s.column == "site" and s.rows == int(rows.sum())
        assert s.metrics == classification_metrics(y[rows], proba[rows])


def test_a_column_with_nulls_gets_a_missing_slice(cancer: dict[str, Any]) -> None:
    frame = with_groups(cancer)
    out = slice_metrics(
        frame, cancer["y"], cancer["proba"], "radius_with_gaps", task="classification"
    )
    missing = [s for s in out if s.value == MISSING]
    assert len(missing) == 1
    assert missing[0].rows == int(frame["radius_with_gaps"].isna().sum())
    assert out[-1].value == MISSING
    assert sum(s.rows for s in out) == len(frame)


def test_a_continuous_column_gets_four_quantile_bins(cancer: dict[str, Any]) -> None:
    frame = with_groups(cancer)
    col = frame["mean radius"]
    out = slice_metrics(frame, cancer["y"], cancer["proba"], ["mean radius"], task="classification")
    assert len(out) == 4
    assert all(s.value.startswith("[") for s in out)
    assert all(s.value.endswith(")") for s in out[:-1]) and out[-1].value.endswith("]")
    assert out[0].value.startswith(f"[{col.min():.6g}, ")
    assert out[-1].value.endswith(f", {col.max():.6g}]")
    assert [s.rows for s in out] == [36, 36, 36, 35]  # 143 rows, about a quarter each
    # Each bin holds the rows from its left edge (included) to its right edge (excluded).
    for s in out[:-1]:
        lo, hi = (float(x) for x in s.value[1:-1].split(", "))
        assert s.rows == int(((col >= lo) & (col < hi)).sum())


def test_a_value_that_fills_most_rows_gives_fewer_bins() -> None:
    values = [0.0] * 90 + [0.5 + i / 10 for i in range(10)]
    frame = pd.DataFrame({"spend": values})
    y = np.arange(100, dtype=float)
    out = slice_metrics(frame, y, y, "spend", task="regression")
    assert [(s.value, s.rows) for s in out] == [("[0.0, 0.5)", 90), ("[0.5, 1.4]", 10)]


def test_a_numeric_column_of_few_fractional_values_gets_one_slice_per_value() -> None:
    frame = pd.DataFrame({"dose": [0.5, 0.25, 0.5, 0.75, 0.25, 0.5]})
    y = np.arange(6, dtype=float)
    out = slice_metrics(frame, y, y, "dose", task="regression")
    assert [(s.value, s.rows) for s in out] == [("0.25", 2), ("0.5", 3), ("0.75", 1)]


def test_an_integer_column_with_few_values_gets_one_slice_per_value(
    cancer: dict[str, Any],
) -> None:
    frame = with_groups(cancer)
    out = slice_metrics(frame, cancer["y"], cancer["proba"], ["visits"], task="classification")
    assert [s.value for s in out] == ["0", "1", "2", "3"]
    assert [s.rows for s in out] == [int((frame["visits"] == v).sum()) for v in range(4)]


def test_whole_number_floats_with_nulls_are_sliced_by_value() -> None:
    frame = pd.DataFrame({"children": [0.0, 1.0, None, 2.0, 1.0, 0.0]})
    out = slice_metrics(
        frame, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.1, 2.0, 2.9, 4.2, 5.0, 6.5], "children",
        task="regression",
    )  # fmt: skip
    assert [(s.value, s.rows) for s in out] == [("0", 2), ("1", 2), ("2", 1), (MISSING, 1)]
    assert out[0].metrics.values["mae"] == pytest.approx(0.3)


def test_rare_values_beyond_max_values_are_grouped_as_other() -> None:
    values = ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d", "e"]
    frame = pd.DataFrame({"country": values})
    y = np.arange(len(values), dtype=float)
    out = slice_metrics(frame, y, y + 1.0, ["country"], task="regression", max_values=2)
    assert [(s.value, s.rows) for s in out] == [("a", 5), ("b", 4), (OTHER, 5)]


def test_slices_smaller_than_min_rows_are_listed_with_every_metric_undefined() -> None:
    frame = pd.DataFrame({"g": ["x"] * 5 + ["y"]})
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    out = slice_metrics(frame, y, y, "g", task="regression", min_rows=3)
    small = out[1]
    assert (small.value, small.rows) == ("y", 1)
    assert all(v is None for v in small.metrics.values.values())
    assert small.metrics.undefined["mae"] == "1 rows, fewer than min_rows=3"
    assert out[0].metrics.values["mae"] == 0.0


def test_a_one_class_slice_keeps_the_classes_of_the_whole_data() -> None:
    frame = pd.DataFrame({"g": ["a", "a", "b", "b"]})
    y = ["spam", "ham", "spam", "spam"]
    out = slice_metrics(frame, y, [0.8, 0.3, 0.6, 0.4], ["g"], task="classification")
    b = next(s for s in out if s.value == "b")
    assert b.metrics.values["roc_auc"] is None
    assert b.metrics.undefined["roc_auc"] == "only one class in y_true ('spam')"
    assert b.metrics.values["recall"] == 0.5


def test_a_missing_slice_column_is_named_with_the_available_columns(
    cancer: dict[str, Any],
) -> None:
    frame = with_groups(cancer)[["site", "visits"]]
    with pytest.raises(InvalidInputError) as err:
        slice_metrics(
            frame, cancer["y"], cancer["proba"], ["site", "region"], task="classification"
        )
    assert "'region'" in str(err.value)
    assert "available columns: site, visits" in str(err.value)


def test_an_unknown_task_is_refused_clearly(cancer: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="task must be 'classification' or 'regression'"):
        slice_metrics(cancer["X"], cancer["y"], cancer["proba"], ["mean radius"], task="ranking")


def test_the_data_must_have_as_many_rows_as_the_labels(cancer: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="rows but y_true has"):
        slice_metrics(
            cancer["X"].iloc[:10], cancer["y"], cancer["proba"], ["mean radius"],
            task="classification",
        )  # fmt: skip


def test_regression_slices_equal_the_metrics_of_their_rows(diabetes: dict[str, Any]) -> None:
    frame = diabetes["X"]
    y, pred = diabetes["y"], diabetes["pred"]
    out = slice_metrics(frame, y, pred, ["sex", "bmi"], task="regression")
    sexes = [s for s in out if s.column == "sex"]
    assert len(sexes) == 2  # two distinct standardised values: one slice each
    assert [len(s.value) for s in sexes] == [10, 9]  # "-0.0446416", "0.0506801"
    for s in out:
        assert s.metrics.rows == s.rows
    assert sum(s.rows for s in out if s.column == "bmi") == len(frame)
    first = out[0]
    assert first.metrics.values["mae"] is not None


def test_a_polars_frame_slices_like_a_pandas_frame(cancer: dict[str, Any]) -> None:
    import polars as pl

    frame = with_groups(cancer)[["site", "radius_with_gaps"]]
    from_pandas = slice_metrics(
        frame, cancer["y"], cancer["proba"], ["site", "radius_with_gaps"], task="classification"
    )
    from_polars = slice_metrics(
        pl.from_pandas(frame),
        cancer["y"],
        cancer["proba"],
        ["site", "radius_with_gaps"],
        task="classification",
    )
    assert [s.to_dict() for s in from_polars] == [s.to_dict() for s in from_pandas]


def test_a_pandas_index_does_not_matter_rows_line_up_by_position(cancer: dict[str, Any]) -> None:
    frame = with_groups(cancer)
    shuffled_index = frame.set_index(np.arange(len(frame))[::-1] * 7)
    a = slice_metrics(frame, cancer["y"], cancer["proba"], ["site"], task="classification")
    b = slice_metrics(shuffled_index, cancer["y"], cancer["proba"], ["site"], task="classification")
    assert a == b


def test_slice_results_serialise_to_json(cancer: dict[str, Any]) -> None:
    frame = with_groups(cancer)
    out = slice_metrics(frame, cancer["y"], cancer["proba"], ["site"], task="classification")
    d = out[0].to_dict()
    assert set(d) == {"column", "value", "rows", "metrics"}
    assert json.loads(json.dumps(d)) == d
    assert MetricsResult(**{**d["metrics"]}) == out[0].metrics


@settings(max_examples=50, deadline=None)
@given(
    st.one_of(
        st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), max_size=60),
        st.lists(st.one_of(st.none(), st.integers(-5, 5)), max_size=60),
        st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e"])), max_size=60),
    ),
    st.integers(min_value=1, max_value=6),
)
def test_slice_row_counts_always_add_up_to_the_total(values: list[Any], max_values: int) -> None:
    frame = pd.DataFrame({"col": pd.Series(values, dtype=object if values else float)})
    if values and all(v is None or isinstance(v, float) for v in values):
        frame["col"] = frame["col"].astype(float)
    y = np.arange(len(values), dtype=float)
    out = slice_metrics(frame, y, y, ["col"], task="regression", max_values=max_values)
    assert sum(s.rows for s in out) == len(values)
    assert len({s.value for s in out}) == len(out)
    assert all(s.rows > 0 for s in out)


def test_importing_the_metrics_module_loads_neither_sklearn_nor_matplotlib() -> None:
    code = (
        "import sys, loopml.models._metrics\n"
        "print(sorted(m for m in ('sklearn', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_regression_accepts_pandas_nullable_columns() -> None:
    r = regression_metrics(pd.Series([1, 3], dtype="Int64"), pd.Series([1.0, 2.0]))
    assert r.values["mae"] == 0.5
    with pytest.raises(InvalidInputError, match="y_true has 1 missing"):
        regression_metrics(pd.Series([1.0, None], dtype="Float64"), [1.0, 2.0])
