"""Hot swap: a new version loads beside the old and takes over atomically; no request fails."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import loopml
from loopml.serving._app import create_server
from tests.serving._helpers import served


def _log_two_versions() -> list[str]:
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    for c in (1.0, 0.01):
        model = LogisticRegression(C=c, max_iter=5000).fit(x, y)
        loopml.log_model(model, "cancer", input_example=x.head(5))
    return list(x.columns)


def _v2_body(n: int = 1) -> dict[str, object]:
    x, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    return {
        "inputs": [
            {
                "name": "x",
                "shape": [n, 30],
                "datatype": "FP64",
                "data": x.head(n).to_numpy().ravel().tolist(),
            }
        ]
    }


def test_a_swap_serves_the_new_version_and_keeps_the_old_one_addressable(project: Path) -> None:
    _log_two_versions()
    server = create_server(["models:/cancer/1"])

    async def main() -> None:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            before = await client.post("/v2/models/cancer/infer", json=_v2_body())
            assert before.json()["model_version"] == "1"
            swapped = await client.post("/v2/models/cancer/swap", json={"uri": "models:/cancer/2"})
            assert swapped.status_code == 200 and swapped.json()["version"] == "2"
            after = await client.post("/v2/models/cancer/infer", json=_v2_body())
            assert after.json()["model_version"] == "2"
            old = await client.post("/v2/models/cancer/versions/1/infer", json=_v2_body())
            assert old.status_code == 200 and old.json()["model_version"] == "1"
            meta = (await client.get("/v2/models/cancer")).json()
            assert meta["versions"] == ["1", "2"]
            for body, status, words in (
                ({"url": "x"}, 400, '{"uri"'),
                ({"uri": "models:/nope/1"}, 400, "no registered model 'nope'"),
                ({"uri": "not a uri"}, 400, "neither a models:/ reference"),
            ):
                bad = await client.post("/v2/models/cancer/swap", json=body)
                assert bad.status_code == status and words in bad.json()["error"]
            unknown = await client.post("/v2/models/other/swap", json={"uri": "models:/cancer/2"})
            assert unknown.status_code == 404
            # A failed swap leaves the served version as it was.
            last = await client.post("/v2/models/cancer/infer", json=_v2_body())
            assert last.json()["model_version"] == "2"

    asyncio.run(main())


@pytest.mark.slow
def test_a_swap_under_load_on_two_workers_fails_no_request(project: Path) -> None:
    _log_two_versions()
    results: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def load(url: str) -> None:
        while not stop.is_set():
            try:  # a new connection each time: the kernel spreads them over both workers
                response = httpx.post(f"{url}/v2/models/cancer/infer", json=_v2_body(), timeout=10)
                version = response.json().get("model_version", "") if response.is_success else ""
                results.append((time.monotonic(), response.status_code, version))
            except httpx.HTTPError as exc:
                results.append((time.monotonic(), 0, type(exc).__name__))

    with served(project, "models:/cancer/1", "--workers", "2") as (_, url):
        threads = [threading.Thread(target=load, args=(url,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        swapped = httpx.post(
            f"{url}/v2/models/cancer/swap", json={"uri": "models:/cancer/2"}, timeout=30
        )
        swap_done = time.monotonic()
        assert swapped.status_code == 200, swapped.text
        time.sleep(4)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    failed = [r for r in results if r[1] != 200]
    assert not failed, failed[:5]
    assert len(results) > 50
    before = {v for t, _, v in results if t < swap_done - 1.0}
    settled = {v for t, _, v in results if t > swap_done + 2.0}
    assert before == {"1"}
    assert settled == {"2"}  # both workers followed the swap
