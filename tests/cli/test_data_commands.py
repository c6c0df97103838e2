"""``loopml data profile|diff|schema|validate``: exit codes, output, and one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import loopml
from loopml.demo import fraud_transactions
from tests.cli.conftest import Cli, Result

ROLES = {"transaction_id": "id", "is_fraud": "target"}
COLUMNS = [
    "transaction_id",
    "amount",
    "hour",
    "merchant_risk",
    "distance_km",
    "tx_last_24h",
    "account_age_days",
    "is_foreign",
    "is_fraud",
]


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    """SQLite only here: the data commands do not depend on the store's backend."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def tx(workspace_env: str) -> None:
    """Dataset ``tx``: version 1, and version 2 shifted (it drifted)."""
    first = loopml.datasets.register(fraud_transactions(300, seed=1), "tx", roles=ROLES)
    loopml.datasets.register(fraud_transactions(300, seed=2, shift=1.0), "tx", parents=[first])


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err and "Traceback" not in result.out
    assert "internal error" not in result.err


def _one_line_error(result: Result, *words: str) -> None:
    assert result.code == 1, result
    _no_traceback(result)
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith("error: "), line
    for word in words:
        assert word in line, (word, line)


# =================================================================================== profile


def test_profile_a_dataset_by_name(cli: Cli, tx: None) -> None:
    result = cli("data", "profile", "tx")
    assert result.code == 0, result
    assert "tx v2: 300 rows" in result.out
    assert "amount" in result.out and "is_foreign" in result.out
    data = cli("data", "profile", "tx/1", "--json").json()
    assert (data["source"], data["rows"]) == ("tx v1", 300)
    assert [c["column"] for c in data["columns"]] == COLUMNS
    amount = data["columns"][1]
    assert amount["type"] == "double" and amount["missing"] == 0
    assert amount["min"] <= amount["median"] <= amount["max"]


def test_profile_a_file_a_glob_and_some_columns(cli: Cli, project: Path) -> None:
    frame = fraud_transactions(200, seed=3)
    frame.to_csv("batch.csv", index=False)
    (project / "parts").mkdir()
    frame.iloc[:120].to_parquet("parts/a.parquet", index=False)
    frame.iloc[120:].to_parquet("parts/b.parquet", index=False)
    from_csv = cli("data", "profile", "batch.csv", "--json")
    assert from_csv.code == 0, from_csv
    assert (from_csv.json()["rows"], from_csv.json()["source"]) == (200, "batch.csv")
    from_glob = cli("data", "profile", "parts/*.parquet", "--json")
    assert from_glob.code == 0, from_glob
    assert from_glob.json()["rows"] == 200

    def headline(result: Result) -> list[tuple[Any, ...]]:
        keys = ("column", "type", "rows", "missing", "distinct", "min", "max")
        return [tuple(c.get(k) for k in keys) for c in result.json()["columns"]]

    assert headline(from_glob) == headline(from_csv)
    some = cli("data", "profile", "batch.csv", "--columns", "hour, amount", "--json").json()
    assert [c["column"] for c in some["columns"]] == ["hour", "amount"]
    table = cli("data", "profile", "parts/*.parquet", "-c", "amount")
    assert table.code == 0 and "200 rows" in table.out and "hour" not in table.out


def test_profile_errors_are_one_line(cli: Cli, project: Path) -> None:
    fraud_transactions(50).to_csv("batch.csv", index=False)
    _one_line_error(cli("data", "profile", "batch.csv", "--columns", "nope"), "'nope'", "columns")
    _one_line_error(cli("data", "profile", "nothing-here"), "'nothing-here'", "neither a file")
    _one_line_error(cli("data", "profile", "batch.csv", "--executor", "spark"), "'local' or 'ray'")


# ====================================================================================== diff


def test_diff_two_versions_shows_the_verdict_and_the_table(cli: Cli, tx: None) -> None:
    result = cli("data", "diff", "tx/1", "tx/2")
    assert result.code == 0, result
    _no_traceback(result)
    assert "Dataset drifted" in result.out
    assert "amount" in result.out and "drifted" in result.out
    assert "transaction_id" in result.out  # listed as not tested (role id)


def test_diff_json_has_the_columns_and_the_skipped_ones(cli: Cli, tx: None) -> None:
    result = cli("data", "diff", "tx/1", "tx/2", "--json")
    assert result.code == 0, result
    data = result.json()
    assert data["drifted"] is True
    assert (data["reference"], data["current"]) == ("tx v1", "tx v2")
    assert [c["column"] for c in data["columns"]] == COLUMNS[1:]
    assert data["skipped"] == [{"column": "transaction_id", "reason": "role 'id' is not tested"}]
    for column in data["columns"]:
        assert {"kind", "test", "statistic", "p_value", "threshold", "drifted"} <= column.keys()


def test_diff_a_dataset_against_a_csv_file(cli: Cli, tx: None) -> None:
    fraud_transactions(300, seed=2, shift=1.0).to_csv("batch.csv", index=False)
    data = cli("data", "diff", "tx", "batch.csv", "--json").json()
    assert (data["reference"], data["current"]) == ("tx v2", "batch.csv")
    assert data["drifted"] is False  # the same data as version 2
    assert data["number_drifted"] == 0
    # a dataset version brings its roles even against a file
    assert [s["column"] for s in data["skipped"]] == ["transaction_id"]


def test_diff_html_writes_one_self_contained_file(cli: Cli, tx: None, project: Path) -> None:
    result = cli("data", "diff", "tx/1", "tx/2", "--html", "report.html")
    assert result.code == 0, result
    assert "HTML report written to report.html" in result.err
    html = (project / "report.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "amount" in html and "tx v1" in html and "tx v2" in html
    # with --json the report is still written, and stdout stays pure JSON
    result = cli("data", "diff", "tx/1", "tx/2", "--json", "--html", "again.html")
    assert result.json()["drifted"] is True
    assert (project / "again.html").is_file()


def test_fail_on_drift_exits_1_on_drift_and_0_without(cli: Cli, tx: None) -> None:
    drifted = cli("data", "diff", "tx/1", "tx/2", "--fail-on-drift")
    assert drifted.code == 1
    _no_traceback(drifted)
    assert "Dataset drifted" in drifted.out
    same = cli("data", "diff", "tx/1", "tx/1", "--fail-on-drift")
    assert same.code == 0, same
    assert cli("data", "diff", "tx/1", "tx/2").code == 0  # without the flag: report only
    assert cli("data", "diff", "tx/1", "tx/2", "--json", "--fail-on-drift").code == 1


def test_diff_through_profiles(cli: Cli, tx: None) -> None:
    exact = cli("data", "diff", "tx/1", "tx/2", "--json").json()
    result = cli("data", "diff", "tx/1", "tx/2", "--profiles", "--json")
    assert result.code == 0, result
    via = result.json()
    assert via["drifted"] is True
    by_name = {c["column"]: c for c in via["columns"]}
    for column in exact["columns"]:  # 300 rows: the profiles count every value, so exact
        got = by_name[column["column"]]
        assert got["test"] == column["test"] and got["exact"] is True
        assert got["statistic"] == pytest.approx(column["statistic"], rel=1e-9, abs=1e-300)


def test_diff_through_profiles_keeps_the_dataset_roles(cli: Cli, tx: None) -> None:
    # The id column is not tested on raw data; comparing the same versions' profiles must not
    # start testing it (the roles come from the dataset versions, not from the profiles).
    via = cli("data", "diff", "tx/1", "tx/2", "--profiles", "--json").json()
    assert [c["column"] for c in via["columns"]] == COLUMNS[1:]
    assert via["skipped"] == [{"column": "transaction_id", "reason": "role 'id' is not tested"}]


def test_diff_with_one_method_and_some_columns(cli: Cli, tx: None) -> None:
    data = cli("data", "diff", "tx/1", "tx/2", "--method", "psi", "--json").json()
    assert data["method"] == "psi"
    assert {c["test"] for c in data["columns"]} == {"psi"}
    assert {c["threshold"] for c in data["columns"]} == {0.1}
    some = cli("data", "diff", "tx/1", "tx/2", "-m", "linf", "-c", "amount,hour", "--json").json()
    assert [(c["column"], c["test"]) for c in some["columns"]] == [
        ("amount", "linf"),
        ("hour", "linf"),
    ]


def test_diff_errors_are_one_line_with_exit_code_1(cli: Cli, tx: None) -> None:
    _one_line_error(
        cli("data", "diff", "tx/1", "tx/2", "--method", "kss"),
        "unknown test 'kss'",
        "ks, wasserstein",
    )
    _one_line_error(
        cli("data", "diff", "tx/1", "nothing-here"),
        "'nothing-here' is neither a file, folder or glob nor a registered dataset",
    )
    _one_line_error(cli("data", "diff", "tx/1", "tx/9"), "tx/9")
    _one_line_error(
        cli("data", "diff", "tx/1", "tx/2", "--columns", "amount,nope"),
        "column 'nope' is not in the reference data",
    )
    _one_line_error(
        cli("data", "diff", "tx/1", "tx/2", "--method", "ks"),  # KS on categorical columns
        "needs numbers",
    )


def test_diff_of_unreadable_files_is_one_line(cli: Cli, tx: None, project: Path) -> None:
    Path("latin.csv").write_bytes("name,v\ncaf\xe9,1\n".encode("latin-1"))
    _one_line_error(cli("data", "diff", "tx", "latin.csv"), "not valid UTF-8")
    Path("fake.parquet").write_text("a,b\n1,2\n", encoding="utf-8")
    _one_line_error(cli("data", "diff", "fake.parquet", "tx"), "not a Parquet file")


def test_diff_without_a_workspace_still_compares_files(cli: Cli, project: Path) -> None:
    fraud_transactions(200, seed=1).to_csv("a.csv", index=False)
    fraud_transactions(200, seed=2).to_csv("b.csv", index=False)
    result = cli("data", "diff", "a.csv", "b.csv", "--json")
    assert result.code == 0, result
    assert (result.json()["reference"], result.json()["current"]) == ("a.csv", "b.csv")


# ==================================================================================== schema


def test_schema_infer_prints_and_saves_version_1(cli: Cli, tx: None) -> None:
    result = cli("data", "schema", "tx", "--infer")
    assert result.code == 0, result
    assert "schema version 1 of 'tx' inferred from its latest data" in result.err
    document = yaml.safe_load(result.out)
    assert document["name"] == "tx"
    assert list(document["columns"]) == COLUMNS
    assert document["columns"]["transaction_id"]["role"] == "id"
    shown = cli("data", "schema", "tx")
    assert shown.code == 0 and yaml.safe_load(shown.out) == document


def test_schema_output_file_and_set_an_edited_one(cli: Cli, tx: None, project: Path) -> None:
    assert cli("data", "schema", "tx", "--infer").code == 0
    result = cli("data", "schema", "tx", "-o", "tx.yaml")
    assert result.code == 0, result
    assert "written to tx.yaml" in result.err and result.out == ""
    document = yaml.safe_load((project / "tx.yaml").read_text(encoding="utf-8"))
    document["columns"]["amount"]["max"] = 10.0
    Path("edited.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    saved = cli("data", "schema", "tx", "--set", "edited.yaml")
    assert saved.code == 0, saved
    assert "schema version 2 of 'tx' saved from edited.yaml" in saved.err
    assert yaml.safe_load(cli("data", "schema", "tx").out)["columns"]["amount"]["max"] == 10.0
    first = yaml.safe_load(cli("data", "schema", "tx", "--version", "1").out)
    assert first["columns"]["amount"]["max"] != 10.0


def test_schema_errors_are_one_line(cli: Cli, tx: None, project: Path) -> None:
    Path("s.yaml").write_text("version: 1\n", encoding="utf-8")
    _one_line_error(
        cli("data", "schema", "tx", "--infer", "--set", "s.yaml"), "either --infer or --set"
    )
    _one_line_error(cli("data", "schema", "nope", "--infer"), "'nope'")
    _one_line_error(cli("data", "schema", "tx", "--set", "missing.yaml"), "missing.yaml")
    result = cli("data", "schema", "tx")  # no schema saved yet
    assert result.code == 1
    _no_traceback(result)
    assert len(result.err_lines) == 1


# ================================================================================== validate


def test_validate_a_dataset_against_its_latest_schema(cli: Cli, tx: None) -> None:
    assert cli("data", "schema", "tx", "--infer").code == 0
    result = cli("data", "validate", "tx")
    assert result.code == 0, result
    assert "300 rows, 9 columns validated against schema" in result.out
    assert "'tx': no anomalies" in result.out
    data = cli("data", "validate", "tx", "--json").json()
    assert (data["ok"], data["errors"], data["rows"], data["schema"]) == (True, 0, 300, "tx")


def test_validate_a_bad_csv_with_the_datasets_schema_exits_1(
    cli: Cli, tx: None, project: Path
) -> None:
    assert cli("data", "schema", "tx", "--infer").code == 0
    fraud_transactions(100, seed=4).drop(columns="amount").to_csv("bad.csv", index=False)
    result = cli("data", "validate", "bad.csv", "--dataset", "tx")
    assert result.code == 1
    _no_traceback(result)
    assert "missing_column" in result.out and "amount" in result.out
    assert "1 error" in result.out
    data = cli("data", "validate", "bad.csv", "-d", "tx", "--json").json()
    assert data["ok"] is False and data["errors"] == 1
    errors = [(a["kind"], a["column"]) for a in data["anomalies"] if a["severity"] == "error"]
    assert errors == [("missing_column", "amount")]


def test_validate_with_a_schema_file(cli: Cli, tx: None, project: Path) -> None:
    assert cli("data", "schema", "tx", "--infer", "-o", "tx.yaml").code == 0
    fraud_transactions(300, seed=2, shift=1.0).to_csv("same.csv", index=False)
    ok = cli("data", "validate", "same.csv", "--schema", "tx.yaml")
    assert ok.code == 0, ok
    document = yaml.safe_load((project / "tx.yaml").read_text(encoding="utf-8"))
    document["columns"]["amount"]["type"] = "int64"
    Path("strict.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    bad = cli("data", "validate", "tx", "-s", "strict.yaml", "--json")
    assert bad.code == 1, bad
    assert [(a["kind"], a["column"]) for a in bad.json()["anomalies"]] == [("wrong_type", "amount")]
    # an invalid schema file is one line naming the file and the place
    document["columns"]["hour"]["type"] = "large_string"  # keeps its min and max: not allowed
    Path("invalid.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    _one_line_error(
        cli("data", "validate", "tx", "-s", "invalid.yaml"), "invalid.yaml", "columns > hour"
    )


def test_validate_errors_are_one_line(cli: Cli, tx: None, project: Path) -> None:
    fraud_transactions(50).to_csv("batch.csv", index=False)
    _one_line_error(
        cli("data", "validate", "batch.csv"),
        "which schema? give --schema schema.yaml, or --dataset NAME",
    )
    _one_line_error(cli("data", "validate", "batch.csv", "--schema", "missing.yaml"), "missing")
    Path("broken.yaml").write_text("columns: [\n", encoding="utf-8")
    _one_line_error(cli("data", "validate", "batch.csv", "--schema", "broken.yaml"), "broken")
    result = cli("data", "validate", "tx")  # a dataset without any schema yet
    assert result.code == 1
    _no_traceback(result)
    assert len(result.err_lines) == 1 and "tx" in result.err


# ======================================================================= never a traceback


@pytest.mark.parametrize(
    "args",
    [
        ("data", "profile", "missing.csv"),
        ("data", "profile", "*.nothing"),
        ("data", "diff", "tx/1"),
        ("data", "diff", "tx/0", "tx/1"),
        ("data", "diff", "tx/1", "tx/2", "--method", ""),
        ("data", "diff", "datasets:/nope/1", "tx"),
        ("data", "validate", "nope"),
        ("data", "schema", "tx", "--version", "7"),
        ("data", "show", "tx", "--version", "9"),
        ("data", "list", "nope"),
    ],
)
def test_no_data_command_prints_a_traceback_on_bad_input(
    cli: Cli, tx: None, args: tuple[str, ...]
) -> None:
    result: Any = cli(*args)
    _no_traceback(result)
    assert result.code in (0, 1, 2), result
