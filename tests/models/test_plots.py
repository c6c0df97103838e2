"""Evaluation plots: real PNGs, 500x400 px, byte-identical on every call, pyplot left alone."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loopml._errors import InvalidInputError
from loopml.models._plots import classification_plots, regression_plots

PNG = b"\x89PNG\r\n\x1a\n"


def size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk."""
    assert png[12:16] == b"IHDR"
    w, h = struct.unpack(">II", png[16:24])
    return w, h


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_tr, y_tr)
    return y_te, model.predict_proba(X_te)


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    data = load_iris()
    names = np.asarray(data.target_names)[data.target]
    model = LogisticRegression(max_iter=1000).fit(data.data, names)
    return names, model.predict_proba(data.data)


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_diabetes(return_X_y=True)
    return y, Ridge(alpha=0.1).fit(X, y).predict(X)


def test_binary_plots_are_four_pngs_of_five_by_four_inches(cancer: Any) -> None:
    y, proba = cancer
    plots = classification_plots(y, proba[:, 1])
    assert sorted(plots) == ["calibration.png", "confusion.png", "pr.png", "roc.png"]
    for name, png in plots.items():
        assert png.startswith(PNG), name
        assert size(png) == (500, 400), name
        assert 5_000 < len(png) < 200_000, name


def test_plots_are_byte_identical_on_two_calls(cancer: Any, diabetes: Any) -> None:
    assert classification_plots(*cancer) == classification_plots(*cancer)
    assert regression_plots(*diabetes) == regression_plots(*diabetes)


def test_plots_carry_no_software_tag() -> None:
    plots = classification_plots([0, 1, 1, 0], [0.2, 0.7, 0.9, 0.4])
    for png in plots.values():
        assert b"Software" not in png
        assert b"matplotlib" not in png.lower()


def test_different_scores_give_different_plots(cancer: Any) -> None:
    y, proba = cancer
    a = classification_plots(y, proba[:, 1])
    b = classification_plots(y, np.sqrt(proba[:, 1]))
    assert a["calibration.png"] != b["calibration.png"]


def test_multiclass_gives_only_a_confusion_matrix_and_one_vs_rest_roc(iris: Any) -> None:
    names, proba = iris
    plots = classification_plots(names, proba)
    assert sorted(plots) == ["confusion.png", "roc.png"]
    assert all(p.startswith(PNG) for p in plots.values())


def test_plots_that_need_two_classes_are_left_out_for_a_one_class_slice(cancer: Any) -> None:
    y, proba = cancer
    ones = y == 1
    plots = classification_plots(y[ones], proba[ones, 1])
    assert sorted(plots) == ["calibration.png", "confusion.png", "pr.png"]
    zeros = y == 0
    assert sorted(classification_plots(y[zeros], proba[zeros, 1])) == [
        "calibration.png",
        "confusion.png",
    ]


def test_no_rows_give_no_plots() -> None:
    assert classification_plots([], np.zeros(0), classes=[0, 1]) == {}
    assert regression_plots([], []) == {}


def test_string_labels_with_a_dollar_sign_are_drawn_as_text() -> None:
    y = ["$0", "$100+", "$100+", "$0", "$100+"]
    plots = classification_plots(y, [0.2, 0.8, 0.6, 0.4, 0.3])
    assert sorted(plots) == ["calibration.png", "confusion.png", "pr.png", "roc.png"]


def test_classification_plots_check_their_inputs() -> None:
    with pytest.raises(InvalidInputError, match="probabilities"):
        classification_plots([0, 1], [-1.0, 2.0])
    with pytest.raises(InvalidInputError, match="threshold"):
        classification_plots([0, 1], [0.1, 0.9], threshold=2)


def test_regression_gives_residuals_and_predicted_vs_actual(diabetes: Any) -> None:
    plots = regression_plots(*diabetes)
    assert sorted(plots) == ["predicted_vs_actual.png", "residuals.png"]
    for png in plots.values():
        assert png.startswith(PNG)
        assert size(png) == (500, 400)


def test_a_large_regression_is_drawn_from_a_fixed_sample() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=30_000)
    pred = y + rng.normal(scale=0.3, size=30_000)
    first = regression_plots(y, pred)
    assert first == regression_plots(y, pred)
    assert all(p.startswith(PNG) for p in first.values())


def test_plotting_neither_imports_pyplot_nor_changes_the_backend() -> None:
    code = textwrap.dedent(
        """
        import sys
        import matplotlib
        matplotlib.use("svg")
        from loopml.models._plots import classification_plots, regression_plots
        classification_plots([0, 1, 1, 0], [0.2, 0.7, 0.9, 0.4])
        regression_plots([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])
        print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["svg", "False"]
