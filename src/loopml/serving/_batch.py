"""Adaptive batching: the requests that queue while a model predicts are predicted together.

One ``predict`` over 64 rows costs about what one row costs (the cost of a one-row call is
Python overhead), so under load a batch turns many calls into one. There is no fixed wait by
default: a lone request waits for nobody, and under load a batch is whatever queued meanwhile
(up to ``max_batch_size`` rows). ``max_wait_s`` > 0 waits that long for more rows, which pays
only for models whose cost grows with the batch.

Predictions run in one thread per model, so the event loop stays free for health checks,
``/metrics`` and timeouts. If a batch fails, each request in it is predicted alone, so only the
request that made the model fail gets the error.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Outputs = dict[str, Any]


class Batcher:
    """Batches numeric matrices for one served model version (in one worker)."""

    def __init__(
        self,
        model: Any,
        *,
        name: str,
        proba: bool,
        max_batch_size: int = 64,
        max_wait_s: float = 0.0,
        observe: Any = None,
    ) -> None:
        self.model = model
        self.proba = proba
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.observe = observe  # called with each batch's row count (a histogram)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"loopml-{name}")
        self._queue: asyncio.Queue[tuple[Any, bool, asyncio.Future[Outputs]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _outputs(self, matrix: Any, proba: bool) -> Outputs:
        import numpy as np

        # Column-major, as a DataFrame's block is: the general path's layout, so that BLAS
        # sums in the same order and both paths give bit-identical results.
        matrix = np.asfortranarray(matrix)
        outputs = {"predict": self.model.predict(matrix)}
        if proba:
            outputs["predict_proba"] = self.model.predict_proba(matrix)
        return outputs

    async def predict(self, matrix: Any, proba: bool) -> Outputs:
        """The outputs for ``matrix`` (``predict``, and ``predict_proba`` if asked)."""
        if self.max_batch_size <= 1:  # batching off: one call per request, still off the loop
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, self._outputs, matrix, proba)
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:  # first use, or a new event loop
            self._queue, self._loop = asyncio.Queue(), loop
            self._task = None
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(self._queue))
        future: asyncio.Future[Outputs] = loop.create_future()
        # A request that gives up (a timeout) cancels its future; the batch skips it. An error
        # set on a future nobody awaits any more is marked seen, so asyncio logs nothing.
        future.add_done_callback(_seen)
        self._queue.put_nowait((matrix, proba, future))
        return await future

    async def _run(self, queue: asyncio.Queue[tuple[Any, bool, asyncio.Future[Outputs]]]) -> None:
        loop = asyncio.get_running_loop()
        carried = None  # a request that did not fit the last batch opens the next one
        while True:
            items = [carried if carried is not None else await queue.get()]
            carried = None
            rows = len(items[0][0])
            deadline = loop.time() + self.max_wait_s
            while rows < self.max_batch_size:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(queue.get(), remaining)
                    except TimeoutError:
                        break
                if rows + len(item[0]) > self.max_batch_size:
                    carried = item
                    break
                items.append(item)
                rows += len(item[0])
            await self._predict_batch(loop, items, rows)

    async def _predict_batch(
        self,
        loop: asyncio.AbstractEventLoop,
        items: list[tuple[Any, bool, asyncio.Future[Outputs]]],
        rows: int,
    ) -> None:
        import numpy as np

        if self.observe is not None:
            self.observe(rows)
        proba = any(item[1] for item in items)
        try:
            matrices = [item[0] for item in items]
            matrix = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
            outputs = await loop.run_in_executor(self.executor, self._outputs, matrix, proba)
        except Exception as failure:
            if len(items) == 1:
                _settle(items[0][2], exception=failure)
                return
            for one in items:  # find the request that made the batch fail
                try:
                    alone = await loop.run_in_executor(self.executor, self._outputs, one[0], one[1])
                except Exception as exc:
                    _settle(one[2], exception=exc)
                else:
                    _settle(one[2], result=alone)
            return
        start = 0
        for matrix_i, wants_proba, future in items:
            stop = start + len(matrix_i)
            part = {"predict": outputs["predict"][start:stop]}
            if wants_proba:
                part["predict_proba"] = outputs["predict_proba"][start:stop]
            _settle(future, result=part)
            start = stop

    def close(self) -> None:
        """Stop batching; safe from any thread (the task is cancelled on its own loop)."""
        task, loop = self._task, self._loop
        if task is not None and not task.done() and loop is not None and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                task.cancel()
            else:
                loop.call_soon_threadsafe(task.cancel)
        self.executor.shutdown(wait=False, cancel_futures=True)


def _seen(future: asyncio.Future[Outputs]) -> None:
    if not future.cancelled():
        future.exception()


def _settle(
    future: asyncio.Future[Outputs],
    *,
    result: Outputs | None = None,
    exception: BaseException | None = None,
) -> None:
    if future.done():  # the request gave up (a timeout, a disconnect)
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        assert result is not None
        future.set_result(result)
