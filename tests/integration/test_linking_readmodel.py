"""The linking rule in the read model, on PostgreSQL: the channel mappings' events (and the
worker's customer.linked) written by the projection's own statements into a fresh schema,
then the cluster query, the resident's verified view and the erasure's reach."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from domain.customer import view as customer_view
from schemas.envelope import Envelope
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, key_of
from services.ingest.email import map_email, parse_email
from services.ingest.phone import PhoneCall, map_phone_call
from services.ingest.web import WebSubmission, map_web_submission
from services.kafka.publisher import MemoryPublisher
from services.privacy import erasure
from services.readmodel import customers
from services.readmodel.migrate import migrate
from services.readmodel.projection import plan_batch
from services.readmodel.writes import write_plan
from services.settings import Settings
from tests.e2e.people import new_resident

P = Pseudonymiser("linking-integration-key-0123")
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
async def conn(settings: Settings, unique: str) -> AsyncIterator[asyncpg.Connection]:
    name = f"linking_{unique}"
    migrate(settings.database_url, name)
    connection = await asyncpg.connect(settings.database_url, server_settings={"search_path": name})
    try:
        yield connection
    finally:
        keys = await connection.fetch("SELECT DISTINCT customer_key FROM customer_identifiers")
        await connection.execute(
            "DELETE FROM privacy.erasures WHERE customer_key = ANY($1)",
            [r["customer_key"] for r in keys],
        )
        await connection.execute(f"DROP SCHEMA {name} CASCADE")
        await connection.close()


def key(kind: IdentifierKind, raw: str) -> str:
    return key_of(P.identifier(kind, raw).hash)


def call(n: int, caller: str, bsn: str | None, subject: str) -> list[Envelope]:
    payload = {
        "call_id": f"call-{n}-{subject}",
        "direction": "inbound",
        "caller": caller,
        "started_at": (T0 + timedelta(minutes=n)).isoformat(),
        "queue": "KCC",
        "subject": subject,
        "outcome": "answered",
    }
    if bsn:
        payload["bsn"] = bsn
    return map_phone_call(PhoneCall.model_validate(payload), P).events


def digid_form(n: int, bsn: str, email: str, subject: str) -> list[Envelope]:
    form = {
        "submission_id": f"form-{n}-{subject}",
        "form": "Vraag",
        "submitted_at": (T0 + timedelta(minutes=n)).isoformat(),
        "auth": {"method": "digid", "bsn": bsn},
        "contact": {"email": email},
        "subject": subject,
        "request_type": "question",
    }
    return map_web_submission(WebSubmission.model_validate(form), P).events


def mail(n: int, sender: str, subject: str) -> list[Envelope]:
    raw = (
        f"From: {sender}\r\nTo: info@gemeente.nl\r\nSubject: {subject}\r\n"
        f"Message-ID: <m-{n}-{subject}@example.nl>\r\n\r\nVraag.\r\n"
    ).encode()
    return map_email(
        parse_email(raw), P, frozenset({"gemeente.nl"}), T0 + timedelta(minutes=n)
    ).events


async def project(conn: asyncpg.Connection, events: list[Envelope]) -> None:
    """Write the events and the customer.linked the worker sends for them."""
    states: dict[str, customer_view.State] = {}
    out = list(events)
    for event in events:
        states[event.subject], linked = customer_view.apply(states.get(event.subject), event)
        out += linked
    async with conn.transaction():  # as the projector writes: one transaction a batch
        await write_plan(conn, plan_batch(out))


async def subjects(conn: asyncpg.Connection, group: customers.Cluster) -> set[str]:
    page = await customers.timeline(conn, group, None, None)
    return {i["subject"] for i in page["items"] if i["subject"]}


async def test_a_shared_landline_joins_neither_resident(conn: asyncpg.Connection) -> None:
    a, b = new_resident(), new_resident()
    landline = "0201234567"
    await project(
        conn,
        [
            *call(1, landline, a.bsn, "a-verified"),
            *call(2, landline, b.bsn, "b-verified"),
            *call(3, landline, None, "landline-only"),
            *call(4, a.phone, a.bsn, "a-mobile"),
        ],
    )
    ka, kb, kl = (
        key(IdentifierKind.BSN, a.bsn),
        key(IdentifierKind.BSN, b.bsn),
        key(IdentifierKind.PHONE, landline),
    )
    group_a = await customers.cluster(conn, ka)
    group_b = await customers.cluster(conn, kb)
    assert group_a is not None and group_b is not None
    assert group_a.keys == [ka, key(IdentifierKind.PHONE, a.phone)]  # the verified mobile
    assert group_b.keys == [kb] and kl in group_a.withheld and kl in group_b.withheld
    assert await subjects(conn, group_a) == {"a-verified", "a-mobile"}
    assert await subjects(conn, group_b) == {"b-verified"}
    assert (await customers.cluster(conn, kl)) == customers.Cluster(kl, [kl])
    summary = await customers.summary(conn, group_a)
    assert summary["linked_keys"] == [
        {"customer_key": key(IdentifierKind.PHONE, a.phone), "verified": True}
    ]

    # Erasing A leaves B, and the landline's own history; the landline only loses A's link.
    report = await erasure.erase_customer(conn, MemoryPublisher(), ka)
    assert sorted(report.keys) == sorted(group_a.keys)
    assert await subjects(conn, group_b) == {"b-verified"}
    assert await subjects(conn, customers.Cluster(kl, [kl])) == {"landline-only"}
    ka_hash = P.identifier(IdentifierKind.BSN, a.bsn).hash
    assert not await conn.fetchval(
        "SELECT count(*) FROM customer_identifiers WHERE hash = $1", ka_hash
    )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM timeline WHERE customer_key = $1 AND data::text LIKE $2",
            kl,
            f"%{ka_hash}%",
        )
        == 0
    )
    assert (await customers.cluster(conn, kb)).keys == [kb, kl]  # B alone carries it now


async def test_a_typed_e_mail_is_an_unverified_link(conn: asyncpg.Connection) -> None:
    victim, attacker = new_resident(), new_resident()
    await project(
        conn,
        [
            *mail(1, victim.email, "victim-mail"),
            *digid_form(2, attacker.bsn, victim.email, "attacker-form"),
        ],
    )
    ka, kv = key(IdentifierKind.BSN, attacker.bsn), key(IdentifierKind.EMAIL, victim.email)
    staff = await customers.cluster(conn, ka)
    assert staff is not None and staff.keys == [ka, kv] and staff.unverified == (kv,)
    assert await subjects(conn, staff) == {"attacker-form", "victim-mail"}
    summary = await customers.summary(conn, staff)
    assert summary["linked_keys"] == [{"customer_key": kv, "verified": False}]
    assert {(i["kind"], i["verified"]) for i in summary["identifiers"]} == {
        ("bsn", True),
        ("email", False),
    }
    resident = staff.verified()
    assert resident.keys == [ka] and kv in resident.withheld
    assert await subjects(conn, resident) == {"attacker-form"}

    # Erasing the attacker takes their own key only; the victim's mail stays, unlinked.
    report = await erasure.erase_customer(conn, MemoryPublisher(), ka)
    assert report.keys == [ka]
    assert await subjects(conn, customers.Cluster(kv, [kv])) == {"victim-mail"}
    assert (await customers.cluster(conn, kv)) == customers.Cluster(kv, [kv])


async def test_a_weak_key_erased_by_itself_never_takes_who_typed_it(
    conn: asyncpg.Connection,
) -> None:
    victim, attacker = new_resident(), new_resident()
    await project(
        conn,
        [
            *mail(1, victim.email, "victim-mail"),
            *digid_form(2, attacker.bsn, victim.email, "attacker-form"),
        ],
    )
    kv = key(IdentifierKind.EMAIL, victim.email)
    report = await erasure.erase_customer(conn, MemoryPublisher(), kv)
    assert report.keys == [kv]
    ka = key(IdentifierKind.BSN, attacker.bsn)
    assert await subjects(conn, customers.Cluster(ka, [ka])) == {"attacker-form"}
