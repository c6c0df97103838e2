"""The demo walks today's loop end to end on the bundled data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import loopml
from loopml.demo import fraud_transactions, run_demo
from loopml.demo._run import EXPERIMENT, DemoResult, pick_folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoResult, list[str]]]:
    """One run of the whole demo (3,000 rows), shared by the tests that read what it did
    (`make test` runs each file on one worker: `--dist loadfile`)."""
    from tests.conftest import _reset_loopml_state

    with pytest.MonkeyPatch.context() as patch:
        for name in ("LOOPML_URI", "LOOPML_ARTIFACTS", "LOOPML_DEBUG"):
            patch.delenv(name, raising=False)
        folder = tmp_path_factory.mktemp("demo")
        patch.chdir(folder)
        lines: list[str] = []
        yield run_demo(folder / "ws", rows=3000, report=lines.append), lines
    _reset_loopml_state()


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


def test_the_demo_tracks_real_models_and_finds_the_best(demo: tuple[DemoResult, list[str]]) -> None:
    result, lines = demo
    ws = result.workspace
    assert (ws / ".loopml" / "loopml.db").is_file()
    assert len(result.run_ids) == 3  # one evaluation run per candidate model
    frame = loopml.runs(experiment=EXPERIMENT, path=ws)
    assert set(result.run_ids) <= set(frame["run_id"])
    assert (frame["status"] == "finished").all()
    first_training = frame[frame["params.dataset"] == "transactions/1"]
    assert first_training["metrics.roc_auc"].max() == result.best_auc
    assert result.best_auc > 0.75  # a real model learned something real
    best = loopml.get_run(result.best_run_id, path=ws)
    dataset = loopml.datasets.get("transactions", 1, path=ws)
    assert result.dataset == "transactions/1"
    assert best.params["dataset"] == "transactions/1"
    assert best.tags["loopml.dataset.id"] == dataset.id
    assert dataset.roles["is_fraud"] == "target" and dataset.rows == 3000
    assert best.tags["loopml.seed"] == "7"
    assert any(line.startswith("best") for line in lines)


def test_the_demo_trains_through_a_pipeline_whose_second_run_is_cached(
    demo: tuple[DemoResult, list[str]],
) -> None:
    result, _ = demo
    ws = result.workspace
    pipeline_run = loopml.get_run(result.pipeline_run_id, path=ws)
    assert pipeline_run.tags["loopml.kind"] == "pipeline"
    assert pipeline_run.status == "finished"
    steps = loopml.search_runs(
        EXPERIMENT, filter=f"tags.loopml.pipeline_run = '{result.pipeline_run_id}'", path=ws
    )
    assert sorted(s.name for s in steps) == sorted(
        [
            "ingest",
            "check",
            "train",
            "train_2",
            "train_3",
            "evaluate",
            "evaluate_2",
            "evaluate_3",
            "register",
        ]
    )
    assert result.cached_steps == 9  # the second run executed nothing


def test_the_demo_validates_its_data_and_reports_drift_of_a_shifted_batch(
    demo: tuple[DemoResult, list[str]],
) -> None:
    result, lines = demo
    ws = result.workspace
    # The schema was inferred from version 1, saved (versioned, and as YAML) and holds.
    assert result.schema_file is not None and result.schema_file.is_file()
    assert loopml.datasets.schema("transactions", path=ws).column("is_fraud").role == "target"
    assert result.validation_errors == 0
    # The shifted batch is version 2, checked against the schema and tested for drift.
    batch = loopml.datasets.get("transactions", 2, path=ws)
    assert batch.rows == 1000
    assert result.drift_report is not None and result.drift_report.is_file()
    html = result.drift_report.read_text()
    assert "<html" in html and "http://" not in html and "https://" not in html
    assert {"amount", "distance_km"} <= set(result.drifted_columns)
    assert "transaction_id" not in result.drifted_columns  # an id is never tested
    assert any(line.startswith("drift") for line in lines)
    monitoring = loopml.runs(experiment=f"{EXPERIMENT}-monitoring", path=ws)
    assert monitoring["metrics.share_drifted"].iloc[0] > 0


def test_a_file_dropped_into_incoming_while_the_agent_runs_retrains_on_the_new_data(
    demo: tuple[DemoResult, list[str]],
) -> None:
    result, lines = demo
    ws = result.workspace
    store = loopml.workspace(ws).store
    [firing] = store.list_firings("fraud_retraining")
    assert firing.kind == "new_data" and firing.state == "done" and firing.attempts == 1
    assert firing.payload["file"].endswith("labelled-batch-0001.csv")
    assert firing.run_id == result.retrain_run_id
    run = loopml.get_run(result.retrain_run_id, path=ws)
    assert run.status == "finished" and run.tags["loopml.kind"] == "pipeline"
    assert run.tags["loopml.pipeline.target"] == "loopml.demo._pipeline:fraud_retraining"
    # The batch the agent registered, appended to the training data: transactions v3.
    incoming = loopml.datasets.get("fraud_retraining.incoming", 1, path=ws)
    assert incoming.rows == 1000
    assert result.retrain_dataset == "transactions/3"
    combined = loopml.datasets.get("transactions", 3, path=ws)
    assert combined.rows == 3000 + 1000
    assert {(name, version) for name, version, _ in combined.parents} == {
        ("transactions", 1),
        ("fraud_retraining.incoming", 1),
    }
    retrained = loopml.search_runs(
        EXPERIMENT, filter=f"tags.loopml.pipeline_run = '{run.id}'", path=ws
    )
    assert len(retrained) == 9 and all(r.status == "finished" for r in retrained)
    assert 0.75 < result.retrain_best_auc <= 1.0
    # The agent was stopped cleanly after its run.
    assert (ws / "agent.log").read_text().rstrip().endswith("agent: stopped")
    assert any(line.startswith("retrain") for line in lines)


def test_the_demo_registers_gates_and_promotes_its_models(
    demo: tuple[DemoResult, list[str]],
) -> None:
    result, lines = demo
    ws = result.workspace
    store = loopml.workspace(ws).store
    assert result.model_versions == ["models:/fraud/1", "models:/fraud/2"]
    first, second = store.get_model_version("fraud", 1), store.get_model_version("fraud", 2)
    assert first.dataset == ("transactions", 1) and second.dataset == ("transactions", 3)
    assert first.flavor == "sklearn" and {f.name for f in first.files} >= {
        "model.yaml",
        "model.skops",
        "input_example.json",
    }
    # Both gates ran on the same holdout; the first faced the thresholds only.
    assert set(result.verdicts) == {1, 2}
    assert first.verdict is not None and second.verdict is not None
    assert first.verdict["dataset"] == second.verdict["dataset"] == result.holdout
    assert first.verdict["champion"] is None and second.verdict["champion"] == 1
    assert any(r.startswith("pass infra") for r in first.verdict["reasons"])
    # The champion is the last blessed version, and the history shows how it got there.
    blessed = [v for v, ok in sorted(result.verdicts.items()) if ok]
    assert result.champion == f"models:/fraud/{blessed[-1]}"
    assert store.resolve_alias("fraud", "champion") == blessed[-1]
    kinds = [e.kind for e in store.model_history("fraud")]
    assert kinds.count("version_created") == 2 and kinds.count("gate_verdict") == 2
    assert kinds.count("alias_set") == len(blessed)
    champion = loopml.load_model("models:/fraud@champion", path=ws)
    holdout = loopml.datasets.get("transactions-holdout", 1, path=ws).to_pandas()
    scores = champion.predict_proba(holdout.drop(columns=["is_fraud", "transaction_id"]))
    assert scores.shape == (len(holdout), 2)
    assert any(line.startswith("gate") for line in lines)
    # Each gate wrote a model card; the demo copied it next to the workspace.
    assert [c.name for c in result.cards] == ["fraud-v1-card.html", "fraud-v2-card.html"]
    html = result.cards[0].read_text()
    assert "<html" in html and "ROC AUC" in html and "http://" not in html


def test_the_demo_serves_its_champion_logs_every_prediction_and_joins_the_labels(
    demo: tuple[DemoResult, list[str]],
) -> None:
    result, lines = demo
    ws = result.workspace
    # A real server answered every transaction; after the new champion it was hot-swapped.
    assert result.failed_requests == 0 and result.requests == 2 * 200
    assert result.served == ["models:/fraud/1", result.champion]
    assert any(line.startswith("swap") for line in lines)
    assert any(
        line.startswith("metrics") and "loopml_requests_total v1 200" in line for line in lines
    )
    # Every answered request is in the prediction log (written out on SIGTERM), labelled.
    log = loopml.predictions.read("fraud", path=ws)
    assert len(log) == result.logged_predictions == 400
    assert result.labelled_predictions == 400 and log["label"].notna().all()
    assert sorted(log["version"].unique()) == ["1", result.champion.rsplit("/", 1)[1]]
    holdout = loopml.datasets.get("transactions-holdout", 1, path=ws).to_pandas()
    first = holdout.iloc[0]
    row = log.set_index("prediction_id").loc[f"txn-{int(first['transaction_id'])}"]
    assert row["amount"] == first["amount"] and row["label"] == first["is_fraud"]
    assert set(result.live_accuracy) == {"1", result.champion.rsplit("/", 1)[1]}
    assert all(0.5 < a <= 1 for a in result.live_accuracy.values())
    assert [s.rows for s in loopml.predictions.segments("fraud", path=ws)] == [200, 200]


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
