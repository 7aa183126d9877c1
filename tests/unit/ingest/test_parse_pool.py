"""Parsing runs in worker processes under a deadline; a timeout refuses the message,
names the limit, and leaves a working pool behind."""

import pytest

from services.ingest.email import InvalidEmail
from services.ingest.mail_limits import MailLimitExceeded, MailLimits
from services.ingest.parse_pool import TIMEOUT_LIMIT, MailReader
from tests.unit.ingest.test_email import MULTIPART_ALTERNATIVE_QP


async def test_a_message_is_parsed_in_a_worker() -> None:
    reader = MailReader(MailLimits(), timeout=30, workers=1)
    try:
        mail = await reader.read(MULTIPART_ALTERNATIVE_QP)
        assert mail.sender == "jose.devries@example.nl"
        with pytest.raises(InvalidEmail) as exc:
            await reader.read(b"Subject: x\r\n\r\nno sender")
        assert exc.value.field == "From"
    finally:
        reader.close()


async def test_a_parse_over_the_deadline_is_refused_and_the_pool_replaced() -> None:
    # Limits raised so far that the 32,000-address To: reaches the parser (seconds of work).
    reader = MailReader(MailLimits(header_bytes=10**7, recipients=10**6), timeout=30, workers=1)
    to = ",\r\n ".join(f"r{i}@example.nl" for i in range(32_000))
    slow = f"From: jan@example.nl\r\nTo: {to}\r\nSubject: veel\r\n\r\ntekst\r\n".encode()
    try:
        await reader.start()
        reader.timeout = 0.3
        with pytest.raises(MailLimitExceeded) as exc:
            await reader.read(slow)
        assert exc.value.limit == TIMEOUT_LIMIT and TIMEOUT_LIMIT in str(exc.value)
        reader.timeout = 30
        assert (await reader.read(MULTIPART_ALTERNATIVE_QP)).subject  # a fresh worker
    finally:
        reader.close()
