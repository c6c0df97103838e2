"""Prometheus metrics: counted in-process, and scraped from a 2-worker server by a real
Prometheus and read back through its HTTP API."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import loopml
from loopml.serving._app import create_server
from tests.serving._helpers import free_port, served, stop


def _log_cancer() -> list[str]:
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    loopml.log_model(LogisticRegression(max_iter=5000).fit(x, y), "cancer", input_example=x.head(5))
    return list(x.columns)


def _rows(n: int) -> dict[str, object]:
    x, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    return {"dataframe_records": x.head(n).to_dict(orient="records")}


def test_requests_latency_and_predicted_classes_are_counted(project: Path) -> None:
    _log_cancer()
    server = create_server(["models:/cancer/1"])

    async def main() -> str:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for _ in range(3):
                assert (await client.post("/invocations", json=_rows(4))).status_code == 200
            bad = await client.post("/invocations", json={"dataframe_records": [{"x": 1}]})
            assert bad.status_code == 400
            response = await client.get("/metrics")
            assert response.headers["content-type"].startswith("text/plain")
            return response.text

    text = asyncio.run(main())
    assert (
        'loopml_requests_total{model="cancer",protocol="mlflow",status="200",version="1"} 3.0'
        in text
    )
    assert (
        'loopml_requests_total{model="cancer",protocol="mlflow",status="400",version="1"} 1.0'
        in text
    )
    assert 'loopml_predicted_rows_total{model="cancer",version="1"} 12.0' in text
    assert 'loopml_predicted_class_total{class="0",model="cancer",version="1"}' in text
    assert 'loopml_request_seconds_count{model="cancer",protocol="mlflow",version="1"} 4.0' in text
    assert 'loopml_model_loaded{model="cancer",version="1"} 1.0' in text
    assert 'loopml_in_flight{model="cancer",version="1"} 0.0' in text


@pytest.mark.slow
def test_a_real_prometheus_scrapes_every_workers_counts(project: Path, tmp_path: Path) -> None:
    _log_cancer()
    prom_port = free_port()
    with served(project, "models:/cancer/1", "--workers", "2") as (_, url):
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n"
            f"scrape_configs:\n  - job_name: loopml\n    static_configs:\n"
            f"      - targets: ['{url.removeprefix('http://')}']\n"
        )
        with httpx.Client(base_url=url) as client:
            for _ in range(40):  # new connections: the kernel spreads them over both workers
                client.headers["connection"] = "close"
                assert client.post("/invocations", json=_rows(2)).status_code == 200
        prometheus = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            query = f"http://127.0.0.1:{prom_port}/api/v1/query"
            deadline, value = time.monotonic() + 60, None
            while time.monotonic() < deadline:
                try:
                    result = httpx.get(
                        query, params={"query": "sum(loopml_requests_total)"}, timeout=2
                    ).json()["data"]["result"]
                except (httpx.HTTPError, KeyError, ValueError):
                    result = []
                if result:
                    value = float(result[0]["value"][1])
                    if value >= 40:
                        break
                time.sleep(0.5)
            assert value == 40.0  # every request, whichever worker answered it
            rows = httpx.get(
                query, params={"query": 'loopml_predicted_rows_total{model="cancer"}'}, timeout=2
            ).json()["data"]["result"]
            assert sum(float(r["value"][1]) for r in rows) == 80.0
        finally:
            stop(prometheus)
