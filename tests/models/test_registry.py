"""The model registry: log_model, bundles and manifests, aliases, the champion rule, approvals,
the history, and MLflow imports.

Every test runs in its own empty project folder (the autouse ``project`` fixture); the fitted
models are shared per module, the registry is not.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml._errors import ConflictError, InvalidInputError, NotFoundError
from loopml._workspace import Workspace, workspace
from loopml.data import datasets
from loopml.models import (
    Gate,
    ModelVersion,
    approve,
    get_model_version,
    import_mlflow,
    log_model,
    reject,
    set_alias,
)

FIXTURES = Path(__file__).parent / "fixtures" / "mlflow"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
TREE = "sklearn.tree._tree.Tree"


# -- helpers ----------------------------------------------------------------------------------
def ws() -> Workspace:
    return workspace(create=True)


def manifest_of(name: str, version: int) -> dict[str, Any]:
    record = ws().store.get_model_version(name, version)
    doc: dict[str, Any] = yaml.safe_load(ws().artifacts.get_bytes(record.bundle_digest))
    return doc


def history_kinds(name: str) -> list[str]:
    return [e.kind for e in ws().store.model_history(name)]


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    x, y = load_breast_cancer(as_frame=True, return_X_y=True)
    return x, y


@pytest.fixture(scope="module")
def pipe(cancer: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    x, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)


@pytest.fixture(scope="module")
def small_pipe(cancer: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    """A second, different model of the same data (fewer iterations, stronger penalty)."""
    x, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000)).fit(x, y)


def two_versions(pipe: Pipeline, small_pipe: Pipeline, x: pd.DataFrame) -> None:
    log_model(pipe, "fraud", input_example=x.head(5))
    log_model(small_pipe, "fraud", input_example=x.head(5))


def bless(name: str, version: int, x: pd.DataFrame, y: pd.Series, bound: str = ">= 0.5") -> bool:
    frame = x.assign(target=y)
    verdict = Gate(thresholds={"roc_auc": bound}, target="target").check(
        name, version, dataset=frame
    )
    return verdict.blessed


# -- log_model --------------------------------------------------------------------------------
def test_log_model_returns_the_first_version_with_its_uri(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    version = log_model(pipe, "fraud", input_example=x.head(5))

    assert isinstance(version, ModelVersion)
    assert version.name == "fraud"
    assert version.version == 1
    assert version.uri == "models:/fraud/1"
    assert version.flavor == "sklearn"
    assert version.created is True
    assert version.approval == "pending"
    assert version.blessed is None
    assert version.bundle_digest.startswith("sha256:")
    assert "models:/fraud/1" in repr(version)


def test_the_bundle_holds_the_manifest_the_model_file_and_the_input_example(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    version = log_model(pipe, "fraud", input_example=x.head(5))

    record = ws().store.get_model_version("fraud", version.version)
    assert sorted(f.name for f in record.files) == [
        "input_example.json",
        "model.skops",
        "model.yaml",
    ]
    assert record.file("model.yaml").digest == version.bundle_digest
    manifest = manifest_of("fraud", 1)
    for name, entry in manifest["files"].items():
        assert record.file(name).digest == entry["digest"]
        assert record.file(name).size == entry["size"]
    example = json.loads(ws().artifacts.get_bytes(record.file("input_example.json").digest))
    assert example["columns"] == list(x.columns)
    assert len(example["data"]) == 5


def test_the_manifest_lists_flavor_pinned_requirements_lock_and_signature(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    from importlib.metadata import version as installed

    x, _ = cancer
    log_model(pipe, "fraud", input_example=x.head(5), metrics={"auc": 0.99})

    manifest = manifest_of("fraud", 1)
    assert manifest["flavor"] == "sklearn"
    assert manifest["format"] == "skops"
    assert manifest["model_file"] == "model.skops"
    assert manifest["loopml_version"] == loopml.__version__
    assert f"scikit-learn=={installed('scikit-learn')}" in manifest["requirements"]
    assert f"skops=={installed('skops')}" in manifest["requirements"]
    assert all("==" in r for r in manifest["requirements"])
    # The lock is the closure: every requirement, and what they need (joblib for sklearn).
    assert set(manifest["requirements"]) <= set(manifest["lock"])
    assert any(pin.startswith("joblib==") for pin in manifest["lock"])
    inputs = manifest["signature"]["inputs"]
    assert [c["name"] for c in inputs] == list(x.columns)
    assert {c["type"] for c in inputs} == {"float64"}
    assert manifest["meta"]["classes"] == [0, 1]
    assert manifest["metrics"] == {"auc": 0.99}
    assert manifest["lineage"] == {"run": None, "dataset": None, "reference_profile": None}


def test_lineage_records_the_active_run_and_the_registered_training_data(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = cancer
    data = datasets.register(x.assign(target=y), "cancer", roles={"target": "target"})

    with loopml.start_run(experiment="train", name="lr") as run:
        version = log_model(pipe, "fraud", input_example=x.head(5), dataset=data)

    assert version.run_id == run.id
    manifest = manifest_of("fraud", version.version)
    assert manifest["lineage"]["run"] == run.id
    assert manifest["lineage"]["dataset"] == f"cancer/{data.version}"
    assert manifest["lineage"]["reference_profile"] == data.id
    record = ws().store.get_model_version("fraud", version.version)
    assert record.run_id == run.id
    assert record.dataset == ("cancer", data.version)


def test_a_dataset_given_as_name_and_version_must_be_registered(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    with pytest.raises(InvalidInputError, match="not registered"):
        log_model(pipe, "fraud", input_example=x.head(5), dataset="nosuch/1")


def test_logging_the_same_model_again_returns_the_same_version(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    first = log_model(pipe, "fraud", input_example=x.head(5))
    again = log_model(pipe, "fraud", input_example=x.head(5))

    assert again.version == first.version == 1
    assert again.bundle_digest == first.bundle_digest
    assert again.created is False
    assert history_kinds("fraud") == ["version_created"]


def test_a_different_model_becomes_the_next_version(
    pipe: Pipeline, small_pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    two_versions(pipe, small_pipe, x)

    assert [v.version for v in ws().store.list_model_versions("fraud")] == [2, 1]
    second, first = get_model_version("fraud", 2), get_model_version("fraud", 1)
    assert second.bundle_digest != first.bundle_digest


NEW_PROCESS = textwrap.dedent(
    """
    import json

    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import loopml

    x, y = load_breast_cancer(as_frame=True, return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    v = loopml.log_model(model, "fraud", input_example=x.head(5))
    print(json.dumps({"version": v.version, "created": v.created, "digest": v.bundle_digest}))
    """
)


def test_the_same_model_fitted_in_a_new_process_is_the_same_bundle_and_version(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], project: Path
) -> None:
    x, _ = cancer
    here = log_model(pipe, "fraud", input_example=x.head(5))

    done = subprocess.run(
        [sys.executable, "-c", NEW_PROCESS],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout.strip().splitlines()[-1])
    assert there == {"version": 1, "created": False, "digest": here.bundle_digest}
    assert history_kinds("fraud") == ["version_created"]


@pytest.mark.parametrize("name", ["../x", "a/b", "a b", "", "..", "x/../../etc", "-x", "a\\b"])
def test_a_model_name_with_path_characters_is_refused(
    name: str, pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], project: Path
) -> None:
    x, _ = cancer
    with pytest.raises(InvalidInputError, match="is not allowed"):
        log_model(pipe, name, input_example=x.head(5))

    assert not (project / ".loopml").exists() or ws().store.list_models() == []


def test_a_model_that_cannot_predict_on_its_example_is_refused_with_the_cause(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    with pytest.raises(InvalidInputError, match="cannot predict on its input_example"):
        log_model(pipe, "fraud", input_example=x.head(5).iloc[:, :3])


def test_an_object_without_predict_cannot_be_logged() -> None:
    with pytest.raises(InvalidInputError, match="needs a predict method"):
        log_model(object(), "fraud")


# -- aliases and the champion rule ------------------------------------------------------------
def test_a_never_gated_version_cannot_become_champion_and_the_error_names_force(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    log_model(pipe, "fraud", input_example=x.head(5))

    with pytest.raises(InvalidInputError) as info:
        set_alias("fraud", "champion", 1)

    message = str(info.value)
    assert "was never gated" in message
    assert "only a blessed version becomes champion" in message
    assert "--force" in message
    assert ws().store.get_model_version("fraud", 1).aliases == []
    with pytest.raises(NotFoundError):
        ws().store.resolve_alias("fraud", "champion")


def test_a_version_that_failed_its_gate_cannot_become_champion(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = cancer
    log_model(pipe, "fraud", input_example=x.head(5))
    assert bless("fraud", 1, x, y, bound="> 1.0") is False

    with pytest.raises(InvalidInputError, match="failed its gate") as info:
        set_alias("fraud", "champion", 1)

    assert "--force" in str(info.value)


def test_a_blessed_version_becomes_champion(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = cancer
    log_model(pipe, "fraud", input_example=x.head(5))
    assert bless("fraud", 1, x, y) is True

    assert set_alias("fraud", "champion", 1) == 1

    assert ws().store.resolve_alias("fraud", "champion") == 1
    assert get_model_version("fraud", 1).aliases == ["champion"]


def test_forcing_an_unblessed_champion_records_the_reason_in_the_history(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    log_model(pipe, "fraud", input_example=x.head(5))

    set_alias("fraud", "champion", 1, force="hotfix: the old model is broken")

    assert ws().store.resolve_alias("fraud", "champion") == 1
    (event,) = [e for e in ws().store.model_history("fraud") if e.kind == "alias_set"]
    assert event.alias == "champion"
    assert event.version == 1
    assert event.reason == "forced: hotfix: the old model is broken"


def test_other_aliases_need_no_gate(
    pipe: Pipeline, small_pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    two_versions(pipe, small_pipe, x)

    set_alias("fraud", "challenger", 2)
    set_alias("fraud", "canary-eu", 1)

    assert ws().store.resolve_alias("fraud", "challenger") == 2
    assert ws().store.resolve_alias("fraud", "canary-eu") == 1
    models = ws().store.list_models()
    assert models[0].aliases == {"canary-eu": 1, "challenger": 2}


def test_moving_an_alias_counts_revisions_and_keeps_where_it_came_from(
    pipe: Pipeline, small_pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    two_versions(pipe, small_pipe, x)

    assert set_alias("fraud", "challenger", 1) == 1
    assert set_alias("fraud", "challenger", 2) == 2

    moves = [e for e in ws().store.model_history("fraud") if e.kind == "alias_set"]
    assert [(e.version, e.payload["from"]) for e in moves] == [(1, None), (2, 1)]
    assert get_model_version("fraud", 1).aliases == []


def test_compare_and_set_refuses_a_move_when_the_alias_moved_meanwhile(
    pipe: Pipeline, small_pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    two_versions(pipe, small_pipe, x)
    set_alias("fraud", "challenger", 1, expected=0)

    with pytest.raises(ConflictError, match="someone moved it meanwhile"):
        set_alias("fraud", "challenger", 2, expected=0)
    with pytest.raises(ConflictError, match="points at version 1"):
        set_alias("fraud", "challenger", 2, expected=2)
    set_alias("fraud", "challenger", 2, expected=1)

    assert ws().store.resolve_alias("fraud", "challenger") == 2
    assert history_kinds("fraud")[2:] == [
        "alias_set",
        "alias_set_rejected",
        "alias_set_rejected",
        "alias_set",
    ]


RACE = textwrap.dedent(
    """
    import sys, time

    from loopml._errors import ConflictError
    from loopml.models import set_alias

    start = float(sys.argv[2])
    while time.time() < start:
        time.sleep(0.001)
    try:
        set_alias("fraud", "challenger", int(sys.argv[1]), expected=0)
    except ConflictError:
        print("lost")
    else:
        print("won")
    """
)


def test_two_processes_setting_the_same_alias_at_once_exactly_one_wins(
    pipe: Pipeline, small_pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series], project: Path
) -> None:
    import time

    x, _ = cancer
    two_versions(pipe, small_pipe, x)
    start = str(time.time() + 1.5)

    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(v), start],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for v in (1, 2)
    ]
    outcomes = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        outcomes.append(out.strip())

    assert sorted(outcomes) == ["lost", "won"]
    winner = (1, 2)[outcomes.index("won")]
    assert ws().store.resolve_alias("fraud", "challenger") == winner
    tries = [e for e in ws().store.model_history("fraud") if e.alias == "challenger"]
    assert sorted(e.kind for e in tries) == ["alias_set", "alias_set_rejected"]
    assert {e.version for e in tries} == {1, 2}


@pytest.mark.parametrize("alias", ["Champion", "latest", "v3", "a b", "", "x/y"])
def test_a_bad_alias_is_refused(
    alias: str, pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    log_model(pipe, "fraud", input_example=x.head(5))

    with pytest.raises(InvalidInputError, match="alias"):
        set_alias("fraud", alias, 1)


def test_an_alias_for_a_version_that_does_not_exist_is_not_found(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    log_model(pipe, "fraud", input_example=x.head(5))

    with pytest.raises(NotFoundError, match="has no version 7"):
        set_alias("fraud", "challenger", 7)
    with pytest.raises(NotFoundError, match="no registered model 'nosuch'"):
        set_alias("nosuch", "challenger", 1)


# -- approvals --------------------------------------------------------------------------------
def test_approve_and_reject_record_who_and_why(
    pipe: Pipeline,
    small_pipe: Pipeline,
    cancer: tuple[pd.DataFrame, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, _ = cancer
    two_versions(pipe, small_pipe, x)
    monkeypatch.setenv("LOOPML_USER", "ada")

    approved = approve("fraud", 1, "reviewed the card")
    rejected = reject("fraud", 2, "leaks the label")

    assert approved.approval == "approved"
    assert rejected.approval == "rejected"
    one, two = get_model_version("fraud", 1), ws().store.get_model_version("fraud", 2)
    assert one.approval == "approved"
    record = ws().store.get_model_version("fraud", 1)
    assert (record.approval_by, record.approval_reason) == ("ada", "reviewed the card")
    assert record.approval_at is not None
    assert (two.approval_by, two.approval_reason) == ("ada", "leaks the label")
    events = [e for e in ws().store.model_history("fraud") if e.kind in ("approved", "rejected")]
    assert [(e.kind, e.version, e.actor, e.reason) for e in events] == [
        ("approved", 1, "ada", "reviewed the card"),
        ("rejected", 2, "ada", "leaks the label"),
    ]
    assert events[0].payload == {"from": "pending"}


def test_approval_without_a_reason_is_allowed(
    pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    log_model(pipe, "fraud", input_example=x.head(5))

    assert approve("fraud", 1).approval == "approved"
    assert ws().store.get_model_version("fraud", 1).approval_reason is None


@pytest.mark.parametrize("reason", ["", "   "])
def test_rejecting_without_a_reason_is_refused(
    reason: str, pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = cancer
    log_model(pipe, "fraud", input_example=x.head(5))

    with pytest.raises(InvalidInputError, match="needs a reason"):
        reject("fraud", 1, reason)

    assert ws().store.get_model_version("fraud", 1).approval == "pending"
    assert history_kinds("fraud") == ["version_created"]


# -- the history ------------------------------------------------------------------------------
def test_every_change_is_an_event_in_order(
    pipe: Pipeline,
    small_pipe: Pipeline,
    cancer: tuple[pd.DataFrame, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, y = cancer
    monkeypatch.setenv("LOOPML_USER", "grace")
    two_versions(pipe, small_pipe, x)
    bless("fraud", 1, x, y)
    set_alias("fraud", "champion", 1)
    approve("fraud", 1, "ok")
    ws().store.delete_model_version("fraud", 2, actor="grace", reason="superseded")

    events = ws().store.model_history("fraud")

    assert [(e.kind, e.version) for e in events] == [
        ("version_created", 1),
        ("version_created", 2),
        ("gate_verdict", 1),
        ("alias_set", 1),
        ("approved", 1),
        ("deleted", 2),
    ]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert {e.actor for e in events} == {"grace"}
    assert events[-1].reason == "superseded"


# -- importing from MLflow --------------------------------------------------------------------
def test_an_mlflow_skops_model_becomes_a_version_with_its_signature_and_predictions() -> None:
    version = import_mlflow(FIXTURES / "sklearn_skops", "imported")

    assert version.uri == "models:/imported/1"
    assert version.flavor == "sklearn"
    inputs = [(c["name"], c["type"]) for c in version.signature["inputs"]]
    assert inputs == [
        ("amount", "float64"),
        ("hour", "int64"),
        ("n_tx_24h", "int64"),
        ("merchant_risk", "float32"),
    ]
    model = loopml.load_model("models:/imported/1")
    expected = EXPECTED["sklearn_skops"]
    assert model.predict(model.input_example).tolist() == expected["predict"]
    assert model.predict_proba(model.input_example).tolist() == expected["predict_proba"]


def test_an_imported_version_is_tagged_with_its_mlflow_origin() -> None:
    import_mlflow(FIXTURES / "sklearn_skops", "imported")

    record = ws().store.get_model_version("imported", 1)
    mlmodel = yaml.safe_load((FIXTURES / "sklearn_skops" / "MLmodel").read_text())
    assert record.tags["mlflow.model_uuid"] == mlmodel["model_uuid"]
    assert record.tags["loopml.imported_from"] == "mlflow"
    assert record.tags["mlflow.version"] == "3.17.2"
    assert record.description is not None
    assert "imported from MLflow" in record.description


def test_an_imported_forest_needs_its_tree_type_trusted_explicitly() -> None:
    with pytest.raises(InvalidInputError, match=TREE):
        import_mlflow(FIXTURES / "forest_skops", "forest")
    assert ws().store.list_models() == []

    version = import_mlflow(FIXTURES / "forest_skops", "forest", trust=[TREE])

    assert ws().store.get_model_version("forest", version.version).trusted_types == [TREE]
    model = loopml.load_model(version.uri)
    expected = EXPECTED["forest_skops"]
    assert model.predict(model.input_example).tolist() == expected["predict"]
    np.testing.assert_allclose(
        model.predict_proba(model.input_example), expected["predict_proba"], rtol=0, atol=0
    )
