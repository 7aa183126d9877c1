"""Known BSNs sent through every channel appear nowhere in plain text: not in any topic,
not in the API process's logs (debug level, access log on)."""

import asyncio
import json
import re
from pathlib import Path

import httpx

from harness.kafka import TopicTail
from harness.processes import RunningApi
from schemas.events import EventType
from schemas.keys import event_id
from schemas.topics import DEADLETTER, EVENTS
from services.settings import Settings

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
# Valid BSNs (they pass the 11-check), used only here.
BSNS = ["123456782", "111222333", "987654329", "100000009"]


def plain_forms(bsn: str) -> list[str]:
    return [bsn, f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}", f"{bsn[:4]} {bsn[4:6]} {bsn[6:]}"]


def payloads(run: str) -> list[tuple[str, bytes, str]]:
    """Each channel carries a BSN in its identity field *and* in free text."""
    a, b, c, d = BSNS
    phone = json.loads((EXAMPLES / "phone-callback.json").read_text())
    phone.update(call_id=f"bsn-{run}", bsn=a, notes=f"Klant gaf BSN {b[:4]}.{b[4:6]}.{b[6:]}")
    counter = json.loads((EXAMPLES / "counter-served.json").read_text())
    counter.update(visit_id=f"bsn-{run}", bsn=c)
    web = json.loads((EXAMPLES / "web-digid.json").read_text())
    web.update(
        submission_id=f"bsn-{run}",
        auth={"method": "digid", "bsn": d},
        message=f"Mijn burgerservicenummer is {a}.",
        subject=f"vraag {c}",
    )
    invalid = dict(web, submission_id=f"bsn-bad-{run}", request_type="not-a-type")
    email = (
        f"From: Jan <jan.{run}@example.nl>\r\nTo: info@bergenopzoom.nl\r\n"
        f"Subject: BSN {d}\r\nMessage-ID: <bsn-{run}@example.nl>\r\n\r\n"
        f"Mijn BSN is {b} en dat van mijn partner {c}.\r\n"
    ).encode()
    return [
        ("phone", json.dumps(phone).encode(), "application/json"),
        ("counter", json.dumps(counter).encode(), "application/json"),
        ("web", json.dumps(web).encode(), "application/json"),
        ("web", json.dumps(invalid).encode(), "application/json"),
        ("email", email, "message/rfc822"),
    ]


async def test_no_bsn_in_topics_or_logs(api: RunningApi, settings: Settings, unique: str) -> None:
    headers = {"Authorization": f"Bearer {api.token}"}
    async with (
        TopicTail(settings.kafka_bootstrap, EVENTS) as events,
        TopicTail(settings.kafka_bootstrap, DEADLETTER) as deadletters,
        httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=30) as client,
    ):
        ids: set[str] = set()
        statuses = []
        for channel, body, ctype in payloads(unique):
            response = await client.post(
                f"/v1/ingest/{channel}", content=body, headers={"Content-Type": ctype}
            )
            statuses.append(response.status_code)
            if response.status_code == 202:
                ids |= set(response.json()["ids"])
        smtp_mail = payloads(unique + "-smtp")[-1][1]

        def send() -> None:
            with api.smtp() as smtp:
                smtp.sendmail(f"jan.{unique}@example.nl", ["info@bergenopzoom.nl"], smtp_mail)

        await asyncio.to_thread(send)
        ids |= {
            event_id("urn:contactmoment:email", f"bsn-{unique}-smtp@example.nl", t.value)
            for t in (EventType.CONTACT_RECORDED, EventType.REQUEST_OPENED)
        }
        records = await events.until(ids)
        records += [
            r
            for batch in (await deadletters.consumer.getmany(timeout_ms=500)).values()
            for r in batch
        ]
    assert statuses == [202, 202, 202, 422, 202]
    # What was written really carries the (hashed) identifiers: the scan is not vacuous.
    written = b"\n".join((r.key or b"") + b" " + r.value for r in records)
    assert written.count(b'"kind": "bsn"') >= 3
    log = api.log()
    assert "POST /v1/ingest/web" in log  # the access log was captured
    for bsn in BSNS:
        for form in plain_forms(bsn):
            assert form.encode() not in written, f"BSN {form} found in a topic"
            assert form not in log, f"BSN {form} found in the API log"
    # Not even as a digit run inside longer text (e.g. a URL or a JSON number).
    assert not re.search(r"(?<!\d)(" + "|".join(BSNS) + r")(?!\d)", log)
