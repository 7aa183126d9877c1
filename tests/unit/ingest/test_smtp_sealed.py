"""A mail whose body looks sealed is refused with a permanent SMTP error naming the field
(never stored, never a 5xx of the server's own)."""

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from schemas.keys import Pseudonymiser
from services.ingest.mail_limits import MailLimits
from services.ingest.parse_pool import MailReader
from services.ingest.service import Ingest
from services.ingest.smtp import IngestHandler
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from tests.unit.api.test_sealed_input import EXAMPLES, LOOKS_SEALED


@pytest.fixture(scope="module")
async def reader() -> AsyncIterator[MailReader]:
    reader = MailReader(MailLimits(), timeout=30, workers=1)
    yield reader
    reader.close()


async def test_a_sealed_looking_body_is_550_naming_the_field(reader: MailReader) -> None:
    publisher = MemoryPublisher()
    ingest = Ingest(
        publisher,
        Pseudonymiser("unit-test-key-material-0123"),
        frozenset({"bergenopzoom.nl"}),
        memory_sealer(),
    )
    head, _, _ = (EXAMPLES / "email-new-question.eml").read_bytes().partition(b"\r\n\r\n")
    mail = head + b"\r\n\r\n" + LOOKS_SEALED.encode() + b"\r\n"
    envelope: Any = SimpleNamespace(original_content=mail, content=mail)
    reply = await IngestHandler(ingest, reader).handle_DATA(None, None, envelope)  # type: ignore[arg-type]
    assert reply.startswith("550 "), reply
    assert "summary" in reply
    assert publisher.records == []
