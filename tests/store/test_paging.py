"""Pages of a search, in any size, put together give exactly the whole ordered result."""

from __future__ import annotations

import math

import pytest

from loopml.store import MetricPoint, Store


@pytest.fixture
def mixed_runs(store: Store) -> list[str]:
    """Runs with a metric, with NaN for it, and without it; a param on some."""
    ids = []
    values = [0.5, 0.9, None, 0.1, math.nan, 0.9, None, 0.3, math.nan, 0.7, None]
    for n, value in enumerate(values):
        run = store.create_run("paging", name=f"r{n}")
        if value is not None:
            store.log_metrics(run.id, [MetricPoint("auc", value, 0, 1)])
        if n % 2 == 0:
            store.log_params(run.id, {"kind": "even"})
        ids.append(run.id)
    return ids


@pytest.mark.parametrize("order_by", ["metrics.auc desc", "metrics.auc asc", "params.kind desc"])
@pytest.mark.parametrize(
    "filter", [None, "name != 'r0'", "metrics.auc > 0.2 or params.kind = 'even'"]
)
def test_every_page_size_and_offset_reassembles_the_full_result(
    store: Store, mixed_runs: list[str], order_by: str, filter: str | None
) -> None:
    full = [r.id for r in store.search_runs(filter=filter, order_by=order_by, limit=None)]
    assert full, "the filter should match something"
    for size in (1, 2, 3, 5, 20):
        pages: list[str] = []
        for offset in range(0, len(full) + size, size):
            pages += [
                r.id
                for r in store.search_runs(
                    filter=filter, order_by=order_by, limit=size, offset=offset
                )
            ]
        assert pages == full, (size, order_by, filter)


def test_nan_sorts_after_numbers_and_missing_values_come_last(
    store: Store, mixed_runs: list[str]
) -> None:
    found = store.search_runs(order_by="metrics.auc desc", limit=None)
    values = [r.metrics.get("auc") for r in found]
    numbers = [v for v in values if v is not None and not math.isnan(v)]
    assert numbers == sorted(numbers, reverse=True)
    assert values[: len(numbers)] == numbers
    nans = values[len(numbers) : len(numbers) + 2]
    assert all(v is not None and math.isnan(v) for v in nans)
    assert values[len(numbers) + 2 :] == [None, None, None]


def test_an_offset_past_every_run_with_the_key_pages_into_the_runs_without_it(
    store: Store, mixed_runs: list[str]
) -> None:
    full = store.search_runs(order_by="metrics.auc desc", limit=None)
    tail = store.search_runs(order_by="metrics.auc desc", limit=2, offset=9)
    assert [r.id for r in tail] == [r.id for r in full[9:11]]
    assert all("auc" not in r.metrics for r in tail)
