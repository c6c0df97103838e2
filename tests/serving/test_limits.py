"""Overload and slowness: a bounded number of requests per model, and a prediction timeout."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import numpy as np
import orjson

from loopml.serving._app import ServedModel, Server


class SlowModel:
    """Stands in for a LoadedModel whose predict takes ``seconds`` (or waits for ``gate``)."""

    flavor = "pyfunc"
    has_predict_proba = False
    input_example = None
    signature = None

    def __init__(self, seconds: float = 0.0, gate: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.gate = gate

    def predict(self, data: Any) -> Any:
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(self.seconds)
        return np.zeros(len(data))


def _served(model: SlowModel) -> ServedModel:
    served = ServedModel(
        name="slow", version="1", loaded=model, inputs=[{"name": "x", "type": "float64"}]
    )
    served.warm_up()
    return served


BODY = orjson.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]})


async def _post(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/v2/models/slow/infer", content=BODY)


def test_a_prediction_slower_than_the_timeout_is_answered_504_and_the_server_goes_on() -> None:
    server = Server([_served(SlowModel(seconds=0.5))], timeout_s=0.1)

    async def main() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            slow = await _post(client)
            server.timeout_s = 5.0
            return slow, await _post(client)

    slow, fine = asyncio.run(main())
    assert slow.status_code == 504
    assert "took longer than 0.1 s" in slow.json()["error"]
    assert fine.status_code == 200 and fine.json()["outputs"][0]["data"] == [0.0]


def test_requests_beyond_the_limit_are_refused_503_at_once_and_the_rest_answered() -> None:
    gate = threading.Event()
    server = Server([_served(SlowModel(gate=gate))], max_in_flight=4)

    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            waiting = [asyncio.create_task(_post(client)) for _ in range(4)]
            await asyncio.sleep(0.2)  # the four are in flight, held by the gate
            refused = await asyncio.gather(*(_post(client) for _ in range(20)))
            assert all("busy" in r.json()["error"] for r in refused)
            assert all(r.headers["retry-after"] == "1" for r in refused)
            gate.set()
            answered = await asyncio.gather(*waiting)
            after = await _post(client)  # the count went back down
            return (
                [r.status_code for r in refused]
                + [r.status_code for r in answered]
                + [after.status_code]
            )

    codes = asyncio.run(main())
    assert codes == [503] * 20 + [200] * 4 + [200]
    assert server.in_flight == {"slow/1": 0}
