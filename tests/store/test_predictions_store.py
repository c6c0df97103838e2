"""The prediction log in the metadata store: segments and labels, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from loopml import InvalidInputError
from loopml.store import Store

DIGEST = "sha256:" + "ab" * 32


def _digest(n: int) -> str:
    return "sha256:" + f"{n:064x}"


def test_a_segment_is_registered_once_per_digest_and_listed_oldest_first(store: Store) -> None:
    store.add_prediction_segment("fraud", "2", _digest(2), 10, 2_000, 2_500, "host-1")
    store.add_prediction_segment("fraud", "1", _digest(1), 5, 1_000, 1_900, "host-1")
    store.add_prediction_segment("fraud", "1", _digest(1), 5, 1_000, 1_900, "host-2")  # again
    store.add_prediction_segment("churn", "1", _digest(3), 7, 1_500, 1_600, "host-1")

    found = store.list_prediction_segments("fraud")

    assert [(s.version, s.rows, s.first_ms, s.last_ms) for s in found] == [
        ("1", 5, 1_000, 1_900),
        ("2", 10, 2_000, 2_500),
    ]
    assert found[0].source == "host-1" and found[0].digest == _digest(1)
    assert len(store.list_prediction_segments()) == 3
    assert [s.version for s in store.list_prediction_segments("fraud", version="2")] == ["2"]


def test_segments_are_chosen_by_the_time_they_overlap(store: Store) -> None:
    for n, (first, last) in enumerate([(0, 99), (100, 199), (200, 299)]):
        store.add_prediction_segment("fraud", "1", _digest(n), 1, first, last, "h")

    def firsts(**kw: int) -> list[int]:
        return [s.first_ms for s in store.list_prediction_segments("fraud", **kw)]  # type: ignore[arg-type]

    assert firsts(since_ms=150) == [100, 200]
    assert firsts(until_ms=150) == [0, 100]
    assert firsts(since_ms=120, until_ms=130) == [100]


def test_a_segments_digest_is_kept_by_gc(store: Store) -> None:
    store.add_prediction_segment("fraud", "1", DIGEST, 1, 0, 1, "h")
    assert DIGEST in store.referenced_digests()


def test_a_newer_label_replaces_the_older_and_labels_are_read_by_request_id(
    store: Store,
) -> None:
    assert store.add_prediction_labels("fraud", [("r1", 0), ("r2", "spam"), ("r3", [1, 2])]) == 3
    assert store.add_prediction_labels("fraud", [("r1", 1)], source="file:labels.csv") == 1
    assert store.add_prediction_labels("churn", [("r1", True)]) == 1

    assert store.get_prediction_labels("fraud") == {"r1": 1, "r2": "spam", "r3": [1, 2]}
    assert store.get_prediction_labels("fraud", ["r2", "nope"]) == {"r2": "spam"}
    assert store.get_prediction_labels("churn") == {"r1": True}


def test_thousands_of_labels_are_written_and_read_in_chunks(store: Store) -> None:
    labels = [(f"req-{i}", i % 2) for i in range(5_000)]
    assert store.add_prediction_labels("fraud", labels) == 5_000
    wanted = [f"req-{i}" for i in range(0, 5_000, 3)]
    found = store.get_prediction_labels("fraud", wanted)
    assert len(found) == len(wanted) and found["req-3"] == 1


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        ([("", 1)], "non-empty string"),
        ([("x" * 300, 1)], "at most 256"),
        ([(7, 1)], "non-empty string"),
        ([("r1", float("nan"))], "JSON value"),
        ([("r1", {1, 2})], "JSON value"),
    ],
    ids=["empty-id", "long-id", "int-id", "nan", "set"],
)
def test_a_bad_label_is_refused_and_nothing_is_stored(
    store: Store, labels: list[tuple[object, object]], words: str
) -> None:
    with pytest.raises(InvalidInputError, match=words):
        store.add_prediction_labels("fraud", [("good", 1), *labels])  # type: ignore[list-item]
    assert store.get_prediction_labels("fraud") == {}


def test_two_writers_labelling_the_same_predictions_at_once_leave_one_label_each(
    store: Store,
) -> None:
    errors: list[BaseException] = []

    def write(value: int) -> None:
        try:
            for start in range(0, 400, 100):
                store.add_prediction_labels(
                    "fraud", [(f"r{i}", value) for i in range(start, start + 100)]
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(v,)) for v in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    found = store.get_prediction_labels("fraud")
    assert len(found) == 400 and set(found.values()) <= {0, 1}
