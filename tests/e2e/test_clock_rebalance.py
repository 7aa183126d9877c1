"""Two workers in one group share the partitions; when one leaves mid-term, the other takes
its partitions (clocks and index from the changelogs) and every breach appears once."""

import asyncio
import tempfile

import httpx

from harness.processes import RunningProcess
from tests.e2e.conftest import start_worker
from tests.e2e.people import new_resident
from tests.e2e.test_request_clock import open_callback, poll, request_id_of, signals


async def test_breaches_survive_a_rebalance_exactly_once(
    client: httpx.AsyncClient, worker: RunningProcess, worker_id: str
) -> None:
    second = start_worker(worker_id, tempfile.mkdtemp(prefix="e2e-worker-"))
    try:
        await asyncio.sleep(8)  # the group rebalances over both workers
        residents = [new_resident() for _ in range(6)]
        for r in residents:
            await open_callback(client, r)
        ids = [await request_id_of(client, r) for r in residents]
        await asyncio.sleep(1)
        second.stop()  # a clean leave: its partitions move back to the first worker
        for rid in ids:
            await poll(
                lambda rid=rid: client.get(f"/v1/requests/{rid}"),
                lambda resp: signals(resp.json(), "breached"),
                timeout=60,
            )
        await asyncio.sleep(3)
        for rid in ids:
            body = (await client.get(f"/v1/requests/{rid}")).json()
            assert len(signals(body, "breached")) == 1, body
    finally:
        if second.process.poll() is None:
            second.stop()
