"""Adaptive batching (``serving._batch.Batcher``): the requests that queue while a model
predicts are predicted together in one call, each gets exactly its own rows back, a failed batch
is retried request by request, and the batcher survives timeouts and new event loops.

Small fake models count their calls and rows; a ``threading.Event`` gate holds the first call so
that requests queue up behind it. One test drives the real server with a real model.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.serving._app import create_server
from loopml.serving._batch import Batcher


class Doubler:
    """``predict`` is twice the first column, ``predict_proba`` is [x, 1 - x] of it. Records
    the rows of every call and the thread it ran in; ``gate`` holds every call until it is set
    (``entered`` says a call is being held)."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.entered = threading.Event()
        self.calls: list[int] = []
        self.proba_calls: list[int] = []
        self.threads: set[str] = set()

    def check(self, matrix: Any) -> None:
        """Refuse a matrix (subclasses)."""

    def predict(self, matrix: Any) -> Any:
        self.calls.append(len(matrix))
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        self.check(matrix)
        return matrix[:, 0] * 2

    def predict_proba(self, matrix: Any) -> Any:
        self.proba_calls.append(len(matrix))
        return np.column_stack([matrix[:, 0], 1 - matrix[:, 0]])


class RefusesNegatives(Doubler):
    """Raises if any row of a call holds a negative value: one bad request fails its batch."""

    def check(self, matrix: Any) -> None:
        if (matrix < 0).any():
            raise ValueError("negative measurements are impossible")


def rows(request: int, count: int) -> Any:
    """``count`` rows that belong to ``request`` alone: first column request * 100 + row."""
    first = request * 100.0 + np.arange(count)
    return np.column_stack([first, np.full(count, 0.5)])


def answer(matrix: Any, proba: bool) -> dict[str, Any]:
    """What a Doubler answers for ``matrix``."""
    out = {"predict": matrix[:, 0] * 2}
    if proba:
        out["predict_proba"] = np.column_stack([matrix[:, 0], 1 - matrix[:, 0]])
    return out


def assert_answer(got: dict[str, Any], matrix: Any, proba: bool) -> None:
    expected = answer(matrix, proba)
    assert list(got) == list(expected)  # predict_proba only for those that asked
    for name, value in expected.items():
        assert np.array_equal(got[name], value), name


async def hold(batcher: Batcher, model: Doubler, matrix: Any) -> asyncio.Task[Any]:
    """Start a request and wait until the model is running it, held by its gate."""
    task = asyncio.create_task(batcher.predict(matrix, False))
    assert await asyncio.to_thread(model.entered.wait, 5)
    return task


async def queued(batcher: Batcher, requests: list[tuple[Any, bool]]) -> list[asyncio.Task[Any]]:
    """Submit ``requests`` and let them reach the queue."""
    tasks = [asyncio.create_task(batcher.predict(m, p)) for m, p in requests]
    await asyncio.sleep(0.05)
    return tasks


# -- batching ----------------------------------------------------------------------------------
def test_requests_that_queue_while_a_batch_runs_are_predicted_together_in_one_call() -> None:
    gate = threading.Event()
    model = Doubler(gate)
    sizes: list[int] = []
    batcher = Batcher(model, name="m", proba=True, observe=sizes.append)
    first = rows(0, 1)
    requests = [(rows(i, i % 3 + 1), i % 2 == 0) for i in range(1, 11)]

    async def main() -> tuple[Any, list[Any]]:
        held = await hold(batcher, model, first)
        waiting = await queued(batcher, requests)
        assert model.calls == [1]  # the ten wait for the held call
        gate.set()
        return await held, await asyncio.gather(*waiting)

    try:
        alone, together = asyncio.run(main())
    finally:
        batcher.close()

    queued_rows = sum(len(m) for m, _ in requests)
    assert model.calls == [1, queued_rows]  # two calls for eleven requests
    assert model.proba_calls == [queued_rows]  # once, for the batch (some of it asked)
    assert sizes == [1, queued_rows]  # observe saw each batch's row count
    assert_answer(alone, first, False)
    for (matrix, proba), got in zip(requests, together, strict=True):
        assert_answer(got, matrix, proba)  # its own rows, in order
    assert model.threads == {"loopml-m_0"}  # one thread per model


def test_max_batch_size_caps_the_rows_of_each_call() -> None:
    gate = threading.Event()
    model = Doubler(gate)
    batcher = Batcher(model, name="m", proba=False, max_batch_size=4)
    requests = [(rows(i, 1), False) for i in range(1, 11)]

    async def main() -> list[Any]:
        held = await hold(batcher, model, rows(0, 1))
        waiting = await queued(batcher, requests)
        gate.set()
        await held
        return await asyncio.gather(*waiting)

    try:
        answers = asyncio.run(main())
    finally:
        batcher.close()

    assert model.calls == [1, 4, 4, 2]
    for (matrix, proba), got in zip(requests, answers, strict=True):
        assert_answer(got, matrix, proba)


def test_a_request_larger_than_max_batch_size_is_predicted_whole_and_alone() -> None:
    model = Doubler()
    batcher = Batcher(model, name="m", proba=False, max_batch_size=8)
    big = rows(1, 100)

    try:
        got = asyncio.run(batcher.predict(big, False))
    finally:
        batcher.close()

    assert model.calls == [100]
    assert_answer(got, big, False)


def test_a_request_that_would_take_a_batch_over_max_batch_size_opens_the_next_one() -> None:
    gate = threading.Event()
    model = Doubler(gate)
    batcher = Batcher(model, name="m", proba=False, max_batch_size=8)
    requests = [(rows(i, 3), False) for i in range(1, 11)]

    async def main() -> list[Any]:
        held = await hold(batcher, model, rows(0, 3))
        waiting = await queued(batcher, requests)
        gate.set()
        await held
        return await asyncio.gather(*waiting)

    try:
        answers = asyncio.run(main())
    finally:
        batcher.close()

    assert model.calls == [3, 6, 6, 6, 6, 6]  # two 3-row requests fit in 8, a third does not
    for (matrix, proba), got in zip(requests, answers, strict=True):
        assert_answer(got, matrix, proba)


def test_max_batch_size_1_turns_batching_off_one_call_per_request() -> None:
    gate = threading.Event()
    model = Doubler(gate)
    batcher = Batcher(model, name="m", proba=True, max_batch_size=1)
    requests = [(rows(i, 2), i % 2 == 0) for i in range(1, 6)]

    async def main() -> list[Any]:
        held = await hold(batcher, model, rows(0, 2))
        waiting = await queued(batcher, requests)
        gate.set()
        await held
        return await asyncio.gather(*waiting)

    try:
        answers = asyncio.run(main())
    finally:
        batcher.close()

    assert model.calls == [2] * 6
    assert model.proba_calls == [2, 2]  # only requests 2 and 4 asked
    for (matrix, proba), got in zip(requests, answers, strict=True):
        assert_answer(got, matrix, proba)
    assert model.threads == {"loopml-m_0"}  # still off the event loop


# -- waiting -----------------------------------------------------------------------------------
def test_a_lone_request_waits_for_nobody_when_max_wait_is_0() -> None:
    model = Doubler()
    eager = Batcher(model, name="eager", proba=False, max_wait_s=0.0)
    patient = Batcher(model, name="patient", proba=False, max_wait_s=0.05)

    async def timed(batcher: Batcher, request: int) -> float:
        start = time.perf_counter()
        got = await batcher.predict(rows(request, 1), False)
        assert_answer(got, rows(request, 1), False)
        return time.perf_counter() - start

    async def main() -> tuple[list[float], float]:
        await timed(eager, 0)  # the worker thread starts
        return [await timed(eager, i) for i in range(1, 6)], await timed(patient, 9)

    try:
        eager_times, patient_time = asyncio.run(main())
    finally:
        eager.close()
        patient.close()

    assert sorted(eager_times)[2] < 0.02, eager_times  # the median: well under 50 ms
    assert patient_time >= 0.04  # max_wait_s=0.05 waits for company that never comes
    assert model.calls == [1] * 7


def test_a_second_request_within_max_wait_joins_the_first_batch() -> None:
    model = Doubler()
    batcher = Batcher(model, name="m", proba=True, max_wait_s=0.05)
    first, second = rows(1, 2), rows(2, 3)

    async def main() -> list[Any]:
        one = asyncio.create_task(batcher.predict(first, False))
        await asyncio.sleep(0.005)
        two = asyncio.create_task(batcher.predict(second, True))
        return list(await asyncio.gather(one, two))

    try:
        got_first, got_second = asyncio.run(main())
    finally:
        batcher.close()

    assert model.calls == [5]
    assert_answer(got_first, first, False)
    assert_answer(got_second, second, True)


# -- failures ----------------------------------------------------------------------------------
def test_a_batch_that_fails_is_retried_request_by_request_and_only_the_bad_one_fails() -> None:
    gate = threading.Event()
    model = RefusesNegatives(gate)
    sizes: list[int] = []
    batcher = Batcher(model, name="m", proba=True, observe=sizes.append)
    bad = rows(2, 2)
    bad[1, 1] = -1.0
    requests = [(rows(1, 3), False), (bad, False), (rows(3, 1), True), (rows(4, 2), False)]

    async def main() -> tuple[Any, list[Any]]:
        held = await hold(batcher, model, rows(0, 1))
        waiting = await queued(batcher, requests)
        gate.set()
        return await held, await asyncio.gather(*waiting, return_exceptions=True)

    try:
        first, answers = asyncio.run(main())
    finally:
        batcher.close()

    assert_answer(first, rows(0, 1), False)
    assert isinstance(answers[1], ValueError) and "negative" in str(answers[1])
    for i in (0, 2, 3):
        assert_answer(answers[i], *requests[i])
    assert model.calls == [1, 8, 3, 2, 1, 2]  # the batch of 8 failed, then one by one
    assert sizes == [1, 8]


def test_a_lone_request_that_makes_the_model_fail_gets_the_error_and_the_next_is_answered() -> None:
    model = RefusesNegatives()
    batcher = Batcher(model, name="m", proba=False)

    async def main() -> Any:
        with pytest.raises(ValueError, match="negative"):
            await batcher.predict(-rows(1, 2), False)
        return await batcher.predict(rows(2, 2), False)

    try:
        got = asyncio.run(main())
    finally:
        batcher.close()

    assert_answer(got, rows(2, 2), False)


def test_a_request_that_gives_up_does_not_break_the_batcher(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = threading.Event()
    model = Doubler(gate)
    batcher = Batcher(model, name="m", proba=False)

    async def main() -> list[Any]:
        impatient = asyncio.create_task(asyncio.wait_for(batcher.predict(rows(0, 1), False), 0.1))
        assert await asyncio.to_thread(model.entered.wait, 5)
        waiting = await queued(batcher, [(rows(1, 2), False), (rows(2, 1), False)])
        with pytest.raises(TimeoutError):
            await impatient  # gives up while its batch is held
        gate.set()
        answered = list(await asyncio.gather(*waiting))
        later = await asyncio.wait_for(batcher.predict(rows(3, 4), False), 5)
        return [*answered, later]

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        try:
            answers = asyncio.run(main())
        finally:
            batcher.close()

    for request, got in zip((1, 2, 3), answers, strict=True):
        assert_answer(got, rows(request, len(got["predict"])), False)
    assert model.calls == [1, 3, 4]
    assert not [r for r in caplog.records if r.name == "asyncio"]


def test_a_request_that_gives_up_before_its_prediction_fails_leaves_no_error_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = threading.Event()
    model = RefusesNegatives(gate)
    batcher = Batcher(model, name="m", proba=False)

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(batcher.predict(-rows(1, 1), False), 0.05)
        gate.set()
        answered = await asyncio.wait_for(batcher.predict(rows(2, 1), False), 5)
        assert_answer(answered, rows(2, 1), False)
        gc.collect()  # the failed future is in a cycle with its traceback

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        try:
            asyncio.run(main())
        finally:
            batcher.close()
        gc.collect()

    assert model.calls == [1, 1]
    assert not [r.getMessage() for r in caplog.records if r.name == "asyncio"]


# -- lifecycle ---------------------------------------------------------------------------------
def test_the_same_batcher_serves_one_event_loop_after_another() -> None:
    gate = threading.Event()
    model = Doubler(gate)
    batcher = Batcher(model, name="m", proba=True)

    async def burst(start: int) -> list[Any]:
        model.entered.clear()
        gate.clear()
        held = await hold(batcher, model, rows(start, 1))
        waiting = await queued(batcher, [(rows(start + i, 1), True) for i in range(1, 4)])
        gate.set()
        return [await held, *await asyncio.gather(*waiting)]

    try:
        first = asyncio.run(burst(10))
        second = asyncio.run(burst(20))  # a new event loop: a new queue and worker task
    finally:
        batcher.close()

    for start, answers in ((10, first), (20, second)):
        assert_answer(answers[0], rows(start, 1), False)
        for i, got in enumerate(answers[1:], start=1):
            assert_answer(got, rows(start + i, 1), True)
    assert model.calls == [1, 3, 1, 3]  # batched in both loops
    assert model.threads == {"loopml-m_0"}


def test_close_stops_the_batcher() -> None:
    model = Doubler()
    batcher = Batcher(model, name="m", proba=False)

    async def main() -> None:
        assert_answer(await batcher.predict(rows(1, 1), False), rows(1, 1), False)
        worker = batcher._task
        assert worker is not None and not worker.done()

        batcher.close()

        for _ in range(100):
            if worker.done():
                break
            await asyncio.sleep(0.01)
        assert worker.cancelled()
        with pytest.raises(RuntimeError, match="shutdown"):  # refused at once, not left hanging
            await asyncio.wait_for(batcher.predict(rows(2, 1), False), 5)

    asyncio.run(main())

    assert model.calls == [1]
    assert batcher.executor._shutdown


# -- through the server ------------------------------------------------------------------------
def _metric(text: str, name: str) -> float:
    pattern = rf'^{name}\{{model="cancer",version="1"\}} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None, (name, text[:2000])
    return float(found.group(1))


def test_concurrent_requests_to_the_server_are_batched_and_each_answered_correctly(
    project: Path,
) -> None:
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    loopml.log_model(model, "cancer", input_example=x.head(5))
    server = create_server(["models:/cancer/1"], prediction_log="off")
    assert server.latest["cancer"].fast is not None
    picks = [int(i) for i in np.random.default_rng(0).choice(len(x), 50, replace=False)]

    def body(n: int) -> dict[str, Any]:
        row = x.iloc[[picks[n]]]
        doc: dict[str, Any] = {
            "id": f"r{n}",
            "inputs": [
                {"name": "x", "shape": [1, 30], "datatype": "FP64", "data": row.to_numpy().tolist()}
            ],
        }
        if n % 2:
            doc["outputs"] = [{"name": "predict"}, {"name": "predict_proba"}]
        return doc

    async def main() -> tuple[list[httpx.Response], str]:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://loopml") as client:
            answers = await asyncio.gather(
                *(client.post("/v2/models/cancer/infer", json=body(n)) for n in range(50))
            )
            metrics = await client.get("/metrics")
            return list(answers), metrics.text

    try:
        answers, metrics = asyncio.run(main())
    finally:
        server.close()

    expected = model.predict(x.iloc[picks])
    proba = model.predict_proba(x.iloc[picks])
    for n, response in enumerate(answers):
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["id"] == f"r{n}"
        outputs = {o["name"]: o["data"] for o in doc["outputs"]}
        assert list(outputs) == (["predict", "predict_proba"] if n % 2 else ["predict"])
        assert outputs["predict"] == [expected[n]]
        if n % 2:
            np.testing.assert_allclose(outputs["predict_proba"], proba[n], rtol=1e-12)
    batches = _metric(metrics, "loopml_batch_size_count")
    batched_rows = _metric(metrics, "loopml_batch_size_sum")
    assert batched_rows == 50
    assert batched_rows > batches  # at least one batch held more than one request
