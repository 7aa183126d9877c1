"""One contract, two key stores: the in-memory sealer and the PostgreSQL one seal the same
way, keep one key per customer and month, and fail the same way in an outage."""

import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest

from schemas.envelope import Envelope, new_event
from schemas.events import ContactRecorded, EventType
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser
from services.privacy import crypto, sealing
from services.privacy.keystore import KeyStore
from services.privacy.sealer import MemoryKeys, Sealer, SealingUnavailable, postgres_sealer
from services.readmodel.migrate import migrate
from services.settings import Settings

MASTER = crypto.master_key("integration-test-master-secret-0123")
PSEUDONYMS = Pseudonymiser("integration-test-pseudonym-key-01")
NOTES = "Mevrouw Öztürk vraagt naar haar vergunning; belt terug na 17:00."
Lookup = Callable[[set[str]], Awaitable[dict[str, bytes]]]


@dataclass
class KeyStoreUnderTest:
    sealer: Sealer
    lookup: Lookup
    """The data keys that exist among some key ids (what the projector opens with)."""
    broken: Callable[[], Sealer]
    """A sealer of the same kind whose key store is out."""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["memory", "postgres"])
async def store(
    request: pytest.FixtureRequest, settings: Settings, customers: list[str]
) -> AsyncIterator[KeyStoreUnderTest]:
    if request.param == "memory":
        keys = MemoryKeys()

        async def memory_lookup(ids: set[str]) -> dict[str, bytes]:
            return {kid: key for kid, key in keys.keys.values() if kid in ids}

        def memory_broken() -> Sealer:
            out = MemoryKeys()
            out.down = True
            return Sealer(out)

        yield KeyStoreUnderTest(Sealer(keys), memory_lookup, memory_broken)
        return
    migrate(settings.database_url, f"sealer_{uuid.uuid4().hex[:12]}")  # privacy.* exists
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    nowhere = f"postgresql://nobody@127.0.0.1:{closed_port()}/none"

    async def the_pool() -> asyncpg.Pool:
        return pool

    async def no_pool() -> asyncpg.Pool:
        return await asyncpg.create_pool(nowhere, min_size=0, timeout=2)

    async def postgres_lookup(ids: set[str]) -> dict[str, bytes]:
        async with pool.acquire() as conn:
            return await KeyStore(MASTER).keys(conn, ids)

    try:
        yield KeyStoreUnderTest(
            postgres_sealer(MASTER, the_pool),
            postgres_lookup,
            lambda: postgres_sealer(MASTER, no_pool),
        )
    finally:
        await pool.execute("DELETE FROM privacy.data_keys WHERE customer_key = ANY($1)", customers)
        await pool.close()


@pytest.fixture
def customers() -> list[str]:
    """Two customer keys of this test only (`store` removes their data keys)."""
    return ["k-" + uuid.uuid4().hex, "k-" + uuid.uuid4().hex]


def contact(subject: str, n: str, time: datetime) -> Envelope:
    return new_event(
        EventType.CONTACT_RECORDED,
        source="urn:contactmoment:test",
        source_id=f"{n}-{uuid.uuid4().hex}",
        subject=subject,
        time=time,
        data=ContactRecorded(
            channel="phone",
            direction="inbound",
            subject="parkeervergunning",
            outcome="answered",
            identifiers=[PSEUDONYMS.identifier(IdentifierKind.BSN, "111222333")],
            summary=NOTES,
        ),
    )


NOV = datetime(2126, 11, 30, 9, 12, tzinfo=UTC)  # a century ahead: no other test's month
DEC = datetime(2126, 12, 1, 9, 12, tzinfo=UTC)


async def test_sealed_text_opens_with_the_stored_key(
    store: KeyStoreUnderTest, customers: list[str]
) -> None:
    plain = contact(customers[0], "a", NOV)
    [sealed] = await store.sealer.seal([plain])
    assert NOTES not in sealed.model_dump_json()
    assert not sealing.plain_fields(sealed)
    keys = await store.lookup(sealing.key_ids(sealed))
    assert sealing.open_event(sealed, keys) == plain


async def test_one_key_per_customer_and_month(
    store: KeyStoreUnderTest, customers: list[str]
) -> None:
    a, b = customers
    first = await store.sealer.seal([contact(a, "1", NOV)])
    again = await store.sealer.seal([contact(a, "2", NOV)])  # a later call, same month
    other_month = await store.sealer.seal([contact(a, "3", DEC)])
    other_customer = await store.sealer.seal([contact(b, "4", NOV)])
    ids = [sealing.key_ids(e) for e in (*first, *again, *other_month, *other_customer)]
    assert all(len(found) == 1 for found in ids)
    assert ids[0] == ids[1]
    assert len({*ids[0], *ids[2], *ids[3]}) == 3


async def test_text_that_does_not_open_is_unreadable(
    store: KeyStoreUnderTest, customers: list[str]
) -> None:
    [mine] = await store.sealer.seal([contact(customers[0], "a", NOV)])
    [theirs] = await store.sealer.seal([contact(customers[1], "b", NOV)])
    summary = mine.data.summary  # type: ignore[attr-defined]
    at = {"customer_key": mine.subject, "field": "summary"}
    their_key = (await store.lookup(sealing.key_ids(theirs))).popitem()[1]
    with pytest.raises(crypto.Unreadable):
        crypto.open_sealed(summary, their_key, **at)  # another customer's key
    my_key = (await store.lookup(sealing.key_ids(mine))).popitem()[1]
    tampered = summary[:-4] + ("AAAA" if not summary.endswith("AAAA") else "BBBB")
    with pytest.raises(crypto.Unreadable):
        crypto.open_sealed(tampered, my_key, **at)
    with pytest.raises(crypto.Unreadable):
        crypto.open_sealed("plain text", my_key, **at)


async def test_an_outage_is_sealing_unavailable_and_retriable(
    store: KeyStoreUnderTest, customers: list[str]
) -> None:
    with pytest.raises(SealingUnavailable) as caught:
        await store.broken().seal([contact(customers[0], "a", NOV)])
    assert caught.value.retriable is True
    assert caught.value.retry_after > 0
    assert "key store" in str(caught.value)
    assert "127.0.0.1" not in str(caught.value)  # clients see this text: no addresses
