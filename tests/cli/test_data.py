"""``loopml data list|show``."""

from __future__ import annotations

import json

import pytest

import loopml
from loopml._cli.app import main
from loopml.demo import fraud_transactions


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def two_versions(workspace_env: str) -> None:
    first = loopml.datasets.register(fraud_transactions(300), "tx", roles={"is_fraud": "target"})
    loopml.datasets.register(fraud_transactions(300, shift=1.0), "tx", parents=[first])


def test_data_list_shows_the_latest_version_of_each_dataset(
    two_versions: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, "data", "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(d["name"], d["version"]) for d in listed] == [("tx", 2)]
    code, out, _ = _cli(capsys, "data", "list", "tx")
    assert code == 0 and "tx" in out and "300" in out


def test_data_show_prints_columns_roles_and_lineage(
    two_versions: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, "data", "show", "tx")
    assert code == 0
    assert "version 2" in out and "is_fraud" in out and "target" in out
    assert "parent tx/1 (derived)" in out
    code, out, _ = _cli(capsys, "data", "show", "tx", "--version", "1", "--json")
    assert json.loads(out)["version"] == 1


def test_an_unknown_dataset_is_one_line_and_exit_1(
    workspace_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(capsys, "data", "show", "nope")
    assert code == 1
    assert "dataset 'nope' does not exist" in err and "Traceback" not in err
