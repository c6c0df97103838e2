"""Evaluation and gates: metrics equal scikit-learn's, plots and a model card on a run, and
the blessing of a candidate against thresholds, the champion and a clean-process check.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import loopml
from loopml._errors import InvalidInputError, NotFoundError
from loopml._workspace import Workspace, workspace
from loopml.data import datasets
from loopml.models import Evaluation, Gate, Verdict, evaluate, log_model, set_alias
from loopml.models._infra import infra_check

PLOTS = ["plots/calibration.png", "plots/confusion.png", "plots/pr.png", "plots/roc.png"]


# -- helpers ----------------------------------------------------------------------------------
def ws() -> Workspace:
    return workspace(create=True)


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    x, y = load_breast_cancer(as_frame=True, return_X_y=True)
    return x, y


@pytest.fixture(scope="module")
def frame(cancer: tuple[pd.DataFrame, pd.Series]) -> pd.DataFrame:
    """Features plus the truth (``target``) and a column to slice by (``size``)."""
    x, y = cancer
    size = np.where(x["mean radius"] > 15, "large", "small")
    return x.assign(target=y, size=size)


@pytest.fixture(scope="module")
def strong(cancer: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    x, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)


@pytest.fixture(scope="module")
def weak(cancer: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    """A model of one column: clearly worse than ``strong`` on every metric."""
    x, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(x[["mean radius"]], y)


def log_weak(weak: Pipeline, x: pd.DataFrame) -> int:
    return log_model(weak, "fraud", input_example=x[["mean radius"]].head(5)).version


def log_strong(strong: Pipeline, x: pd.DataFrame) -> int:
    return log_model(strong, "fraud", input_example=x.head(5)).version


def crown(version: int, frame: pd.DataFrame) -> None:
    """Bless ``version`` with a lenient gate and make it champion."""
    assert Gate({"roc_auc": ">= 0.5"}, target="target").check("fraud", version, dataset=frame)
    set_alias("fraud", "champion", version)


VS = {"roc_auc": "+0.005", "log_loss": "-0.0"}


# -- evaluate ---------------------------------------------------------------------------------
def test_classification_metrics_equal_scikit_learns_on_the_same_predictions(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, y = cancer
    log_strong(strong, x)

    result = evaluate("models:/fraud/1", frame, target="target")

    assert isinstance(result, Evaluation)
    assert (result.model, result.dataset, result.task, result.rows) == (
        "models:/fraud/1",
        "a DataFrame",
        "classification",
        len(frame),
    )
    proba = strong.predict_proba(x)[:, 1]
    predicted = (proba >= 0.5).astype(int)
    want = {
        "accuracy": sk.accuracy_score(y, predicted),
        "precision": sk.precision_score(y, predicted),
        "recall": sk.recall_score(y, predicted),
        "f1": sk.f1_score(y, predicted),
        "roc_auc": sk.roc_auc_score(y, proba),
        "pr_auc": sk.average_precision_score(y, proba),
        "log_loss": sk.log_loss(y, proba),
        "brier": sk.brier_score_loss(y, proba),
    }
    for name, value in want.items():
        assert result.metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    assert 0.0 <= (result.metrics["ece"] or 0.0) <= 1.0
    assert result.undefined == {}


def test_slices_have_the_metrics_of_their_rows(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, y = cancer
    log_strong(strong, x)

    result = evaluate("models:/fraud/1", frame, target="target", slices=["size"])

    by_value = {s["value"]: s for s in result.slices if s["column"] == "size"}
    assert sorted(by_value) == ["large", "small"]
    assert sum(s["rows"] for s in by_value.values()) == len(frame)
    for value, found in by_value.items():
        rows = frame["size"] == value
        assert found["rows"] == int(rows.sum())
        want = sk.accuracy_score(y[rows], strong.predict(x[rows]))
        assert found["metrics"]["values"]["accuracy"] == pytest.approx(want)


def test_an_evaluation_is_a_run_with_plots_metrics_and_a_model_card(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)

    result = evaluate("models:/fraud/1", frame, target="target", slices=["size"])

    run = loopml.get_run(result.run_id)
    assert run.status == "finished"
    assert run.tags["loopml.kind"] == "evaluation"
    assert run.tags["loopml.model"] == "models:/fraud/1"
    assert run.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    assert sorted(result.plots) == [p.removeprefix("plots/") for p in PLOTS]
    assert set(PLOTS) | {"evaluation.json", "model_card.md", "model_card.html"} <= set(
        run.artifacts
    )
    for plot in PLOTS:
        assert loopml.load_artifact(result.run_id, plot).startswith(b"\x89PNG\r\n\x1a\n")
    card = loopml.load_artifact(result.run_id, "model_card.md").decode()
    assert card.startswith("# Model card: fraud v1")
    assert "| ROC AUC | " in card
    assert "| large | " in card  # the slices are on the card
    html = loopml.load_artifact(result.run_id, "model_card.html").decode()
    assert html.lstrip().lower().startswith("<!doctype html")


def test_the_model_card_shows_when_the_version_was_created_as_a_date(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)

    result = evaluate("models:/fraud/1", frame, target="target")

    card = loopml.load_artifact(result.run_id, "model_card.md").decode()
    assert re.search(r"\| Created \| \d{4}-\d{2}-\d{2}", card), card[:400]


def test_a_gated_versions_card_shows_the_verdict(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)
    verdict = Gate({"roc_auc": ">= 0.9"}, target="target").check("fraud", 1, dataset=frame)

    result = evaluate("models:/fraud/1", frame, target="target")

    card = loopml.load_artifact(result.run_id, "model_card.md").decode()
    assert verdict.blessed is True
    assert "## Gate verdict\n\n**Blessed**\n\n- pass roc_auc 0.99" in card


def test_an_evaluation_of_a_registered_dataset_finds_its_target_role(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    data = datasets.register(frame.drop(columns=["size"]), "cancer", roles={"target": "target"})
    log_model(strong, "fraud", input_example=x.head(5), dataset=data)

    result = evaluate("models:/fraud/1", "cancer/1")

    assert result.dataset == "cancer/1"
    assert loopml.get_run(result.run_id).tags["loopml.dataset.id"] == data.id
    card = loopml.load_artifact(result.run_id, "model_card.md").decode()
    assert "cancer" in card


def test_a_regression_is_evaluated_with_regression_metrics(
    cancer: tuple[pd.DataFrame, pd.Series],
) -> None:
    x, _ = cancer
    features = x.drop(columns=["mean area"])
    model = LinearRegression().fit(features, x["mean area"])
    log_model(model, "area", input_example=features.head(5))

    result = evaluate("models:/area/1", x, target="mean area", task="regression")

    predicted = model.predict(features)
    assert result.metrics["mae"] == pytest.approx(sk.mean_absolute_error(x["mean area"], predicted))
    assert result.metrics["r2"] == pytest.approx(sk.r2_score(x["mean area"], predicted))
    assert sorted(result.plots) == ["predicted_vs_actual.png", "residuals.png"]


def test_a_missing_target_column_is_a_clear_error(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)

    with pytest.raises(InvalidInputError, match="target column 'label' is not in a DataFrame"):
        evaluate("models:/fraud/1", frame, target="label")
    with pytest.raises(InvalidInputError, match="pass target='column'"):
        evaluate("models:/fraud/1", frame)
    with pytest.raises(InvalidInputError, match="task='ranking'"):
        evaluate("models:/fraud/1", frame, target="target", task="ranking")
    with pytest.raises(InvalidInputError, match="'nosuch/1' is not registered"):
        evaluate("models:/fraud/1", "nosuch/1", target="target")
    assert loopml.search_runs() == []  # nothing was evaluated, so no run was recorded


# -- gates: construction ----------------------------------------------------------------------
@pytest.mark.parametrize("bound", [">> 0.8", "abc", "+x", "0.8", "= 0.8", ">= ", ">= 0.8 0.9"])
def test_a_bad_threshold_is_refused_when_the_gate_is_made(bound: str) -> None:
    with pytest.raises(InvalidInputError, match="threshold for 'roc_auc'") as info:
        Gate(thresholds={"roc_auc": bound})

    assert "'>= 0.85'" in str(info.value)


@pytest.mark.parametrize("delta", ["0.005", "++0.1", "+x", ">= 0.1", ""])
def test_a_bad_change_against_the_champion_is_refused_when_the_gate_is_made(delta: str) -> None:
    with pytest.raises(InvalidInputError, match="vs_champion for 'roc_auc'"):
        Gate(vs_champion={"roc_auc": delta})


def test_a_gate_describes_its_rules() -> None:
    gate = Gate({"roc_auc": ">=0.85", "log_loss": "< 0.3"}, VS, infra=True)

    assert gate.spec() == {
        "thresholds": {"roc_auc": ">= 0.85", "log_loss": "< 0.3"},
        "vs_champion": {"roc_auc": "+0.005", "log_loss": "-0.0"},
        "infra": True,
    }


# -- gates: verdicts --------------------------------------------------------------------------
def test_the_first_version_faces_the_thresholds_only(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)

    verdict = Gate({"roc_auc": ">= 0.9"}, VS, target="target").check("fraud", 1, dataset=frame)

    assert isinstance(verdict, Verdict)
    assert verdict.blessed is True
    assert verdict.champion is None
    assert verdict.champion_metrics == {}
    assert verdict.reasons[0].startswith("pass roc_auc 0.99")
    assert verdict.reasons[1] == "no champion yet: only the absolute thresholds apply"
    assert len(verdict.reasons) == 2


def test_a_threshold_that_is_not_met_fails_with_the_value_and_the_bound(
    weak: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_weak(weak, x)

    verdict = Gate({"roc_auc": ">= 0.99", "accuracy": "> 0.5"}, target="target").check(
        "fraud", 1, dataset=frame
    )

    assert verdict.blessed is False
    assert re.fullmatch(r"FAIL roc_auc 0\.9\d{3} is not >= 0\.99", verdict.reasons[0])
    assert verdict.reasons[1].startswith("pass accuracy")


def test_a_metric_the_task_does_not_have_fails_as_undefined(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)

    verdict = Gate({"mae": "< 1"}, target="target").check("fraud", 1, dataset=frame)

    assert verdict.blessed is False
    assert verdict.reasons == ["FAIL mae is undefined (not computed for this task); needs < 1.0"]


def test_a_candidate_worse_than_the_champion_is_not_blessed(
    strong: Pipeline, weak: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)
    crown(1, frame)
    log_weak(weak, x)

    verdict = Gate({"roc_auc": ">= 0.5"}, VS, target="target").check("fraud", 2, dataset=frame)

    assert verdict.blessed is False
    assert verdict.champion == 1
    assert verdict.reasons[0].startswith("pass roc_auc")
    auc = next(r for r in verdict.reasons if r.startswith("FAIL roc_auc"))
    assert re.fullmatch(
        r"FAIL roc_auc 0\.\d{4} vs champion v1 0\.99\d{2} \(change -0\.\d{4}, needs at least "
        r"\+0\.005\)",
        auc,
    ), auc
    loss = next(r for r in verdict.reasons if r.startswith("FAIL log_loss"))
    assert "(change +0." in loss
    assert "needs at most -0.0" in loss
    assert verdict.candidate_metrics["roc_auc"] < verdict.champion_metrics["roc_auc"]
    assert set(verdict.evaluations) == {"candidate", "champion"}
    with pytest.raises(InvalidInputError, match="failed its gate"):
        set_alias("fraud", "champion", 2)


def test_a_candidate_better_than_the_champion_is_blessed_and_becomes_champion(
    strong: Pipeline, weak: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_weak(weak, x)
    crown(1, frame)
    log_strong(strong, x)

    verdict = Gate({"roc_auc": ">= 0.9"}, VS, target="target").check("fraud", 2, dataset=frame)

    assert verdict.blessed is True, verdict.reasons
    assert [r.split()[0:2] for r in verdict.reasons] == [
        ["pass", "roc_auc"],
        ["pass", "roc_auc"],
        ["pass", "log_loss"],
    ]
    assert "vs champion v1" in verdict.reasons[1]
    assert set_alias("fraud", "champion", 2) == 2
    assert loopml.load_model("models:/fraud@champion").version == 2


def test_the_verdict_is_stored_on_the_version_and_in_the_history(
    strong: Pipeline, weak: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)
    crown(1, frame)
    log_weak(weak, x)
    gate = Gate({"roc_auc": ">= 0.5"}, VS, target="target")

    verdict = gate.check("fraud", 2, dataset=frame)

    record = ws().store.get_model_version("fraud", 2)
    assert record.blessed is False
    assert record.verdict is not None
    assert record.verdict["reasons"] == verdict.reasons
    assert record.verdict["champion"] == 1
    assert record.verdict["gate"] == gate.spec()
    assert record.verdict["candidate_metrics"]["roc_auc"] == pytest.approx(
        verdict.candidate_metrics["roc_auc"]
    )
    events = [e for e in ws().store.model_history("fraud") if e.kind == "gate_verdict"]
    assert [(e.version, e.payload["blessed"]) for e in events] == [(1, True), (2, False)]
    assert events[-1].payload["reasons"] == verdict.reasons


def test_gating_the_champion_again_faces_the_thresholds_only(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)
    crown(1, frame)

    verdict = Gate({"roc_auc": ">= 0.9"}, VS, target="target").check("fraud", 1, dataset=frame)

    assert verdict.blessed is True
    assert verdict.champion is None
    assert "no champion yet" in verdict.reasons[-1]


def test_a_gate_on_a_missing_version_is_not_found(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)

    with pytest.raises(NotFoundError, match="has no version 5"):
        Gate({"roc_auc": ">= 0.9"}, target="target").check("fraud", 5, dataset=frame)


# -- gates: the clean-process (infra) check ---------------------------------------------------
@pytest.mark.slow
def test_infra_passes_for_a_scikit_learn_model(
    strong: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, _ = cancer
    log_strong(strong, x)

    verdict = Gate({"roc_auc": ">= 0.9"}, infra=True, target="target").check(
        "fraud", 1, dataset=frame
    )

    assert verdict.blessed is True, verdict.reasons
    assert verdict.infra is not None
    assert verdict.infra["ok"] is True
    assert verdict.reasons[-1].startswith("pass infra: loads and predicts in a clean process")
    stored = ws().store.get_model_version("fraud", 1).verdict
    assert stored is not None
    assert stored["infra"]["ok"] is True


LOCAL_MODULE = """
import numpy as np


def shrink(x):
    return np.log1p(np.abs(x))
"""


@pytest.fixture
def local_module(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A module in the project folder (importable here, but no installed distribution)."""
    (project / "local_features.py").write_text(LOCAL_MODULE)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(project))
    yield importlib.import_module("local_features")
    sys.modules.pop("local_features", None)


@pytest.mark.slow
def test_infra_fails_clearly_when_the_requirements_miss_a_module_the_model_uses(
    local_module: Any, cancer: tuple[pd.DataFrame, pd.Series], frame: pd.DataFrame
) -> None:
    x, y = cancer
    model = make_pipeline(
        FunctionTransformer(local_module.shrink), LogisticRegression(max_iter=1000)
    ).fit(x, y)
    version = log_model(model, "fraud", input_example=x.head(5))
    record = ws().store.get_model_version("fraud", version.version)
    assert record.trusted_types == ["local_features.shrink"]
    manifest_requirements = loopml.load_model(version.uri).manifest["requirements"]
    assert not any("local" in r for r in manifest_requirements)

    verdict = Gate({"roc_auc": ">= 0.5"}, infra=True, target="target").check(
        "fraud", 1, dataset=frame
    )

    assert verdict.blessed is False
    assert verdict.reasons[0].startswith("pass roc_auc")
    assert verdict.reasons[-1] == (
        "FAIL infra: the clean process failed: ModuleNotFoundError: "
        "No module named 'local_features'"
    )
    assert not any("Traceback" in r for r in verdict.reasons)


@pytest.mark.slow
def test_infra_passes_for_a_lightgbm_classifier(cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    import lightgbm

    x, y = cancer
    model = lightgbm.LGBMClassifier(n_estimators=5, num_leaves=7, verbose=-1).fit(x, y)
    log_model(model, "lgbm", input_example=x.head(5))

    outcome = infra_check("lgbm", 1)

    assert outcome.ok, outcome.error


@pytest.mark.slow
def test_infra_passes_for_an_xgboost_classifier(cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    import xgboost

    x, y = cancer
    model = xgboost.XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1).fit(x, y)
    log_model(model, "xgb", input_example=x.head(5))

    outcome = infra_check("xgb", 1)

    assert outcome.ok, outcome.error
