"""The demo walks today's loop end to end on the bundled data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import loopml
from loopml.demo import fraud_transactions, run_demo
from loopml.demo._run import EXPERIMENT, pick_folder


def test_the_dataset_is_deterministic_and_has_rare_fraud() -> None:
    first = fraud_transactions(2000, seed=3)
    again = fraud_transactions(2000, seed=3)
    pd.testing.assert_frame_equal(first, again)
    assert 0.01 < first["is_fraud"].mean() < 0.15
    assert not fraud_transactions(2000, seed=4).equals(first)


def test_a_shift_moves_the_feature_distributions() -> None:
    base = fraud_transactions(5000, seed=1)
    shifted = fraud_transactions(5000, seed=1, shift=1.0)
    assert shifted["amount"].median() > base["amount"].median() * 1.2
    assert shifted["is_foreign"].mean() > base["is_foreign"].mean()


def test_the_demo_tracks_real_models_and_finds_the_best(project: Path) -> None:
    lines: list[str] = []
    result = run_demo(project / "ws", rows=3000, report=lines.append)
    assert result.workspace == project / "ws"
    assert (project / "ws" / ".loopml" / "loopml.db").is_file()
    assert len(result.run_ids) == 3  # one evaluation run per candidate model
    frame = loopml.runs(experiment=EXPERIMENT, path=project / "ws")
    assert set(result.run_ids) <= set(frame["run_id"])
    assert (frame["status"] == "finished").all()
    assert frame["metrics.roc_auc"].max() == result.best_auc
    assert result.best_auc > 0.75  # a real model learned something real
    best = loopml.get_run(result.best_run_id, path=project / "ws")
    dataset = loopml.datasets.get("transactions", 1, path=project / "ws")
    assert result.dataset == "transactions/1"
    assert best.params["dataset"] == "transactions/1"
    assert best.tags["loopml.dataset.id"] == dataset.id
    assert dataset.roles["is_fraud"] == "target" and dataset.rows == 3000
    assert best.tags["loopml.seed"] == "7"
    assert any(line.startswith("best") for line in lines)


def test_the_demo_trains_through_a_pipeline_whose_second_run_is_cached(project: Path) -> None:
    result = run_demo(project / "ws", rows=3000, report=lambda _: None)
    ws = project / "ws"
    pipeline_run = loopml.get_run(result.pipeline_run_id, path=ws)
    assert pipeline_run.tags["loopml.kind"] == "pipeline"
    assert pipeline_run.status == "finished"
    steps = loopml.search_runs(
        EXPERIMENT, filter=f"tags.loopml.pipeline_run = '{result.pipeline_run_id}'", path=ws
    )
    assert sorted(s.name for s in steps) == sorted(
        ["ingest", "check", "train", "train_2", "train_3", "evaluate", "evaluate_2", "evaluate_3"]
    )
    assert result.cached_steps == 8  # the second run executed nothing


def test_the_demo_validates_its_data_and_reports_drift_of_a_shifted_batch(project: Path) -> None:
    lines: list[str] = []
    result = run_demo(project / "ws", rows=3000, report=lines.append)
    ws = project / "ws"
    # The schema was inferred from version 1, saved (versioned, and as YAML) and holds.
    assert result.schema_file is not None and result.schema_file.is_file()
    assert loopml.datasets.schema("transactions", path=ws).column("is_fraud").role == "target"
    assert result.validation_errors == 0
    # The shifted batch is version 2, checked against the schema and tested for drift.
    batch = loopml.datasets.get("transactions", path=ws)
    assert batch.version == 2 and batch.rows == 1000
    assert result.drift_report is not None and result.drift_report.is_file()
    html = result.drift_report.read_text()
    assert "<html" in html and "http://" not in html and "https://" not in html
    assert {"amount", "distance_km"} <= set(result.drifted_columns)
    assert "transaction_id" not in result.drifted_columns  # an id is never tested
    assert any(line.startswith("drift") for line in lines)
    monitoring = loopml.runs(experiment=f"{EXPERIMENT}-monitoring", path=ws)
    assert monitoring["metrics.share_drifted"].iloc[0] > 0


def test_the_demo_names_a_fresh_folder_each_time(project: Path) -> None:
    assert pick_folder(project) == project / "loopml-demo"
    (project / "loopml-demo").mkdir()
    assert pick_folder(project) == project / "loopml-demo-2"


def test_the_demo_command_prints_what_to_look_at_next(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from loopml._cli.app import main

    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--rows", "2000"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "what to look at next" in out
    assert "loopml runs compare" in out
    assert (project / "loopml-demo" / ".loopml").is_dir()
