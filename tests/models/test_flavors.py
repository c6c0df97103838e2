"""Flavors: each kind of model round-trips through the registry and predicts the same.

scikit-learn goes through skops (the trusted types decided at logging, kept in the store),
XGBoost through UBJSON, LightGBM through its text format, ONNX through ONNX Runtime; a
scikit-learn model can keep an ONNX copy when it predicts the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from loopml._errors import InvalidInputError
from loopml._workspace import Workspace, workspace
from loopml.models import load_model, log_model
from loopml.models._flavors import flavor_for, flavor_named
from loopml.models._flavors._onnx import OnnxModel, session

TREE = "sklearn.tree._tree.Tree"


# -- helpers ----------------------------------------------------------------------------------
def ws() -> Workspace:
    return workspace(create=True)


def manifest_of(name: str, version: int = 1) -> dict[str, Any]:
    record = ws().store.get_model_version(name, version)
    doc: dict[str, Any] = yaml.safe_load(ws().artifacts.get_bytes(record.bundle_digest))
    return doc


def file_bytes(name: str, file: str, version: int = 1) -> bytes:
    record = ws().store.get_model_version(name, version)
    return ws().artifacts.get_bytes(record.file(file).digest)


def same_proba(got: Any, want: Any) -> None:
    """Equal up to the last bits (the checked input is a new frame; BLAS may sum differently)."""
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    x, y = load_breast_cancer(as_frame=True, return_X_y=True)
    return x, y


@pytest.fixture(scope="module")
def pipe(cancer: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    x, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)


@pytest.fixture(scope="module")
def forest(cancer: tuple[pd.DataFrame, pd.Series]) -> RandomForestClassifier:
    x, y = cancer
    return RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(x, y)


@pytest.fixture(scope="module")
def xgb(cancer: tuple[pd.DataFrame, pd.Series]) -> Any:
    import xgboost

    x, y = cancer
    return xgboost.XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1).fit(x, y)


@pytest.fixture(scope="module")
def labels(cancer: tuple[pd.DataFrame, pd.Series]) -> np.ndarray:
    _, y = cancer
    return np.where(y.to_numpy() == 1, "benign", "malignant")


@pytest.fixture(scope="module")
def lgbm(cancer: tuple[pd.DataFrame, pd.Series]) -> Any:
    import lightgbm

    x, y = cancer
    return lightgbm.LGBMClassifier(n_estimators=5, num_leaves=7, verbose=-1).fit(x, y)


@pytest.fixture(scope="module")
def lgbm_text(cancer: tuple[pd.DataFrame, pd.Series], labels: np.ndarray) -> Any:
    import lightgbm

    x, _ = cancer
    return lightgbm.LGBMClassifier(n_estimators=5, num_leaves=7, verbose=-1).fit(x, labels)


@pytest.fixture(scope="module")
def onnx_proto(pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]) -> Any:
    from skl2onnx import to_onnx

    x, _ = cancer
    return to_onnx(pipe, x.head(1).to_numpy(np.float32), options={"zipmap": False})


# -- scikit-learn (skops) ---------------------------------------------------------------------
def test_a_sklearn_pipeline_round_trips_with_identical_predictions(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    version = log_model(pipe, "lr", input_example=x.head(5))

    loaded = load_model(version.uri)

    assert version.flavor == "sklearn"
    assert type(loaded.model) is Pipeline
    np.testing.assert_array_equal(loaded.predict(x), pipe.predict(x))
    same_proba(loaded.predict_proba(x), pipe.predict_proba(x))
    np.testing.assert_array_equal(loaded.model.predict_proba(x), pipe.predict_proba(x))
    assert ws().store.get_model_version("lr", 1).trusted_types == []
    assert manifest_of("lr")["trusted_types_at_logging"] == []


def test_a_random_forest_records_the_tree_type_as_trusted_in_the_store(
    forest: RandomForestClassifier, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    version = log_model(forest, "forest", input_example=x.head(5))

    record = ws().store.get_model_version("forest", version.version)
    assert record.trusted_types == [TREE]
    assert manifest_of("forest")["trusted_types_at_logging"] == [TREE]
    loaded = load_model(version.uri)
    np.testing.assert_array_equal(loaded.predict(x), forest.predict(x))
    np.testing.assert_array_equal(loaded.predict_proba(x), forest.predict_proba(x))


def test_the_skops_file_is_the_same_bytes_each_time_it_is_saved(
    forest: RandomForestClassifier,
) -> None:
    flavor = flavor_named("sklearn")

    first, trusted, meta = flavor.save(forest)
    again, _, _ = flavor.save(forest)

    assert first == again
    assert trusted == [TREE]
    assert meta == {
        "estimator": "sklearn.ensemble._forest.RandomForestClassifier",
        "classes": [0, 1],
    }
    assert sio.get_untrusted_types(data=first) == [TREE]


def test_the_skops_file_stored_is_the_one_skops_reads(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    log_model(pipe, "lr", input_example=x.head(5))

    model = sio.loads(file_bytes("lr", "model.skops"), trusted=[])

    np.testing.assert_array_equal(model.predict_proba(x), pipe.predict_proba(x))


# -- XGBoost, LightGBM, ONNX ------------------------------------------------------------------
def test_an_xgboost_classifier_round_trips_as_ubj(
    xgb: Any, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    version = log_model(xgb, "xgb", input_example=x.head(5))

    loaded = load_model(version.uri)

    assert version.flavor == "xgboost"
    assert [f.name for f in ws().store.get_model_version("xgb", 1).files] == [
        "input_example.json",
        "model.ubj",
        "model.yaml",
    ]
    manifest = manifest_of("xgb")
    assert manifest["format"] == "xgboost-ubj"
    assert any(r.startswith("xgboost==") for r in manifest["requirements"])
    assert type(loaded.model).__name__ == "XGBClassifier"
    np.testing.assert_array_equal(loaded.predict(x), xgb.predict(x))
    np.testing.assert_array_equal(loaded.predict_proba(x), xgb.predict_proba(x))


def test_a_lightgbm_classifier_round_trips_as_text(
    lgbm: Any, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    version = log_model(lgbm, "lgbm", input_example=x.head(5))

    loaded = load_model(version.uri)

    assert version.flavor == "lightgbm"
    assert file_bytes("lgbm", "model.lgb.txt").startswith(b"tree\n")
    assert manifest_of("lgbm")["meta"]["classes"] == [0, 1]
    np.testing.assert_array_equal(loaded.predict(x), lgbm.predict(x))
    np.testing.assert_allclose(loaded.predict_proba(x), lgbm.predict_proba(x), rtol=1e-12)


def test_a_lightgbm_classifier_with_string_labels_predicts_the_labels(
    lgbm_text: Any, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    version = log_model(lgbm_text, "lgbm-text", input_example=x.head(5))

    loaded = load_model(version.uri)

    assert manifest_of("lgbm-text")["meta"]["classes"] == ["benign", "malignant"]
    assert loaded.signature.to_dict()["classes"] == ["benign", "malignant"]
    predicted = loaded.predict(x)
    assert set(predicted) == {"benign", "malignant"}
    np.testing.assert_array_equal(predicted, lgbm_text.predict(x))
    np.testing.assert_allclose(loaded.predict_proba(x), lgbm_text.predict_proba(x), rtol=1e-12)


def test_an_onnx_model_round_trips_through_onnx_runtime(
    onnx_proto: Any, pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    version = log_model(onnx_proto, "onnx")

    loaded = load_model(version.uri)

    assert version.flavor == "onnx"
    assert file_bytes("onnx", "model.onnx") == onnx_proto.SerializeToString()
    assert isinstance(loaded.model, OnnxModel)
    direct = OnnxModel(session(onnx_proto.SerializeToString()))
    rows = x.to_numpy(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), direct.predict(rows))
    np.testing.assert_array_equal(loaded.predict_proba(x), direct.predict_proba(rows))
    np.testing.assert_array_equal(loaded.predict(x), pipe.predict(x))
    np.testing.assert_allclose(loaded.predict_proba(x), pipe.predict_proba(x), atol=1e-5)


def test_an_onnx_model_can_be_logged_with_an_input_example(
    onnx_proto: Any, pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    example = x.head(5).astype(np.float32)

    version = log_model(onnx_proto, "onnx", input_example=example)

    loaded = load_model(version.uri)
    assert loaded.signature is not None
    np.testing.assert_array_equal(loaded.predict(x), pipe.predict(x))


# -- an ONNX copy of a scikit-learn model -----------------------------------------------------
def test_to_onnx_keeps_a_copy_of_the_pipeline_that_predicts_the_same(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    version = log_model(pipe, "lr", input_example=x.head(20), to_onnx=True)

    manifest = manifest_of("lr")
    report = manifest["onnx"]
    assert report["kept"] is True
    assert report["max_abs_diff"] <= 1e-5
    assert report["tolerance"] == 1e-5
    assert report["rows_checked"] == 40  # the example and a held-out sample around it
    assert "model.onnx" in manifest["files"]
    assert any(r.startswith("onnxruntime==") for r in manifest["requirements"])
    assert version.flavor == "sklearn"  # the skops bundle is still the model
    copy = OnnxModel(session(file_bytes("lr", "model.onnx")))
    np.testing.assert_allclose(
        copy.predict_proba(x.to_numpy(np.float32)), pipe.predict_proba(x), atol=1e-5
    )
    np.testing.assert_array_equal(copy.predict(x.to_numpy(np.float32)), pipe.predict(x))


def test_to_onnx_reports_why_a_model_was_not_converted(
    cancer: tuple[pd.DataFrame, pd.Series],
) -> None:
    x, y = cancer
    model = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(x, y)

    log_model(model, "hgb", input_example=x.head(20), to_onnx=True)

    manifest = manifest_of("hgb")
    assert manifest["onnx"]["kept"] is False
    assert manifest["onnx"]["reason"]
    assert "model.onnx" not in manifest["files"]
    loaded = load_model("models:/hgb/1")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_to_onnx_without_an_input_example_keeps_nothing_and_says_why(pipe: Pipeline) -> None:
    log_model(pipe, "lr", to_onnx=True)

    assert manifest_of("lr")["onnx"] == {"kept": False, "reason": "to_onnx needs an input_example"}


# -- choosing a flavor ------------------------------------------------------------------------
def test_each_model_gets_its_flavor(
    pipe: Pipeline, xgb: Any, lgbm: Any, onnx_proto: Any, forest: RandomForestClassifier
) -> None:
    assert flavor_for(pipe).name == "sklearn"
    assert flavor_for(forest).name == "sklearn"
    assert flavor_for(xgb).name == "xgboost"
    assert flavor_for(lgbm).name == "lightgbm"
    assert flavor_for(onnx_proto).name == "onnx"
    assert flavor_for(pipe, "pyfunc").name == "pyfunc"


def test_a_flavor_that_cannot_save_the_model_is_refused(pipe: Pipeline) -> None:
    with pytest.raises(InvalidInputError, match="flavor='xgboost' cannot save"):
        log_model(pipe, "lr", flavor="xgboost")
    with pytest.raises(InvalidInputError, match="unknown model flavor 'joblib'"):
        log_model(pipe, "lr", flavor="joblib")
