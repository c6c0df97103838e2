"""``loopml predictions list|show|export`` and ``loopml feedback``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import loopml
from loopml.serving._app import create_server
from tests.cli.conftest import Cli, one_line_error


@pytest.fixture
def logged(project: Path) -> list[str]:
    """Five predictions of cancer v1 in the log (compacted), with ids r0..r4."""
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    loopml.log_model(LogisticRegression(max_iter=5000).fit(x, y), "cancer", input_example=x.head(5))
    server = create_server(["models:/cancer/1"])

    async def main() -> None:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for i in range(5):
                body = {
                    "id": f"r{i}",
                    "inputs": [
                        {
                            "name": "x",
                            "shape": [1, 30],
                            "datatype": "FP64",
                            "data": x.iloc[i].tolist(),
                        }
                    ],
                }
                assert (await client.post("/v2/models/cancer/infer", json=body)).status_code == 200

    asyncio.run(main())
    server.close()
    return [f"r{i}" for i in range(5)]


def test_list_shows_rows_segments_and_labels_per_version(cli: Cli, logged: list[str]) -> None:
    loopml.predictions.label("cancer", {"r0": 1})

    table = cli("predictions", "list")
    doc = json.loads(cli("predictions", "list", "--json").out)

    assert table.code == 0 and "cancer" in table.out
    assert [(r["model"], r["version"], r["rows"], r["segments"], r["labelled"]) for r in doc] == [
        ("cancer", "1", 5, 1, 1)
    ]


def test_show_prints_the_newest_predictions_with_labels(cli: Cli, logged: list[str]) -> None:
    loopml.predictions.label("cancer", {"r4": 0})

    shown = cli("predictions", "show", "cancer", "-n", "2")
    doc = json.loads(cli("predictions", "show", "cancer", "--json").out)

    assert shown.code == 0 and "r4" in shown.out and "r3" in shown.out and "r2" not in shown.out
    assert [r["prediction_id"] for r in doc] == logged
    assert doc[-1]["label"] == 0 and doc[0]["label"] is None


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_export_writes_every_prediction_with_its_inputs(
    cli: Cli, logged: list[str], project: Path, suffix: str
) -> None:
    target = project / f"out{suffix}"
    result = cli("predictions", "export", "cancer", "-o", str(target))

    assert result.code == 0 and "wrote 5 prediction(s)" in result.out
    if suffix == ".parquet":
        frame = pd.read_parquet(target)
    elif suffix == ".csv":
        frame = pd.read_csv(target)
    else:
        frame = pd.read_json(target, lines=True)
    assert list(frame["prediction_id"]) == logged and "mean radius" in frame.columns


def test_feedback_from_a_file_labels_predictions_and_a_newer_label_wins(
    cli: Cli, logged: list[str], project: Path
) -> None:
    (project / "labels.csv").write_text("id,label\nr0,1\nr1,0\n")
    (project / "fix.jsonl").write_text('{"request": "r0", "truth": 0}\n')

    first = cli("feedback", "labels.csv", "--model", "cancer")
    second = cli(
        "feedback", "fix.jsonl", "-m", "cancer", "--id-column", "request", "--label-column", "truth"
    )

    assert first.code == 0 and "recorded 2 label(s)" in first.out
    assert second.code == 0 and "recorded 1 label(s)" in second.out
    labels = loopml.predictions.read("cancer").set_index("prediction_id")["label"]
    assert labels["r0"] == 0 and labels["r1"] == 0 and labels["r2"] is None


def test_bad_feedback_files_and_bad_exports_are_one_line_errors(
    cli: Cli, logged: list[str], project: Path
) -> None:
    (project / "labels.csv").write_text("request,label\nr0,1\n")
    (project / "holes.csv").write_text("id,label\nr0,\n")
    (project / "labels.txt").write_text("x")

    one_line_error(cli("feedback", "nope.csv", "-m", "cancer"), "not a file")
    one_line_error(cli("feedback", "labels.csv", "-m", "cancer"), "no column 'id'", "--id-column")
    one_line_error(cli("feedback", "holes.csv", "-m", "cancer"), "'r0' has no label")
    one_line_error(cli("feedback", "labels.txt", "-m", "cancer"), ".csv, .parquet or .jsonl")
    one_line_error(cli("predictions", "export", "cancer", "-o", "out.xlsx"), ".parquet, .csv")
    one_line_error(cli("predictions", "show", "cancer", "--since", "yesterday"), "not an ISO date")


def test_list_without_a_log_says_how_to_get_one(cli: Cli, project: Path) -> None:
    loopml.init(project)
    result = cli("predictions", "list")
    assert result.code == 0 and "loopml serve logs every prediction" in result.out
