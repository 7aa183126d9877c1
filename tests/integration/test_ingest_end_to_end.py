"""Ingest through a running API process into the real broker, over HTTP and SMTP."""

import asyncio
import json
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from harness.kafka import TopicTail
from harness.processes import RunningApi, start_api
from schemas.envelope import decode
from schemas.events import EventType
from schemas.keys import event_id
from schemas.topics import EVENTS
from services.settings import Settings

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text())


@pytest.fixture
async def client(api: RunningApi) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {api.token}"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=30) as client:
        yield client


def _post_example(client: httpx.AsyncClient, name: str):  # type: ignore[no-untyped-def]
    raw = (EXAMPLES / name).read_bytes()
    ctype = "message/rfc822" if name.endswith(".eml") else "application/json"
    return client.post(
        f"/v1/ingest/{EXPECTED[name]['endpoint']}", content=raw, headers={"Content-Type": ctype}
    )


async def test_every_channel_reaches_the_broker_keyed_by_customer(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    async with TopicTail(settings.kafka_bootstrap, EVENTS) as tail:
        answers = {}
        for name in sorted(EXPECTED):
            response = await _post_example(client, name)
            assert response.status_code == 202, response.text
            answers[name] = response.json()
        all_ids = {i for body in answers.values() for i in body["ids"]}
        records = await tail.until(all_ids)
    by_id = {decode(r.value).id: r for r in records}
    for name, body in answers.items():
        events = [decode(by_id[i].value) for i in body["ids"]]
        short = [e.type.value.removeprefix("nl.contactmoment.").removesuffix(".v1") for e in events]
        assert short == EXPECTED[name]["types"], name
        assert {by_id[i].key for i in body["ids"]} == {body["customer_key"].encode()}
        # One customer's events share a partition: that is what keeps them in order.
        assert len({by_id[i].partition for i in body["ids"]}) == 1


async def test_retry_is_acknowledged_with_the_same_ids(client: httpx.AsyncClient) -> None:
    first = await _post_example(client, "phone-callback.json")
    again = await _post_example(client, "phone-callback.json")
    assert first.json()["ids"] == again.json()["ids"]


async def test_smtp_ingress_accepts_after_kafka_has_the_events(
    api: RunningApi, settings: Settings
) -> None:
    raw = (
        (EXAMPLES / "email-new-question.eml")
        .read_bytes()
        .replace(b"vraag-1@example.nl", b"smtp-it-1@example.nl")
    )
    async with TopicTail(settings.kafka_bootstrap, EVENTS) as tail:

        def send() -> dict[str, tuple[int, bytes]]:
            with api.smtp() as smtp:  # STARTTLS, then AUTH as the gateway
                return smtp.sendmail("jan.jansen@example.nl", ["info@bergenopzoom.nl"], raw)

        refused = await asyncio.to_thread(send)
        assert refused == {}  # 250: the server answered only after Kafka had the events
        # Event ids are deterministic: source, Message-ID and type.
        expected = {
            event_id("urn:contactmoment:email", "smtp-it-1@example.nl", t.value)
            for t in (EventType.CONTACT_RECORDED, EventType.REQUEST_OPENED)
        }
        records = await tail.until(expected)
    assert expected <= {decode(r.value).id for r in records}


async def test_smtp_without_auth_is_530_and_nothing_is_published(
    api: RunningApi, settings: Settings
) -> None:
    """The finding: any peer could mark a request answered with a forged own-domain From."""
    forged = (
        b"From: kcc@bergenopzoom.nl\r\nTo: smtp-it-forged@example.nl\r\n"
        b"Subject: Re: vraag\r\nMessage-ID: <smtp-it-forged@bergenopzoom.nl>\r\n"
        b"In-Reply-To: <vraag-1@example.nl>\r\n\r\nbeantwoord\r\n"
    )
    forged_ids = {
        event_id("urn:contactmoment:email", "smtp-it-forged@bergenopzoom.nl", t.value)
        for t in (EventType.CONTACT_RECORDED, EventType.REQUEST_ANSWERED)
    }

    def send_plain() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", api.smtp_port, timeout=30) as smtp:
            smtp.ehlo()
            return smtp.docmd("MAIL", "FROM:<kcc@bergenopzoom.nl>")

    def send_tls_without_auth() -> tuple[int, bytes]:
        with api.smtp(login=False) as smtp:
            smtp.ehlo()
            code = smtp.docmd("MAIL", "FROM:<kcc@bergenopzoom.nl>")
            with pytest.raises(smtplib.SMTPSenderRefused):
                smtp.sendmail("kcc@bergenopzoom.nl", ["x@example.nl"], forged)
            return code

    def wrong_password() -> None:
        with api.smtp(login=False) as smtp:
            smtp.login(api.smtp_secrets.user, "guessed")

    async with TopicTail(settings.kafka_bootstrap, EVENTS) as tail:
        assert (await asyncio.to_thread(send_plain))[0] == 530  # STARTTLS first
        assert await asyncio.to_thread(send_tls_without_auth) == (
            530,
            b"5.7.0 Authentication required",
        )
        with pytest.raises(smtplib.SMTPAuthenticationError) as exc:
            await asyncio.to_thread(wrong_password)
        assert exc.value.smtp_code == 535
        seen = await tail.consumer.getmany(timeout_ms=2000)
    published = {decode(r.value).id for batch in seen.values() for r in batch}
    assert not forged_ids & published


def test_smtp_refuses_an_unusable_message(api: RunningApi) -> None:
    with api.smtp() as smtp:
        with pytest.raises(smtplib.SMTPDataError) as exc:
            smtp.sendmail("x@example.nl", ["info@bergenopzoom.nl"], b"Subject: no sender\r\n\r\n")
    assert exc.value.smtp_code == 550
    assert b"From" in exc.value.smtp_error


async def test_readyz_reports_kafka_and_postgres(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"kafka": "ok", "postgres": "ok"}


async def test_kafka_unreachable_means_503_and_nothing_acknowledged() -> None:
    from harness.processes import free_port

    down = start_api({"CONTACTMOMENT_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"})
    try:
        async with httpx.AsyncClient(
            base_url=down.base_url, timeout=60, headers={"Authorization": f"Bearer {down.token}"}
        ) as c:
            response = await _post_example(c, "web-digid.json")
            ready = await c.get("/readyz")
    finally:
        down.stop()
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"] == "application/problem+json"
    assert ready.status_code == 503
    assert ready.json()["checks"]["kafka"] == "unreachable"
