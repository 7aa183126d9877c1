"""Sealed free text and erasure, end to end: the API seals, the projector opens, and an
erasure leaves nothing readable — not in PostgreSQL, not on Kafka, not after a replay."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from harness.kafka import create_topic, read_all
from schemas.envelope import decode
from schemas.topics import ACCESS, EVENTS, NOTIFICATIONS, SIGNALS
from services.privacy.crypto import master_key
from services.privacy.erasure import PURGED
from services.privacy.keystore import KeyStore
from services.privacy.sealing import key_ids
from services.projector.apply import ProjectionConfig
from services.projector.replay import replay
from services.settings import Settings
from tests.e2e.people import Resident, new_resident
from tests.e2e.test_unified_view import eventually


async def contacts_with_free_text(
    client: httpx.AsyncClient, r: Resident, round: str = "1"
) -> tuple[str, list[str]]:
    """A call with notes and a web form with a message; returns the key and the texts."""
    now = datetime.now(UTC)
    texts = [
        f"Notitie-{r.tag}-{round}: buurman geeft overlast",
        f"Bericht-{r.tag}-{round}: mijn uitkering",
    ]
    call = await client.post(
        "/v1/ingest/phone",
        json={
            "call_id": f"erase-call-{r.tag}-{round}",
            "direction": "inbound",
            "caller": r.phone,
            "started_at": (now - timedelta(minutes=3)).isoformat(),
            "queue": "KCC",
            "agent": "medewerker-07",
            "bsn": r.bsn,
            "subject": "overlast",
            "notes": texts[0],
            "outcome": "answered",
        },
    )
    form = await client.post(
        "/v1/ingest/web",
        json={
            "submission_id": f"erase-form-{r.tag}-{round}",
            "form": "Vraag stellen",
            "submitted_at": (now - timedelta(minutes=2)).isoformat(),
            "auth": {"method": "digid", "bsn": r.bsn},
            "contact": {"email": r.email},
            "subject": "uitkering",
            "message": texts[1],
            "request_type": "question",
        },
    )
    assert call.status_code == form.status_code == 202, (call.text, form.text)
    return call.json()["customer_key"], texts


async def rows_of(conn: asyncpg.Connection, schema: str, keys: list[str]) -> dict[str, int]:
    return {
        table: await conn.fetchval(
            f"SELECT count(*) FROM {schema}.{table} WHERE customer_key = ANY($1)",
            keys,
        )
        for table in PURGED
    }


async def test_erasure_leaves_nothing_readable(
    client: httpx.AsyncClient, settings: Settings, worker: Any, unique: str
) -> None:
    gone, kept = new_resident(), new_resident()
    key, texts = await contacts_with_free_text(client, gone)
    kept_key, kept_texts = await contacts_with_free_text(client, kept)

    # The projector opened the sealed text for staff …
    for k, t in ((key, texts), (kept_key, kept_texts)):
        page = await eventually(
            lambda k=k: client.get(f"/v1/customers/{k}/timeline"),
            lambda r: r.status_code == 200 and len(r.json()["items"]) >= 3,
        )
        assert set(t) <= {i["summary"] for i in page.json()["items"]}
    # An application still running when the erasure comes: due after it (8 s norm).
    due_soon = datetime.now(UTC) + timedelta(seconds=10)
    application = await client.post(
        "/v1/ingest/web",
        json={
            "submission_id": f"erase-application-{gone.tag}",
            "form": "Vergunning",
            "submitted_at": due_soon.isoformat(),
            "auth": {"method": "digid", "bsn": gone.bsn},
            "subject": "vergunning",
            "message": "Aanvraag",
            "request_type": "application",
        },
    )
    assert application.status_code == 202, application.text
    running = await eventually(
        lambda: client.get("/v1/requests", params={"department": "Vergunning"}),
        lambda r: key in {i["customer_key"] for i in r.json()["items"]},
    )
    running_id = next(i["request_id"] for i in running.json()["items"] if i["customer_key"] == key)
    cluster = (await client.get(f"/v1/customers/{key}")).json()
    keys = [key, *(link["customer_key"] for link in cluster["linked_keys"])]
    masked = [i["masked"] for i in cluster["identifiers"]]

    # … while Kafka only ever held ciphertext.
    records = await read_all(settings.kafka_bootstrap, EVENTS)
    mine = [r for r in records if r.key and r.key.decode() in keys]
    assert len(mine) >= 3
    for record in records:  # (masked forms repeat between people: checked on theirs only)
        for secret in [*texts, gone.bsn, *(masked if record in mine else [])]:
            assert secret.encode() not in record.value, "plain personal text on the topic"
    sealed_ids = {k for r in mine for k in key_ids(decode(r.value))}
    assert sealed_ids, "the customer's events carry sealed fields"

    # Erase (the command a privacy officer runs).
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "services.cli", "privacy", "erase", "--customer", key, "--yes"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
    assert process.returncode == 0, output
    assert f"erased {key}" in output
    assert gone.bsn not in output

    # The worker was told: the running application's clock is gone with the rest, so no
    # breach, reminder or notification about the erased history goes out after it.
    await asyncio.sleep(
        max(0.0, (due_soon + timedelta(seconds=12) - datetime.now(UTC)).total_seconds())
    )
    after = [
        decode(r.value)
        for topic in (SIGNALS, NOTIFICATIONS)
        for r in await read_all(settings.kafka_bootstrap, topic)
    ]
    about = [e for e in after if getattr(e.data, "request_id", None) == running_id]
    assert about == [], [e.type.value for e in about]

    conn = await asyncpg.connect(settings.database_url)
    try:
        # PostgreSQL: the read model holds none of it, the data keys are gone.
        assert await rows_of(conn, "public", keys) == dict.fromkeys(PURGED, 0)
        master = master_key(settings.secret("master-key"))
        assert await KeyStore(master).keys(conn, sealed_ids) == {}
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM privacy.data_keys WHERE customer_key = ANY($1)", keys
            )
            == 0
        )
    finally:
        await conn.close()
    assert (await client.get(f"/v1/customers/{key}")).status_code == 404
    assert (await client.post("/v1/customers/search", json={"bsn": gone.bsn})).json() == {
        "items": [],
        "more": False,
    }

    # Kafka still has the records, but nothing in them opens any more.
    records = await read_all(settings.kafka_bootstrap, EVENTS)
    still = [decode(r.value) for r in records if r.key and r.key.decode() in keys]
    assert len(still) >= len(mine)
    assert {k for e in still for k in key_ids(e)} == sealed_ids  # sealed with erased keys

    # Replay after the erasure: the customer's records and a kept customer's, through the
    # projector's code into a fresh schema. The erased customer does not come back.
    lane = f"it.erase.{unique}"
    await create_topic(settings.kafka_bootstrap, lane, partitions=3)
    kept_cluster = (await client.get(f"/v1/customers/{kept_key}")).json()
    kept_keys = [kept_key, *(link["customer_key"] for link in kept_cluster["linked_keys"])]
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for topic in (EVENTS, SIGNALS, NOTIFICATIONS, ACCESS):
            for r in await read_all(settings.kafka_bootstrap, topic):
                if r.key and r.key.decode() in keys + kept_keys:
                    # as the records were (a replay reads the original topics)
                    await producer.send(lane, r.value, key=r.key, timestamp_ms=r.timestamp)
        await producer.flush()
    finally:
        await producer.stop()
    schema = f"replay_erase_{unique}"
    result = await replay(
        settings.kafka_bootstrap,
        settings.database_url,
        ProjectionConfig.from_settings(settings),
        schema=schema,
        topics=(lane,),
    )
    assert result.events >= len(mine)
    conn = await asyncpg.connect(settings.database_url)
    try:
        assert await rows_of(conn, schema, keys) == dict.fromkeys(PURGED, 0)
        kept_rows = await rows_of(conn, schema, kept_keys)
        assert kept_rows["timeline"] >= 3 and kept_rows["customer_identifiers"] >= 2
        summaries = await conn.fetch(
            f"SELECT summary FROM {schema}.timeline WHERE customer_key = ANY($1)", kept_keys
        )
        assert set(kept_texts) <= {s["summary"] for s in summaries}  # not vacuous
        # the access log survives an erasure (accountability), under the pseudonymous key
        assert (
            await conn.fetchval(
                f"SELECT count(*) FROM {schema}.access_log WHERE customer_key = ANY($1)", keys
            )
            > 0
        )
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()

    # A new contact after the erasure starts a new history with a new data key.
    new_key, new_texts = await contacts_with_free_text(client, gone, round="2")
    assert new_key == key
    page = await eventually(
        lambda: client.get(f"/v1/customers/{key}/timeline"),
        lambda r: r.status_code == 200 and len(r.json()["items"]) >= 3,
    )
    summaries = {i["summary"] for i in page.json()["items"]}
    assert set(new_texts) <= summaries and not set(texts) & summaries
