"""``loopml models list|show|alias|approve|reject|history|compare|delete|download`` and
``loopml import mlflow``, run in-process on a project's own SQLite workspace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.models import Gate, log_model
from tests.cli.conftest import Cli, one_line_error

FIXTURES = Path(__file__).parents[1] / "models" / "fixtures" / "mlflow"
TREE = "sklearn.tree._tree.Tree"


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    x, y = load_breast_cancer(as_frame=True, return_X_y=True)
    return x, y


@pytest.fixture(scope="module")
def models(cancer: tuple[pd.DataFrame, pd.Series]) -> tuple[Pipeline, Pipeline]:
    """Two different fitted pipelines of the same data."""
    x, y = cancer
    return (
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y),
        make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000)).fit(x, y),
    )


@pytest.fixture
def initialised(project: Path) -> Path:
    loopml.init(project)
    return project


@pytest.fixture
def fraud(
    initialised: Path, models: tuple[Pipeline, Pipeline], cancer: tuple[pd.DataFrame, pd.Series]
) -> pd.DataFrame:
    """``fraud`` versions 1 and 2 in this project; returns the data with its ``target``."""
    x, y = cancer
    for model in models:
        log_model(model, "fraud", input_example=x.head(5), description="finds fraud")
    return x.assign(target=y)


def gate(version: int, data: pd.DataFrame, bound: str = ">= 0.9") -> None:
    Gate({"roc_auc": bound}, target="target").check("fraud", version, dataset=data)


# -- list ---------------------------------------------------------------------------------------
def test_models_list_says_when_there_are_no_models(cli: Cli, initialised: Path) -> None:
    result = cli("models", "list")

    assert result.code == 0, result.err
    assert result.out.strip() == "no registered models yet (loopml.log_model registers one)"
    assert cli("models", "list", "--json").json() == []


def test_models_list_shows_each_model_with_its_latest_version_and_aliases(
    cli: Cli, fraud: pd.DataFrame, models: tuple[Pipeline, Pipeline]
) -> None:
    log_model(models[0], "churn")
    cli("models", "alias", "fraud", "challenger", "2")

    result = cli("models", "list")

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["name", "latest", "aliases", "updated", "description"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {"fraud", "churn"}
    assert rows["fraud"][1:3] == ["2", "@challenger=v2"]
    assert rows["churn"][1] == "1"


def test_models_list_json_has_names_versions_and_aliases(cli: Cli, fraud: pd.DataFrame) -> None:
    cli("models", "alias", "fraud", "challenger", "1")

    (model,) = cli("models", "list", "--json").json()

    assert model["name"] == "fraud"
    assert model["latest_version"] == 2
    assert model["aliases"] == {"challenger": 1}


# -- show ---------------------------------------------------------------------------------------
def test_models_show_lists_the_versions_with_flavor_approval_and_gate(
    cli: Cli, fraud: pd.DataFrame
) -> None:
    gate(1, fraud)
    cli("models", "approve", "fraud", "1")

    result = cli("models", "show", "fraud")

    assert result.code == 0, result.err
    assert "model fraud" in result.out
    lines = [line.split() for line in result.out.splitlines() if line.strip()]
    assert lines[1][:3] == ["version", "flavor", "aliases"]
    rows = {words[0]: " ".join(words) for words in lines[2:]}
    assert set(rows) == {"v1", "v2"}
    assert "sklearn" in rows["v1"]
    assert "approved" in rows["v1"]
    assert "blessed" in rows["v1"]
    assert "pending" in rows["v2"]


def test_models_show_one_version_in_detail(cli: Cli, fraud: pd.DataFrame) -> None:
    gate(1, fraud)

    result = cli("models", "show", "fraud", "-v", "1")

    assert result.code == 0, result.err
    assert "models:/fraud/1  sklearn (skops)" in result.out
    assert "trusted   skops' defaults only" in result.out
    assert "inputs    mean radius: float64" in result.out
    assert "and 18 more" in result.out
    assert "gate      blessed" in result.out
    assert "pass roc_auc 0.99" in result.out
    for name in ("model.yaml", "model.skops", "input_example.json"):
        assert f"file      {name}" in result.out


def test_models_show_one_version_as_json(cli: Cli, fraud: pd.DataFrame) -> None:
    result = cli("models", "show", "fraud", "-v", "1", "--json")

    assert result.code == 0, result.err
    record = result.json()
    assert (record["name"], record["version"], record["flavor"]) == ("fraud", 1, "sklearn")
    assert record["status"] == "ready"
    assert record["approval"] == "pending"
    assert record["blessed"] is None
    assert record["description"] == "finds fraud"
    assert record["trusted_types"] == []
    assert sorted(f["name"] for f in record["files"]) == [
        "input_example.json",
        "model.skops",
        "model.yaml",
    ]
    assert [c["name"] for c in record["signature"]["inputs"]][:2] == ["mean radius", "mean texture"]
    versions = cli("models", "show", "fraud", "--json").json()
    assert [v["version"] for v in versions] == [2, 1]


# -- alias --------------------------------------------------------------------------------------
def test_models_alias_champion_is_refused_without_a_gate(cli: Cli, fraud: pd.DataFrame) -> None:
    result = cli("models", "alias", "fraud", "champion", "1")

    one_line_error(result, "was never gated", "--force")
    assert cli("models", "list", "--json").json()[0]["aliases"] == {}


def test_models_alias_champion_with_force_records_the_reason(cli: Cli, fraud: pd.DataFrame) -> None:
    result = cli("models", "alias", "fraud", "champion", "1", "--force", "outage")

    assert result.code == 0, result.err
    assert result.out.strip() == "fraud@champion -> v1 (revision 1)"
    (event,) = [e for e in cli("models", "history", "fraud", "--json").json() if e["alias"]]
    assert (event["kind"], event["version"], event["reason"]) == ("alias_set", 1, "forced: outage")


def test_models_alias_champion_of_a_blessed_version_needs_no_force(
    cli: Cli, fraud: pd.DataFrame
) -> None:
    gate(2, fraud)

    result = cli("models", "alias", "fraud", "champion", "2")

    assert result.code == 0, result.err
    assert loopml.load_model("models:/fraud@champion").version == 2


def test_models_alias_moves_removes_and_compares_and_sets(cli: Cli, fraud: pd.DataFrame) -> None:
    assert cli("models", "alias", "fraud", "challenger", "1").code == 0
    assert cli("models", "alias", "fraud", "challenger", "2", "--expect", "1").code == 0

    conflict = cli("models", "alias", "fraud", "challenger", "1", "--expect", "1")
    one_line_error(conflict, "points at version 2", "moved it meanwhile")

    removed = cli("models", "alias", "fraud", "challenger", "--remove")
    assert removed.code == 0, removed.err
    assert removed.out.strip() == "removed fraud@challenger"
    assert cli("models", "list", "--json").json()[0]["aliases"] == {}
    kinds = [e["kind"] for e in cli("models", "history", "fraud", "--json").json()]
    assert kinds[2:] == ["alias_set", "alias_set", "alias_set_rejected", "alias_removed"]


def test_models_alias_without_a_version_or_with_a_bad_alias_is_one_line(
    cli: Cli, fraud: pd.DataFrame
) -> None:
    one_line_error(cli("models", "alias", "fraud", "challenger"), "which version?")
    one_line_error(cli("models", "alias", "fraud", "Champion", "1"), "alias 'Champion'")
    one_line_error(cli("models", "alias", "fraud", "challenger", "9"), "has no version 9")


# -- approve and reject -------------------------------------------------------------------------
def test_models_approve_and_reject_keep_the_reasons(
    cli: Cli, fraud: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPML_USER", "ada")

    approved = cli("models", "approve", "fraud", "1", "-r", "card reviewed")
    rejected = cli("models", "reject", "fraud", "2", "-r", "overfits")

    assert (approved.code, approved.out.strip()) == (0, "approved fraud v1")
    assert (rejected.code, rejected.out.strip()) == (0, "rejected fraud v2")
    one = cli("models", "show", "fraud", "-v", "1", "--json").json()
    two = cli("models", "show", "fraud", "-v", "2", "--json").json()
    assert (one["approval"], one["approval_by"], one["approval_reason"]) == (
        "approved",
        "ada",
        "card reviewed",
    )
    assert (two["approval"], two["approval_reason"]) == ("rejected", "overfits")
    shown = cli("models", "show", "fraud", "-v", "1").out
    assert "approval  approved by ada: card reviewed" in shown


def test_models_reject_needs_a_reason(cli: Cli, fraud: pd.DataFrame) -> None:
    missing = cli("models", "reject", "fraud", "1")
    assert missing.code == 2
    assert "--reason" in missing.err

    one_line_error(cli("models", "reject", "fraud", "1", "-r", " "), "needs a reason")
    assert cli("models", "show", "fraud", "-v", "1", "--json").json()["approval"] == "pending"


# -- history and compare ------------------------------------------------------------------------
def test_models_history_json_lists_every_event_in_order(cli: Cli, fraud: pd.DataFrame) -> None:
    gate(1, fraud)
    cli("models", "alias", "fraud", "champion", "1")
    cli("models", "approve", "fraud", "1")
    cli("models", "reject", "fraud", "2", "-r", "worse")

    events = cli("models", "history", "fraud", "--json").json()

    assert [(e["kind"], e["version"]) for e in events] == [
        ("version_created", 1),
        ("version_created", 2),
        ("gate_verdict", 1),
        ("alias_set", 1),
        ("approved", 1),
        ("rejected", 2),
    ]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert events[2]["payload"]["blessed"] is True
    assert events[-1]["reason"] == "worse"


def test_models_history_table_shows_what_happened(cli: Cli, fraud: pd.DataFrame) -> None:
    cli("models", "alias", "fraud", "champion", "1", "--force", "first")

    result = cli("models", "history", "fraud")

    assert result.code == 0, result.err
    assert "history of fraud" in result.out
    lines = [line for line in result.out.splitlines() if "alias_set" in line]
    assert len(lines) == 1
    assert "champion" in lines[0]
    assert "forced: first new alias" in lines[0]
    assert result.out.count("version_created") == 2


def test_models_compare_puts_versions_side_by_side(cli: Cli, fraud: pd.DataFrame) -> None:
    gate(1, fraud)
    gate(2, fraud, bound=">= 0.999")

    result = cli("models", "compare", "fraud", "1", "2")

    assert result.code == 0, result.err
    assert "fraud: metrics from each gate" in result.out
    rows = {line.split()[0]: line.split()[1:] for line in result.out.splitlines()[2:] if line}
    assert rows["flavor"] == ["sklearn", "sklearn"]
    assert " ".join(rows["gate"]) == "blessed not blessed"
    assert len(rows["roc_auc"]) == 2
    compared = cli("models", "compare", "fraud", "1", "2", "--json").json()
    assert compared["versions"] == [1, 2]
    assert compared["rows"]["gate"] == ["blessed", "not blessed"]
    assert compared["rows"]["inputs"] == ["30", "30"]
    auc = [float(v) for v in compared["rows"]["roc_auc"]]
    assert auc[0] == pytest.approx(auc[1], abs=0.01)


def test_models_compare_needs_two_versions(cli: Cli, fraud: pd.DataFrame) -> None:
    one_line_error(cli("models", "compare", "fraud", "1"), "two or more versions")
    one_line_error(cli("models", "compare", "fraud", "1", "7"), "has no version 7")


# -- delete and download ------------------------------------------------------------------------
def test_models_delete_marks_a_version_deleted_and_keeps_its_history(
    cli: Cli, fraud: pd.DataFrame
) -> None:
    result = cli("models", "delete", "fraud", "2", "-r", "superseded")

    assert (result.code, result.out.strip()) == (0, "deleted fraud v2")
    assert "v2 (deleted)" in cli("models", "show", "fraud").out
    assert cli("models", "history", "fraud", "--json").json()[-1]["kind"] == "deleted"
    assert loopml.load_model("models:/fraud").version == 1


def test_models_delete_of_an_aliased_version_needs_drop_aliases(
    cli: Cli, fraud: pd.DataFrame
) -> None:
    cli("models", "alias", "fraud", "champion", "1", "--force", "first")

    one_line_error(cli("models", "delete", "fraud", "1"), "@champion", "--drop-aliases")
    assert cli("models", "delete", "fraud", "1", "--drop-aliases").code == 0

    one_line_error(cli("models", "download", "models:/fraud@champion", "-o", "out"), "champion")
    one_line_error(cli("models", "download", "models:/fraud/1", "-o", "out"), "was deleted")


def test_models_download_writes_a_bundle_that_loads(
    cli: Cli,
    fraud: pd.DataFrame,
    models: tuple[Pipeline, Pipeline],
    cancer: tuple[pd.DataFrame, pd.Series],
    tmp_path: Path,
) -> None:
    x, _ = cancer
    out = tmp_path / "bundle"

    result = cli("models", "download", "models:/fraud/2", "-o", str(out))

    assert result.code == 0, result.err
    assert result.out.strip().startswith("wrote models:/fraud/2 to")
    assert sorted(p.name for p in out.iterdir()) == [
        "input_example.json",
        "model.skops",
        "model.yaml",
    ]
    loaded = loopml.load_model(out)
    np.testing.assert_array_equal(loaded.predict(x), models[1].predict(x))


# -- import mlflow ------------------------------------------------------------------------------
def test_import_mlflow_adds_a_version_with_its_origin(cli: Cli, initialised: Path) -> None:
    result = cli("import", "mlflow", str(FIXTURES / "sklearn_skops"), "-n", "imported")

    assert result.code == 0, result.err
    assert result.out.strip() == f"imported {FIXTURES / 'sklearn_skops'} as models:/imported/1"
    record = cli("models", "show", "imported", "-v", "1", "--json").json()
    assert record["tags"]["mlflow.model_uuid"] == "1b86ee6b9b7048f09ce69c966713643c"
    assert [c["name"] for c in record["signature"]["inputs"]] == [
        "amount",
        "hour",
        "n_tx_24h",
        "merchant_risk",
    ]


def test_import_mlflow_of_a_forest_needs_trust_for_its_tree_type(
    cli: Cli, initialised: Path
) -> None:
    source = str(FIXTURES / "forest_skops")

    one_line_error(cli("import", "mlflow", source, "-n", "forest"), TREE)
    assert cli("models", "list", "--json").json() == []

    result = cli("import", "mlflow", source, "-n", "forest", "--trust", TREE, "--json")

    assert result.code == 0, result.err
    version = result.json()
    assert version["uri"] == "models:/forest/1"
    assert version["created"] is True
    shown = cli("models", "show", "forest", "-v", "1", "--json").json()
    assert shown["trusted_types"] == [TREE]


def test_import_mlflow_of_a_pickle_is_refused(cli: Cli, initialised: Path) -> None:
    result = cli("import", "mlflow", str(FIXTURES / "pickle_model"), "-n", "pickled")

    one_line_error(result)
    assert cli("models", "list", "--json").json() == []


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("models", "show", "nosuch"),
        ("models", "show", "nosuch", "-v", "1"),
        ("models", "history", "nosuch"),
        ("models", "alias", "nosuch", "challenger", "1"),
        ("models", "approve", "nosuch", "1"),
        ("models", "delete", "nosuch", "1"),
        ("models", "download", "models:/nosuch/1", "-o", "out"),
    ],
)
def test_an_unknown_model_is_a_one_line_error(
    cli: Cli, fraud: pd.DataFrame, args: tuple[str, ...]
) -> None:
    one_line_error(cli(*args), "no registered model 'nosuch'")


def test_a_model_name_with_path_characters_is_a_one_line_error(
    cli: Cli, fraud: pd.DataFrame
) -> None:
    one_line_error(cli("models", "show", "../fraud"), "is not allowed")
    one_line_error(cli("models", "download", "fraud", "-o", "out"), "not a model reference")
