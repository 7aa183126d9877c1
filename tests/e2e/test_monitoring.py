"""A real Prometheus (Debian's) with the shipped config scrapes every process of the stack
while the simulator runs; the KPI API and the KPI gauges agree."""

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.processes import RunningApi, RunningProcess, free_port, start_process

SHIPPED = Path(__file__).parents[2] / "deploy" / "prometheus"


@pytest.fixture
def prometheus(api: RunningApi, worker: RunningProcess, projector: RunningProcess) -> Iterator[str]:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: run `make test-tools` (Debian package prometheus)"
    workdir = Path(tempfile.mkdtemp(prefix="prometheus-"))
    config = (SHIPPED / "prometheus.yml").read_text()
    # The shipped targets, moved to the ports this test's processes listen on.
    config = (
        config.replace("127.0.0.1:8080", api.base_url.removeprefix("http://"))
        .replace("127.0.0.1:9102", f"127.0.0.1:{worker.metrics_port}")
        .replace("127.0.0.1:9101", f"127.0.0.1:{projector.metrics_port}")
        .replace("scrape_interval: 5s", "scrape_interval: 1s")
    )
    (workdir / "prometheus.yml").write_text(config)
    shutil.copy(SHIPPED / "alerts.yml", workdir / "alerts.yml")
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    log.close()  # the child keeps its own descriptor
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/-/ready").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, (workdir / "prometheus.log").read_text()[-2000:]
        time.sleep(0.3)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def query(client: httpx.AsyncClient, url: str, expr: str) -> list[dict]:  # type: ignore[type-arg]
    response = await client.get(f"{url}/api/v1/query", params={"query": expr})
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["result"])


async def test_prometheus_scrapes_every_process_with_data(
    prometheus: str, api: RunningApi, client: httpx.AsyncClient
) -> None:
    simulator = start_process(
        "simulate",
        ["simulate", "--rate", "20", "--duration", "15", "--quiet", "--seed", "5"],
        {
            "CONTACTMOMENT_API_PORT": api.base_url.rsplit(":", 1)[1],
            "CONTACTMOMENT_API_TOKEN": api.token,
        },
    )
    try:
        simulator.process.wait(timeout=60)
    finally:
        if simulator.process.poll() is None:
            simulator.stop()
    await asyncio.sleep(20)  # scrapes, and the projector's 15 s gauge refresh
    async with httpx.AsyncClient(timeout=30) as prom:
        targets = (await prom.get(f"{prometheus}/api/v1/targets")).json()["data"]["activeTargets"]
        assert sorted(t["labels"]["job"] for t in targets) == [
            "contactmoment-api",
            "contactmoment-projector",
            "contactmoment-worker",
        ]
        assert all(t["health"] == "up" for t in targets), targets
        for expr in (
            'sum(contactmoment_ingest_total{result="accepted"}) > 0',
            "sum(contactmoment_events_processed_total) > 0",
            "sum(contactmoment_events_projected_total) > 0",
            "count(contactmoment_requests_open) > 0",
            'count(contactmoment_consumer_lag{job="contactmoment-projector"}) > 0',
            'count(contactmoment_consumer_lag{job="contactmoment-worker"}) > 0',
            "count(contactmoment_kpi_ratio) > 0",
            "count(contactmoment_http_request_duration_seconds_bucket) > 0",
            "count(contactmoment_projection_lag_seconds) > 0",
            "count(contactmoment_event_lag_seconds_bucket) > 0",
        ):
            assert await query(prom, prometheus, expr), f"no data for {expr}"
        rules = (await prom.get(f"{prometheus}/api/v1/rules")).json()["data"]["groups"]
        assert len(rules[0]["rules"]) == 5

        # The gauge and the API compute the same KPI from the same read model.
        kpis = (await client.get("/v1/kpis")).json()
        gauge = await query(
            prom,
            prometheus,
            'max(contactmoment_kpi_ratio{principle="persoonlijk",kpi="first_contact_resolution"})',
        )
    api_value = kpis["persoonlijk"]["first_contact_resolution"]["value"]
    assert api_value is not None and gauge
    assert float(gauge[0]["value"][1]) == pytest.approx(api_value, abs=0.02)


async def test_kpi_api_validates_its_window(client: httpx.AsyncClient) -> None:
    bad = await client.get(
        "/v1/kpis", params={"from": "2026-11-30T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    )
    assert bad.status_code == 422
    ok = await client.get(
        "/v1/kpis", params={"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}
    )
    body = ok.json()
    assert ok.status_code == 200 and set(body) >= {
        "duidelijk",
        "betrouwbaar",
        "klant_geholpen",
        "persoonlijk",
        "leren",
        "anticiperen",
    }
    assert re.match(r"2026-01-01T00:00:00\+00:00", body["from"])
