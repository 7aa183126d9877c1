"""The SMTP reply is the delivery guarantee: each failure gets the answer a mail server can
act on (451 try later, naming what is out; 552 do not retry; 250 only once stored)."""

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from schemas.keys import Pseudonymiser
from services.ingest.mail_limits import MailLimits
from services.ingest.parse_pool import MailReader
from services.ingest.service import Ingest
from services.ingest.smtp import IngestHandler
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import MemoryKeys, memory_sealer

MAIL = (Path(__file__).parents[3] / "docs" / "examples" / "email-new-question.eml").read_bytes()


@pytest.fixture(scope="module")
async def reader() -> AsyncIterator[MailReader]:
    reader = MailReader(MailLimits(), timeout=30, workers=1)
    yield reader
    reader.close()


@pytest.fixture
def handler(reader: MailReader):  # type: ignore[no-untyped-def]
    def make(publisher: MemoryPublisher, keys: MemoryKeys) -> IngestHandler:
        ingest = Ingest(
            publisher,
            Pseudonymiser("unit-test-key-material-0123"),
            frozenset({"bergenopzoom.nl"}),
            memory_sealer(keys),
        )
        return IngestHandler(ingest, reader)

    return make


async def data(h: IngestHandler) -> str:
    envelope: Any = SimpleNamespace(original_content=MAIL, content=MAIL)
    return await h.handle_DATA(None, None, envelope)  # type: ignore[arg-type]


async def test_stored_mail_is_250(handler) -> None:  # type: ignore[no-untyped-def]
    publisher = MemoryPublisher()
    assert (await data(handler(publisher, MemoryKeys()))).startswith("250 ")
    assert publisher.records


async def test_key_store_outage_is_451_naming_the_key_store(handler) -> None:  # type: ignore[no-untyped-def]
    publisher, keys = MemoryPublisher(), MemoryKeys()
    keys.down = True
    reply = await data(handler(publisher, keys))
    assert reply.startswith("451 4.3.0 ")
    assert "key store" in reply
    assert "Kafka" not in reply
    assert publisher.records == []


async def test_kafka_down_is_451_naming_kafka(handler) -> None:  # type: ignore[no-untyped-def]
    publisher = MemoryPublisher()
    publisher.down = True
    reply = await data(handler(publisher, MemoryKeys()))
    assert reply.startswith("451 4.3.0 ")
    assert "Kafka" in reply


async def test_a_record_over_the_limit_is_a_permanent_552(handler) -> None:  # type: ignore[no-untyped-def]
    publisher = MemoryPublisher(max_record_bytes=300)
    reply = await data(handler(publisher, MemoryKeys()))
    assert reply.startswith("552 5.3.4 ")
    assert "300 bytes" in reply
    assert publisher.records == []
