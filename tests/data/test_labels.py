"""Labels that arrive later join onto an earlier dataset version as a new version."""

from __future__ import annotations

import pandas as pd
import pytest

import loopml


@pytest.fixture
def base(workspace_env: str) -> loopml.datasets.DatasetVersion:
    features = pd.DataFrame({"tx": [3, 1, 2, 4], "amount": [30.0, 10.0, 20.0, 40.0]})
    return loopml.datasets.register(features, "payments", roles={"tx": "id"})


def test_labels_join_by_id_keeping_every_row_in_order(
    base: loopml.datasets.DatasetVersion,
) -> None:
    labelled = loopml.datasets.attach_labels(base, pd.DataFrame({"tx": [1, 3], "is_fraud": [1, 0]}))
    assert labelled.name == "payments" and labelled.version == 2
    frame = labelled.to_pandas()
    assert frame["tx"].tolist() == [3, 1, 2, 4]
    assert frame["is_fraud"].tolist()[:2] == [0, 1]
    assert frame["is_fraud"].isna().tolist() == [False, False, True, True]
    assert labelled.roles["is_fraud"] == "target" and labelled.roles["tx"] == "id"
    assert labelled.parents == [("payments", 1, "features"), ("payments.labels", 1, "labels")]
    assert loopml.datasets.get("payments.labels").rows == 2


def test_a_second_batch_of_labels_fills_the_rows_still_missing(
    base: loopml.datasets.DatasetVersion,
) -> None:
    first = loopml.datasets.attach_labels(base, pd.DataFrame({"tx": [1], "is_fraud": [1]}))
    second = loopml.datasets.attach_labels(first, pd.DataFrame({"tx": [2], "is_fraud": [0]}))
    labels = second.to_pandas()["is_fraud"]
    assert labels.iloc[1:3].tolist() == [1, 0]
    assert labels.iloc[[0, 3]].isna().all()
    assert second.version == 3


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        (pd.DataFrame({"tx": [1, 1], "is_fraud": [0, 1]}), "more than once"),
        (pd.DataFrame({"other": [1], "is_fraud": [0]}), "no column 'tx'"),
        (pd.DataFrame({"tx": [1]}), "only the key"),
    ],
)
def test_bad_labels_are_refused_with_the_reason(
    base: loopml.datasets.DatasetVersion, labels: pd.DataFrame, words: str
) -> None:
    with pytest.raises(loopml.InvalidInputError, match=words):
        loopml.datasets.attach_labels(base, labels)


def test_without_an_id_column_the_key_must_be_named(workspace_env: str) -> None:
    plain = loopml.datasets.register(pd.DataFrame({"k": [1], "v": [2]}), "plain", roles={})
    with pytest.raises(loopml.InvalidInputError, match="on='column'"):
        loopml.datasets.attach_labels(plain, pd.DataFrame({"k": [1], "y": [1]}))
    labelled = loopml.datasets.attach_labels(plain, pd.DataFrame({"k": [1], "y": [1]}), on="k")
    assert labelled.to_pandas()["y"].tolist() == [1]
